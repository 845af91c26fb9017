"""The data model every stage shares: column names and types of the frames passed along the
pipeline (read -> map columns -> classify -> store -> aggregate -> chart -> report).

One place, so that the ingest, classification and report code cannot drift apart. The DuckDB
tables in ``sql/schema.sql`` mirror these frames column for column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from .errors import AnalyzerError

#: Money is exact: DECIMAL(38, 2) in DuckDB, ``pl.Decimal(38, 2)`` in polars. Never a float.
MONEY = pl.Decimal(38, 2)

#: The canonical grant fields a column mapping can fill, in display order.
CANONICAL_FIELDS: tuple[str, ...] = (
    "grant_id",
    "funder",
    "recipient",
    "title",
    "description",
    "program",
    "amount",
    "currency",
    "year",
    "state",
    "start_date",
    "end_date",
)

#: Text fields a taxonomy rule may look at.
TEXT_FIELDS: tuple[str, ...] = ("title", "description", "program", "recipient", "funder")

#: Where each grant came from: what a person needs to find the row in the original file.
PROVENANCE_FIELDS: tuple[str, ...] = ("source_file", "source_sheet", "source_row")

#: The grants frame produced by ingest and stored in the ``grants`` table.
GRANTS_SCHEMA: dict[str, pl.DataType] = {
    # Stable, unique key of a loaded row: "<file name>:<sheet>:<row>" or "<file name>:<row>".
    "record_id": pl.String(),
    "grant_id": pl.String(),
    "funder": pl.String(),
    "recipient": pl.String(),
    "title": pl.String(),
    "description": pl.String(),
    "program": pl.String(),
    "amount": MONEY,
    # ISO 4217 code, per row.
    "currency": pl.String(),
    "year": pl.Int32(),
    # USPS code where the value is a US state or territory; otherwise kept as written.
    "state": pl.String(),
    "start_date": pl.Date(),
    "end_date": pl.Date(),
    "source_file": pl.String(),
    "source_sheet": pl.String(),
    # The row number a person sees in a spreadsheet program (Excel row; CSV record number).
    "source_row": pl.Int64(),
    # ";"-separated notes on the row, e.g. "negative" for a de-obligation.
    "flags": pl.String(),
    # JSON object {original header: cell text} of every original column.
    "original": pl.String(),
}

#: Rows that were not loaded: blank and total rows are "excluded", unparseable ones "rejected".
REJECTS_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_sheet": pl.String(),
    "source_row": pl.Int64(),
    "disposition": pl.String(),  # "excluded" | "rejected"
    "reason": pl.String(),
    "column": pl.String(),  # the original header of the offending cell, when there is one
    "value": pl.String(),  # the offending cell text, when there is one
    "original": pl.String(),  # JSON object of the whole row
}

#: The per-grant classification, keyed by record_id (one current classification per store).
CLASSIFICATION_SCHEMA: dict[str, pl.DataType] = {
    "record_id": pl.String(),
    "approach": pl.String(),
    # "intervention:0.6;resilience-building:0.4"; shares of one grant sum to exactly 1.
    "approach_shares": pl.String(),
    "ambiguous": pl.Boolean(),
    "rights": pl.String(),  # ";"-separated
    "risk_factors": pl.String(),  # ";"-separated
    "provider_type": pl.String(),
    "matched_rules": pl.String(),  # ";"-separated rule ids
    "explanation": pl.String(),  # human-readable: rule, phrase and field for each hit
    "decided_by": pl.String(),  # "rules" | "scope" | "override" | "none"
}

#: Long form of every rule hit, for ``analyzer explain`` and the report's review tables.
MATCHES_SCHEMA: dict[str, pl.DataType] = {
    "record_id": pl.String(),
    "dimension": pl.String(),
    "category": pl.String(),
    "rule_id": pl.String(),
    "field": pl.String(),
    "phrase": pl.String(),
}

#: Money per grant and category under an allocation policy. For every policy the amounts of a
#: grant add back to its amount exactly (largest-remainder allocation in cents).
#: How a grant's money is allocated: all to its primary category, or split by its shares.
POLICIES: tuple[str, ...] = ("primary", "split")


def check_policy(policy: str) -> None:
    """Refuse an allocation policy that is not one of POLICIES, before any work is done."""
    if policy not in POLICIES:
        raise AnalyzerError(
            f"unknown allocation policy {policy!r}", hint="use --policy primary or --policy split"
        )


ALLOCATIONS_SCHEMA: dict[str, pl.DataType] = {
    "record_id": pl.String(),
    "policy": pl.String(),  # one of POLICIES
    "category": pl.String(),
    "share": pl.Decimal(5, 4),
    "amount": MONEY,
}

#: Columns written by ``analyzer export`` / ``classify -o`` and ``classified.csv``, in order.
EXPORT_COLUMNS: tuple[str, ...] = (
    "record_id",
    *CANONICAL_FIELDS,
    *PROVENANCE_FIELDS,
    "flags",
)
CLASSIFICATION_EXPORT_COLUMNS: tuple[str, ...] = (
    "approach",
    "approach_shares",
    "ambiguous",
    "rights",
    "risk_factors",
    "provider_type",
    "matched_rules",
    "decided_by",
)


def empty_frame(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with the given schema, so that 'no rows' still has the right columns."""
    return pl.DataFrame(schema=schema)


