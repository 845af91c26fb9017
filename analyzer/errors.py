"""Named errors of the library. The CLI turns each into a one-paragraph message and exit code 2.

Every error that concerns a place in an input says where: file, sheet, row and column, as far
as they are known, and how to fix it. Outcomes that are data (a rejected row, an unmatched
grant) are records, never exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Location:
    """Where in an input something is. Any part may be unknown."""

    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.sheet:
            parts.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)


class AnalyzerError(Exception):
    """Base of every error the analyzer reports to a user.

    ``hint`` says how to fix it; ``location`` says where, when the error is about an input.
    """

    def __init__(self, message: str, *, hint: str | None = None, location: Location | None = None):
        self.message = message
        self.hint = hint
        self.location = location
        super().__init__(self.describe())

    def describe(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class InputFileError(AnalyzerError):
    """The file cannot be read at all: missing, empty, corrupt, encrypted, wrong format."""


class UnknownSheetError(InputFileError):
    """A sheet was asked for that the workbook does not have."""


class HeaderNotFoundError(InputFileError):
    """No row in the first rows of a sheet looks like a header."""


class ColumnMappingError(InputFileError):
    """A required canonical column (amount) could not be found or a --map names no header."""


class AlreadyLoadedError(AnalyzerError):
    """A different version of a file with the same name is already in the store."""


class ProblemsError(AnalyzerError):
    """A file the user wrote is invalid. ``problems`` lists every problem found, each with its
    line, so that one run shows them all."""

    def __init__(self, message: str, problems: list[str] | None = None, **kwargs):
        self.problems = problems or []
        super().__init__(message, **kwargs)

    def describe(self) -> str:
        text = super().describe()
        for problem in self.problems:
            text += f"\n  - {problem}"
        return text


class TaxonomyError(ProblemsError):
    """A taxonomy file is invalid."""


class ManifestError(ProblemsError):
    """A manifest (a YAML list of input files with their options) is invalid."""


class OverridesError(AnalyzerError):
    """An overrides ledger is invalid (unknown grant, unknown category, shares not summing to 1)."""


class StoreError(AnalyzerError):
    """The DuckDB store is missing, from another tool, or lacks what a command needs."""
