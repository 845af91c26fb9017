"""``analyzer review apply``: bring reviewers' decisions from the workbook back as overrides.

Reviewers fill in the Review sheet of ``workbook.xlsx`` (a category from the dropdown, or shares
such as ``intervention:0.6;resilience-building:0.4``, a reason, their name and the date). This
module reads those rows, checks them with the same rules as the overrides ledger
(``overrides.py``), and writes them as a ledger that ``analyzer classify --overrides`` and
``analyzer analyze --overrides`` accept. Every problem is reported at once, each with its sheet,
row and column, and nothing is written while any remains.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from .errors import InputFileError, Location, OverridesError
from .overrides import read_entry
from .safe import unescape_formula, write_safe_csv
from .workbook import (
    CATEGORY_LIST_NAME,
    REVIEW,
    REVIEW_CATEGORY,
    REVIEW_DATE,
    REVIEW_INPUTS,
    REVIEW_KEY,
    REVIEW_REASON,
    REVIEW_REVIEWER,
    REVIEW_SHARES,
)

#: Columns of the ledger, in the order ``overrides.load_overrides`` documents them.
LEDGER_COLUMNS = ("grant_id", "category", "shares", "reason", "reviewer", "date")
LEDGER_SCHEMA = {name: pl.String for name in LEDGER_COLUMNS}

#: Ledger field -> Review sheet header it is read from.
_SOURCES = {
    "key": REVIEW_KEY,
    "category": REVIEW_CATEGORY,
    "shares": REVIEW_SHARES,
    "reason": REVIEW_REASON,
    "reviewer": REVIEW_REVIEWER,
    "date": REVIEW_DATE,
}
#: A row is a decision when one of these is filled in (a name or date alone is not).
_DECIDING = (REVIEW_CATEGORY, REVIEW_SHARES, REVIEW_REASON)
#: How far down to look for the Review sheet's header row.
_HEADER_SEARCH_ROWS = 10


def apply_review(workbook_path: str | Path, *, out: str | Path | None = None) -> pl.DataFrame:
    """Read the decisions filled in on the workbook's Review sheet and return them as ledger
    rows (LEDGER_COLUMNS). With ``out``, also add them to that csv ledger: rows of an existing
    ledger are kept (a later row for the same grant wins when it is loaded), and re-applying
    the same workbook adds nothing twice.

    Raises OverridesError listing every invalid row (sheet, row, column) and writes nothing
    then.
    """
    decisions = read_review(workbook_path)
    if out is not None and decisions.height:
        add_to_ledger(out, decisions)
    return decisions


def read_review(workbook_path: str | Path) -> pl.DataFrame:
    """The filled-in rows of the Review sheet as validated ledger rows."""
    path = Path(workbook_path)
    book = _open(path)
    try:
        if REVIEW not in book.sheetnames:
            raise InputFileError(
                f"{path.name} has no {REVIEW!r} sheet",
                location=Location(path.name),
                hint="use the workbook.xlsx that `analyzer analyze` wrote",
            )
        known = _choosable_categories(book, path)
        rows = list(book[REVIEW].iter_rows(values_only=True))
    finally:
        book.close()
    header_row, columns = _find_header(rows, path)

    problems: list[tuple[Location, str]] = []
    decisions: list[dict[str, str | None]] = []
    today = date.today().isoformat()
    for offset, values in enumerate(rows[header_row:], start=header_row + 1):
        cells = {
            header: _text(values[index]) for header, index in columns.items() if index < len(values)
        }
        if not any(cells.get(header) for header in _DECIDING):
            continue
        where = {
            field: Location(path.name, sheet=REVIEW, row=offset, column=header)
            for field, header in _SOURCES.items()
        }
        cell = {field: cells.get(header) for field, header in _SOURCES.items()}
        if cell["key"] is not None:
            cell["key"] = unescape_formula(cell["key"])
        cell["category"] = _known_spelling(cell["category"], known)
        entry = read_entry(cell, where, known, problems)
        if entry is None:  # its problems are recorded
            continue
        decisions.append(
            {
                "grant_id": cell["key"],
                "category": cell["category"],
                "shares": cell["shares"],
                "reason": cell["reason"],
                "reviewer": cell["reviewer"],
                "date": entry["date"].isoformat() if entry["date"] else today,
            }
        )
    if problems:
        raise _error(path, problems)
    return pl.DataFrame(decisions, schema=LEDGER_SCHEMA)


def add_to_ledger(path: str | Path, decisions: pl.DataFrame) -> pl.DataFrame:
    """Append decisions to a csv ledger (created if missing) and return the whole ledger.
    A decision already in the ledger word for word is not added again."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise OverridesError(
            f"the ledger {path.name} must be a .csv file",
            hint="name the output with -o overrides.csv",
        )
    existing = _read_ledger(path) if path.exists() else pl.DataFrame(schema=LEDGER_SCHEMA)
    new = decisions.join(existing, on=list(LEDGER_COLUMNS), how="anti", nulls_equal=True)
    ledger = pl.concat([existing, new])
    path.parent.mkdir(parents=True, exist_ok=True)
    write_safe_csv(ledger, path)
    return ledger