# --- Results passed between stages ------------------------------------------------------------


@dataclass
class SheetReport:
    """What happened to one sheet of one file (a CSV counts as one sheet named None).

    The counts always reconcile: ``rows_seen == rows_loaded + rows_excluded + rows_rejected``.
    ``rows_seen`` counts every row below the detected header.
    """

    file_name: str
    path: str
    sha256: str
    sheet: str | None
    format: str
    encoding: str | None = None
    header_row: int | None = None
    preset: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    rows_seen: int = 0
    rows_loaded: int = 0
    rows_excluded: int = 0
    rows_rejected: int = 0
    excluded_reasons: dict[str, int] = field(default_factory=dict)
    rejected_reasons: dict[str, int] = field(default_factory=dict)
    #: Loaded total per currency, exact.
    totals: dict[str, Decimal] = field(default_factory=dict)
    #: Things a user should know: an assumed currency, an ambiguous column, ...
    notes: list[str] = field(default_factory=list)
    #: Set when the whole sheet was skipped (e.g. a notes sheet with no amount column).
    skipped: str | None = None
    #: Set by the store when an identical file was already loaded (re-ingest is a no-op).
    already_loaded: bool = False

    def to_dict(self) -> dict:
        """JSON-ready form (``analyzer ingest --json``); money as strings to stay exact."""
        return {
            "file": self.file_name,
            "path": self.path,
            "sheet": self.sheet,
            "format": self.format,
            "encoding": self.encoding,
            "header_row": self.header_row,
            "preset": self.preset,
            "mapping": self.mapping,
            "rows_seen": self.rows_seen,
            "rows_loaded": self.rows_loaded,
            "rows_excluded": self.rows_excluded,
            "rows_rejected": self.rows_rejected,
            "excluded_reasons": self.excluded_reasons,
            "rejected_reasons": self.rejected_reasons,
            "totals": {cur: str(total) for cur, total in sorted(self.totals.items())},
            "notes": self.notes,
            "skipped": self.skipped,
            "already_loaded": self.already_loaded,
        }


@dataclass
class IngestResult:
    """Everything read from a set of input files: loaded grants, rows not loaded, and reports."""

    grants: pl.DataFrame
    rejects: pl.DataFrame
    reports: list[SheetReport]

    def totals(self) -> dict[str, Decimal]:
        """Loaded total per currency across all files."""
        out: dict[str, Decimal] = {}
        for report in self.reports:
            for currency, total in report.totals.items():
                out[currency] = out.get(currency, Decimal(0)) + total
        return out


@dataclass
class Classification:
    """The outcome of classifying a grants frame with one taxonomy."""

    #: One row per grant, CLASSIFICATION_SCHEMA.
    table: pl.DataFrame
    #: Every rule hit, MATCHES_SCHEMA.
    matches: pl.DataFrame
    #: Money per grant and category under both policies, ALLOCATIONS_SCHEMA.
    allocations: pl.DataFrame
    #: One row of the classification_runs table: taxonomy name, version, sha256, path,
    #: rule_count, overrides_path, override_count.
    run: dict
