"""Manifests: one YAML file naming a portfolio's input files, each with what the reader should
be told about it.

A portfolio rarely arrives uniform: a council's list has no year column, a foundation's own
list never names the foundation, a state workbook needs one sheet and a column named by hand.
Options on the command line apply to every file; an entry's own options win for its file.
``docs/manifest.md`` documents the format::

    files:
      - path: nyc_council_discretionary_funding_FY2015.csv
        year: 2015
      - path: public_welfare_foundation_grants_2013-2019.csv
        funder: Public Welfare Foundation
      - grants.xlsx

This module checks the structure (every problem at once, with its line); the values (a known
currency, a month) are checked by ``ingest`` with the same rules as the command-line options.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputFileError, Location, ManifestError
from .schema import CANONICAL_FIELDS
from .yamldoc import Document, Path_, Problem, closest, type_name

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class ManifestEntry:
    """One input file of a manifest and the options given for it (only those given)."""

    path: Path
    #: ``read_files`` keyword arguments: sheets, mapping, currency, fiscal_year_start, year,
    #: funder.
    options: dict[str, Any]
    #: "portfolio.yaml, line 4, files[0]": where a person finds the entry.
    where: str


def is_manifest(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def load_manifest(path: str | Path) -> list[ManifestEntry]:
    """The entries of a manifest, paths resolved against the manifest's folder.

    Raises ManifestError listing every problem (unknown keys, wrong types, files not found).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(
            "file not found", hint=f"check the path {str(path)!r}", location=Location(path.name)
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(
            "the manifest is not UTF-8 text",
            hint="save it as UTF-8 in a text editor",
            location=Location(path.name),
        ) from None
    problems: list[Problem] = []
    doc = Document(text, path.name, problems)
    entries = [] if problems else _entries(doc, path.parent)
    if problems:
        raise ManifestError(
            f"{path.name} is not a valid manifest ({len(problems)} problem(s))",
            [str(problem) for problem in problems],
            hint="see docs/manifest.md: a list `files`, each a path or a mapping with `path:`",
        )
    return entries


def _entries(doc: Document, folder: Path) -> list[ManifestEntry]:
    data = doc.data
    if not isinstance(data, dict) or "files" not in data:
        doc.add((), 'expected a mapping with a list "files" of input files')
        return []
    for key in data:
        if key != "files":
            doc.add((key,), f'unknown key "{key}" (a manifest has only "files")', key_line=True)
    files = data["files"]
    if not isinstance(files, list) or not files:
        doc.add(("files",), f"expected a list of input files, got {type_name(files)}")
        return []
    entries = []
    for i, item in enumerate(files):
        entry = _entry(doc, ("files", i), item, folder)
        if entry is not None:
            entries.append(entry)
    return entries


def _entry(doc: Document, at: Path_, item: Any, folder: Path) -> ManifestEntry | None:
    if isinstance(item, str):
        item = {"path": item}
        at_path = at
    elif isinstance(item, dict):
        at_path = (*at, "path")
        for key in item:
            if key != "path" and key not in OPTIONS:
                near = closest(key, {"path", *OPTIONS})
                hint = f' (did you mean "{near}"?)' if near else ""
                doc.add((*at, key), f'unknown key "{key}"{hint}', key_line=True)
    else:
        doc.add(at, f"expected a file path or a mapping with a path, got {type_name(item)}")
        return None
    file_path = _file_path(doc, at_path, item.get("path"), folder)
    options = {}
    for key, (option, read) in OPTIONS.items():
        if key in item and (value := read(doc, (*at, key), item[key])) is not None:
            options[option] = value
    if file_path is None:
        return None
    return ManifestEntry(file_path, options, f"{doc.file}, line {doc.line(at)}, {doc.describe(at)}")


def _file_path(doc: Document, at: Path_, value: Any, folder: Path) -> Path | None:
    if not isinstance(value, str) or not value.strip():
        doc.add(at, f"expected the path of an input file, got {type_name(value)}")
        return None
    path = Path(value).expanduser()
    path = path if path.is_absolute() else folder / path
    if not path.is_file():
        doc.add(at, f"no such file: {path} (paths are relative to the manifest's folder)")
        return None
    return path


def _text(doc: Document, at: Path_, value: Any) -> str | None:
    if not isinstance(value, str):
        doc.add(at, f"expected a text, got {type_name(value)}")
        return None
    return value


def _whole_number(doc: Document, at: Path_, value: Any) -> int | None:
    if not isinstance(value, int) or isinstance(value, bool):
        doc.add(at, f"expected a whole number, got {type_name(value)}")
        return None
    return value


def _flag(doc: Document, at: Path_, value: Any) -> bool | None:
    if not isinstance(value, bool):
        doc.add(at, f"expected true or false, got {type_name(value)}")
        return None
    return value


def _sheets(doc: Document, at: Path_, value: Any) -> list[str] | None:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        doc.add(at, f"expected a sheet name or a list of them, got {type_name(value)}")
        return None
    return names


def _mapping(doc: Document, at: Path_, value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict):
        doc.add(at, f"expected a mapping of field: header, got {type_name(value)}")
        return None
    mapping = {}
    for name, header in value.items():
        if name not in CANONICAL_FIELDS:
            doc.add((*at, name), f'unknown field "{name}" (fields: {", ".join(CANONICAL_FIELDS)})')
        elif not isinstance(header, str):
            doc.add((*at, name), f"expected the header of a column, got {type_name(header)}")
        else:
            mapping[name] = header
    return mapping


#: The options an entry may give: its key, the ``read_files`` option it sets, how it is read.
OPTIONS = {
    "sheet": ("sheets", _sheets),
    "map": ("mapping", _mapping),
    "currency": ("currency", _text),
    "fiscal_year_start": ("fiscal_year_start", _whole_number),
    "year": ("year", _whole_number),
    "funder": ("funder", _text),
    "years_in_columns": ("years_in_columns", _flag),
}