def _read_ledger(path: Path) -> pl.DataFrame:
    """An existing ledger, escaped cells restored to their text (they are escaped again on
    writing)."""
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except Exception as error:  # polars raises several kinds; the user needs one message
        raise OverridesError(
            f"cannot read the existing ledger {path.name}: {error}",
            location=Location(path.name),
            hint="write to a new file with -o",
        ) from error
    if tuple(frame.columns) != LEDGER_COLUMNS:
        raise OverridesError(
            f"the existing ledger {path.name} has columns {', '.join(frame.columns)}",
            location=Location(path.name, row=1),
            hint=f"expected {', '.join(LEDGER_COLUMNS)}; write to a new file with -o",
        )
    return frame.with_columns(
        pl.col(name).map_elements(unescape_formula, return_dtype=pl.String)
        for name in LEDGER_COLUMNS
    )


def _open(path: Path) -> Any:
    from openpyxl import load_workbook

    if not path.is_file():
        raise InputFileError(f"workbook not found: {path}", location=Location(str(path)))
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # zip, xml and openpyxl errors: one message for the user
        raise InputFileError(
            f"cannot read {path.name} as an xlsx workbook: {error}",
            location=Location(path.name),
            hint="save it from Excel as .xlsx (not .xls or .csv)",
        ) from error


def _choosable_categories(book: Any, path: Path) -> list[str]:
    """The categories of the Review dropdown, read from the cells the workbook names."""
    defined = book.defined_names.get(CATEGORY_LIST_NAME)
    destinations = list(defined.destinations) if defined is not None else []
    if not destinations:
        raise InputFileError(
            f"{path.name} does not list the categories a reviewer may choose "
            f"(no {CATEGORY_LIST_NAME!r} range)",
            location=Location(path.name),
            hint="use the workbook.xlsx that `analyzer analyze` wrote",
        )
    sheet, cells = destinations[0]
    values = [cell for row in book[sheet][cells.replace("$", "")] for cell in row]
    return [str(cell.value).strip() for cell in values if cell.value is not None]


def _find_header(rows: list[tuple], path: Path) -> tuple[int, dict[str, int]]:
    """The Review sheet's header row (1-based) and the column index of each needed header."""
    for number, values in enumerate(rows[:_HEADER_SEARCH_ROWS], start=1):
        headers = {_text(v): i for i, v in enumerate(values) if _text(v)}
        if REVIEW_KEY in headers:
            missing = [h for h in REVIEW_INPUTS if h not in headers]
            if missing:
                raise InputFileError(
                    f"the {REVIEW!r} sheet has no {', '.join(repr(m) for m in missing)} column",
                    location=Location(path.name, sheet=REVIEW, row=number),
                    hint="keep the columns of the sheet as written; fill in the cells only",
                )
            return number, {h: headers[h] for h in (REVIEW_KEY, *REVIEW_INPUTS)}
    raise InputFileError(
        f"no {REVIEW_KEY!r} header in the first {_HEADER_SEARCH_ROWS} rows of the {REVIEW!r} sheet",
        location=Location(path.name, sheet=REVIEW),
        hint="use the workbook.xlsx that `analyzer analyze` wrote",
    )


def _text(value: Any) -> str | None:
    """A cell as the ledger's text: dates as YYYY-MM-DD, numbers without '.0', blank as None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _known_spelling(category: str | None, known: list[str]) -> str | None:
    """A category typed instead of picked: matched to the known id regardless of case."""
    if category is None:
        return None
    lowered = {c.lower(): c for c in known}
    return lowered.get(category.lower(), category)


def _error(path: Path, problems: list[tuple[Location, str]]) -> OverridesError:
    hint = "fix these cells in the Review sheet, save, and run `analyzer review apply` again"
    if len(problems) == 1:
        location, message = problems[0]
        return OverridesError(message, location=location, hint=hint)
    lines = "\n".join(f"  - {location}: {message}" for location, message in problems)
    return OverridesError(
        f"{len(problems)} problems in the {REVIEW!r} sheet of {path.name}:\n{lines}", hint=hint
    )
