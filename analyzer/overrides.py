"""The manual decisions ledger: a csv or xlsx file of reviewers' calls that win over rules.

One row per decision::

    grant_id, category, shares, reason, reviewer, date
    2019-MC-FX-K011, intervention, , Shelter is for identified survivors, ana, 2024-05-02
    NYC-15-0042, , intervention:0.6;resilience-building:0.4, Two components, ben, 2024-05-03

``grant_id`` matches a grant's ``grant_id`` or its ``record_id`` (a record_id match is the more
specific and wins). Give ``category`` or ``shares`` (shares sum to exactly 1; if both are given
the category must be the largest share). ``reason`` is required: a decision nobody can explain
is not a decision. When a grant appears twice, the later row wins (a ledger is appended to).

The ledger is applied at classification time by key, so it survives re-ingestion and new
taxonomy versions; ``decided_by`` is ``override`` for every grant it decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl

from .errors import Location, OverridesError
from .safe import unescape_formula
from .taxonomy import Taxonomy, load_taxonomy

SHARE_UNIT = 10_000

#: Accepted headers (lower-cased, spaces and hyphens as underscores) for each ledger column.
HEADERS = {
    "key": ("grant_id", "grant", "record_id", "id", "key"),
    "category": ("category", "approach"),
    "shares": ("shares", "approach_shares", "split"),
    "reason": ("reason", "note", "notes", "comment"),
    "reviewer": ("reviewer", "reviewed_by", "by"),
    "date": ("date", "reviewed_on", "reviewed_at"),
}

ENTRIES_SCHEMA = {
    "key": pl.String,
    "approach": pl.String,
    "approach_shares": pl.String,
    "reason": pl.String,
    "reviewer": pl.String,
    "date": pl.Date,
    "source_row": pl.Int64,
}
SHARES_SCHEMA = {"key": pl.String, "category": pl.String, "units": pl.Int64}


@dataclass
class Ledger:
    """A validated ledger: one entry per key (ENTRIES_SCHEMA) and its shares (SHARES_SCHEMA)."""

    path: Path
    entries: pl.DataFrame
    shares: pl.DataFrame

    def __len__(self) -> int:
        return self.entries.height


def load_overrides(path: str | Path, *, taxonomy: str | Path | Taxonomy = "csec") -> Ledger:
    """Read and validate a ledger against a taxonomy's primary categories.

    Raises OverridesError naming file, row and column of every problem found.
    """
    path = Path(path)
    tax = load_taxonomy(taxonomy)
    frame = _read_table(path)
    columns = _map_columns(frame, path)
    known = tax.categories(tax.primary.id)
    problems: list[tuple[Location, str]] = []
    entries: dict[str, dict] = {}
    for index, row in enumerate(frame.iter_rows(named=True)):
        source_row = index + 2  # the header is row 1
        cell = {name: _clean(row[header]) if header else None for name, header in columns.items()}
        if all(value is None for value in cell.values()):
            continue
        where = {
            name: Location(path.name, row=source_row, column=header)
            for name, header in columns.items()
        }
        entry = read_entry(cell, where, known, problems)
        if entry is not None:
            entry["source_row"] = source_row
            entries[entry["key"]] = entry  # a later row for the same grant wins
    if problems:
        raise _error(path, problems)
    return _ledger(path, list(entries.values()))


def unmatched_keys(ledger: Ledger, grants: pl.DataFrame) -> list[str]:
    """Ledger keys that name no grant of the frame (neither a grant_id nor a record_id)."""
    known: set[str] = set()
    for column in ("record_id", "grant_id"):
        if column in grants.columns:
            known |= set(grants.get_column(column).drop_nulls().to_list())
    return [key for key in ledger.entries.get_column("key").to_list() if key not in known]


def _read_table(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise OverridesError(f"overrides ledger not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            return pl.read_excel(path, engine="calamine", infer_schema_length=0)
        if suffix in (".csv", ".txt", ".tsv"):
            return pl.read_csv(
                path,
                infer_schema=False,
                separator="\t" if suffix == ".tsv" else ",",
                encoding="utf8-lossy",
            )
    except Exception as error:  # the readers raise many kinds; the user needs one message
        raise OverridesError(
            f"cannot read overrides ledger {path.name}: {error}",
            location=Location(path.name),
            hint="save it as .csv (UTF-8) or .xlsx with the header in the first row",
        ) from error
    raise OverridesError(
        f"overrides ledger {path.name} is neither .csv nor .xlsx",
        location=Location(path.name),
    )


def _map_columns(frame: pl.DataFrame, path: Path) -> dict[str, str | None]:
    normal = {re.sub(r"[\s\-]+", "_", str(h).strip().lower()): h for h in frame.columns}
    columns = {
        name: next((normal[a] for a in aliases if a in normal), None)
        for name, aliases in HEADERS.items()
    }
    missing = []
    if columns["key"] is None:
        missing.append("grant_id")
    if columns["category"] is None and columns["shares"] is None:
        missing.append("category or shares")
    if columns["reason"] is None:
        missing.append("reason")
    if missing:
        raise OverridesError(
            f"overrides ledger {path.name} has no {', no '.join(missing)} column",
            location=Location(path.name, row=1),
            hint=f"columns found: {', '.join(map(str, frame.columns)) or 'none'}; expected "
            "grant_id, category (or shares), reason, reviewer, date",
        )
    return columns


def _clean(value) -> str | None:
    if value is None:
        return None
    # A ledger written by the analyzer escapes text that looks like a formula ("'-x").
    text = unescape_formula(str(value).strip())
    return text or None


def read_entry(cell: dict, where: dict, known: list[str], problems: list) -> dict | None:
    """One decision from its cells (key, category, shares, reason, reviewer, date), or None
    with its problems recorded. Shared with ``review apply``, so a reviewer's choices in the
    workbook are checked by exactly the rules of the ledger."""
    start = len(problems)
    if cell["key"] is None:
        problems.append((where["key"], "the grant id is empty"))
    shares = None
    if cell["shares"] is not None:
        shares = _parse_shares(cell["shares"], known, where["shares"], problems)
    category = cell["category"]
    if category is not None and category not in known:
        problems.append(
            (where["category"], f'unknown category "{category}" (known: {", ".join(known)})')
        )
    if category is None and cell["shares"] is None:
        problems.append((where["category"], "give a category or shares"))
    if shares and category is not None and category in known:
        largest = max(shares, key=shares.get)
        if shares[category] != shares[largest]:
            problems.append(
                (where["category"], f'category "{category}" is not the largest share ({largest})')
            )
    if cell["reason"] is None:
        problems.append((where["reason"], "the reason is empty: say why the rules were overruled"))
    reviewed = None
    if cell["date"] is not None:
        try:
            reviewed = date.fromisoformat(cell["date"][:10])
        except ValueError:
            problems.append((where["date"], f'"{cell["date"]}" is not a date (use YYYY-MM-DD)'))
    if len(problems) > start:
        return None
    if shares is None:
        shares = {category: SHARE_UNIT}
    primary = category or max(shares, key=lambda c: (shares[c], -known.index(c)))
    return {
        "key": cell["key"],
        "approach": primary,
        "shares": shares,
        "reason": cell["reason"],
        "reviewer": cell["reviewer"],
        "date": reviewed,
    }


def _parse_shares(
    text: str, known: list[str], where: Location, problems: list
) -> dict[str, int] | None:
    """``intervention:0.6;resilience-building:0.4`` -> {category: units of 1/10000}."""
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        category, sep, value = part.rpartition(":")
        category = category.strip()
        if not sep or not category:
            problems.append((where, f'"{part}" is not category:share (e.g. intervention:0.6)'))
            return None
        if category not in known:
            problems.append((where, f'unknown category "{category}" (known: {", ".join(known)})'))
            return None
        try:
            share = Decimal(value.strip())
        except InvalidOperation:
            problems.append((where, f'share "{value.strip()}" of {category} is not a number'))
            return None
        units = share * SHARE_UNIT
        if share <= 0 or share > 1 or units != units.to_integral_value():
            problems.append(
                (
                    where,
                    f"share {value.strip()} of {category} must be in (0, 1], at most 4 decimals",
                )
            )
            return None
        if category in out:
            problems.append((where, f"{category} appears twice"))
            return None
        out[category] = int(units)
    if not out:
        problems.append((where, "the shares are empty"))
        return None
    total = sum(out.values())
    if total != SHARE_UNIT:
        problems.append((where, f"shares sum to {Decimal(total) / SHARE_UNIT}, not exactly 1"))
        return None
    return out


def _error(path: Path, problems: list[tuple[Location, str]]) -> OverridesError:
    if len(problems) == 1:
        location, message = problems[0]
        return OverridesError(message, location=location, hint="fix the ledger row and run again")
    lines = "\n".join(f"  - {location}: {message}" for location, message in problems)
    return OverridesError(
        f"invalid overrides ledger {path.name}: {len(problems)} problems\n{lines}",
        hint="fix the ledger rows and run again",
    )


def _ledger(path: Path, entries: list[dict]) -> Ledger:
    def shares_text(shares: dict[str, int]) -> str:
        ordered = sorted(shares.items(), key=lambda item: -item[1])
        return ";".join(f"{cat}:{_format(units)}" for cat, units in ordered)

    table = pl.DataFrame(
        [
            {
                "key": e["key"],
                "approach": e["approach"],
                "approach_shares": shares_text(e["shares"]),
                "reason": e["reason"],
                "reviewer": e["reviewer"],
                "date": e["date"],
                "source_row": e["source_row"],
            }
            for e in entries
        ],
        schema=ENTRIES_SCHEMA,
    )
    shares = pl.DataFrame(
        [
            {"key": e["key"], "category": c, "units": u}
            for e in entries
            for c, u in e["shares"].items()
        ],
        schema=SHARES_SCHEMA,
    )
    return Ledger(path, table, shares)


def _format(units: int) -> str:
    if units == SHARE_UNIT:
        return "1"
    return "0." + f"{units:04d}".rstrip("0")
