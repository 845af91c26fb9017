"""Find the header, map columns to the canonical schema, and pick out rows that are not grants.

Header detection looks at the first rows only (a small per-row scan): title rows, merged
banners (calamine puts a merged cell's text in its first cell only, so a banner is a row with
one filled cell) and blank rows above the header are passed over. Column mapping tries the
built-in presets (360Giving, USAspending downloads) first, then header synonyms; the user's
``--map`` / mapping file wins over both. Row exclusion is vectorised over the whole sheet.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from .errors import ColumnMappingError, HeaderNotFoundError, Location
from .money import header_years
from .read import CellRange, RawSheet, column_name, column_number
from .schema import CANONICAL_FIELDS

HEADER_SCAN_ROWS = 30

# --- Synonyms and presets ----------------------------------------------------------------------

#: Normalised header text (see ``normalise_header``) -> canonical field, by field, best first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "amount": (
        "amount", "amount awarded", "award amount", "grant amount", "amount granted",
        "awarded amount", "amount approved", "approved amount", "grant award", "award",
        "awarded", "total award", "total amount", "obligated amount", "obligation",
        "federal action obligation", "total obligated amount", "funding amount", "amt",
        "grant value", "value", "funding", "grant", "amount paid", "paid", "payment",
        "budget", "commitment", "grant size", "dollars", "dollar amount", "sum",
        "allocation", "allocated", "allocation amount", "amount allocated", "contract amount",
        "award total", "appropriation", "expenditure", "expended",
    ),
    "grant_id": (
        "grant id", "grant number", "grant no", "grant ref", "grant reference", "award id",
        "award number", "award no", "award id fain", "fain", "identifier", "id", "reference",
        "ref", "project number", "project id", "application id", "application number",
        "contract number", "agreement number", "contract no", "contract", "contract id",
        "po number",
    ),
    "recipient": (
        "recipient", "recipient name", "recipient org name", "grantee", "grantee name",
        "organization", "organisation", "organization name", "organisation name",
        "legal name of organization", "legal name", "awardee", "awardee name",
        "recipient organization", "recipient organisation", "beneficiary organization",
        "charity", "charity name", "vendor", "vendor name", "payee", "grantee organization",
        "name of organization", "org name", "name", "subrecipient", "sub recipient",
        "subrecipient name", "subgrantee", "provider", "provider name", "agency name",
    ),
    "funder": (
        "funder", "funder name", "funding org name", "funding organization",
        "funding organisation", "grantor", "grantor name", "grant maker", "grantmaker",
        "awarding agency", "awarding agency name", "funding agency", "agency", "foundation",
        "donor", "funding source", "department",
    ),
    "title": (
        "title", "grant title", "project title", "award title", "project name", "project",
        "program name", "programme name", "grant name",
    ),
    "description": (
        "description", "grant description", "project description", "award description",
        "purpose", "purpose of funds", "grant purpose", "purpose of grant", "summary",
        "project summary", "abstract", "details", "prime award base transaction description",
        "transaction description", "narrative", "activities", "description of services",
        "services", "scope of work", "project purpose", "use of funds", "program description",
    ),
    "program": (
        "program", "programme", "grant programme title", "grant program", "grant programme",
        "program area", "programme area", "focus area", "initiative", "funding program",
        "portfolio", "cfda title", "assistance listing title", "category", "fund", "strategy",
        "issue area",
    ),
    "currency": ("currency", "currency code", "ccy", "iso currency"),
    "year": (
        "year", "fiscal year", "fy", "grant year", "award year", "budget year", "funding year",
        "action date fiscal year", "year awarded", "year of award",
    ),
    "state": (
        "state", "state code", "recipient state", "recipient state code", "state name",
        "place of performance state code", "primary place of performance state code",
        "location", "recipient location", "st",
    ),
    "start_date": (
        "start date", "award date", "grant date", "date awarded", "date of award",
        "approval date", "date approved", "decision date", "period of performance start date",
        "project start date", "begin date", "action date", "date",
    ),
    "end_date": (
        "end date", "period of performance current end date", "project end date",
        "planned end date", "completion date",
    ),
}  # fmt: skip

#: When no synonym matched exactly, a header containing one of these words is a candidate
#: ("Total Allocation FY24", "Description of Services Provided", "Sub-Recipient Legal Name").
FIELD_WORDS: dict[str, str] = {
    "amount": r"\b(amount|amt|obligat\w*|allocat\w*)\b",
    "description": r"\b(description|purpose|abstract|narrative|scope of work)\b",
    "recipient": r"\b(recipient|sub ?recipient|grantee|sub ?grantee|awardee|organi[sz]ation)\b",
}
#: ...unless it also names one of these: "Award Date" is not an amount, "Recipient ID" no name.
NOT_FIELD_WORDS = r"\b(date|id|number|no|type|status|format|count|code|ein|address|city|zip)\b"


@dataclass(frozen=True)
class Preset:
    """A known export layout, recognised when every ``signature`` header is present."""

    name: str
    signature: tuple[str, ...]
    #: field -> headers to use, first present wins
    fields: dict[str, tuple[str, ...]]
    currency: str | None = None
    fiscal_year_start: int | None = None


PRESETS: tuple[Preset, ...] = (
    Preset(
        name="usaspending-transactions",
        signature=("federal_action_obligation",),
        fields={
            # One row per transaction: the transaction's obligation, never the award total
            # (total_obligated_amount repeats on every transaction of an award).
            "amount": ("federal_action_obligation",),
            "grant_id": ("award_id_fain", "award_id_uri", "award_id_piid",
                         "assistance_award_unique_key", "contract_award_unique_key"),
            "funder": ("awarding_agency_name",),
            "recipient": ("recipient_name",),
            "title": ("cfda_title", "assistance_listing_title"),
            "description": ("transaction_description", "prime_award_base_transaction_description",
                            "award_description"),
            "program": ("assistance_listing_title", "cfda_title"),
            "year": ("action_date_fiscal_year",),
            "state": ("recipient_state_code", "primary_place_of_performance_state_code"),
            "start_date": ("action_date", "period_of_performance_start_date"),
            "end_date": ("period_of_performance_current_end_date",),
        },
        currency="USD",
        fiscal_year_start=10,
    ),
    Preset(
        name="usaspending-awards",
        signature=("total_obligated_amount",),
        fields={
            "amount": ("total_obligated_amount",),
            "grant_id": ("award_id_fain", "award_id_uri", "award_id_piid",
                         "assistance_award_unique_key", "contract_award_unique_key"),
            "funder": ("awarding_agency_name",),
            "recipient": ("recipient_name",),
            "description": ("prime_award_base_transaction_description", "award_description"),
            "program": ("assistance_listing_title", "cfda_title"),
            "year": ("award_base_action_date_fiscal_year",),
            "state": ("recipient_state_code", "primary_place_of_performance_state_code"),
            "start_date": ("period_of_performance_start_date", "award_base_action_date"),
            "end_date": ("period_of_performance_current_end_date",),
        },
        currency="USD",
        fiscal_year_start=10,
    ),
    Preset(
        name="usaspending-transactions-search",
        signature=("Award ID", "Transaction Amount", "Recipient Name"),
        fields={
            "amount": ("Transaction Amount",),
            "grant_id": ("Award ID",),
            "funder": ("Awarding Agency",),
            "recipient": ("Recipient Name",),
            "description": ("Transaction Description", "Description"),
            "program": ("Assistance Listing", "CFDA Number"),
            "state": ("Place of Performance State Code", "Recipient State Code"),
            "start_date": ("Action Date",),
        },
        currency="USD",
        fiscal_year_start=10,
    ),
    Preset(
        name="usaspending-awards-search",
        signature=("Award ID", "Award Amount", "Recipient Name"),
        fields={
            "amount": ("Award Amount",),
            "grant_id": ("Award ID",),
            "funder": ("Awarding Agency",),
            "recipient": ("Recipient Name",),
            "description": ("Description",),
            "program": ("Assistance Listing", "CFDA Number", "CFDA Title"),
            "state": ("Place of Performance State Code", "Recipient State Code"),
            "start_date": ("Start Date", "Period of Performance Start Date"),
            "end_date": ("End Date", "Period of Performance Current End Date"),
        },
        currency="USD",
        fiscal_year_start=10,
    ),
    Preset(
        name="360giving",
        signature=("Identifier", "Amount Awarded", "Recipient Org:Name"),
        fields={
            "grant_id": ("Identifier",),
            "title": ("Title",),
            "description": ("Description",),
            "currency": ("Currency",),
            "amount": ("Amount Awarded",),
            "start_date": ("Award Date", "Planned Dates:Start Date"),
            "end_date": ("Planned Dates:End Date",),
            "recipient": ("Recipient Org:Name",),
            "funder": ("Funding Org:Name",),
            "program": ("Grant Programme:Title",),
            "state": ("Beneficiary Location:Name", "Recipient Org:Location:0:Name"),
        },
    ),
)  # fmt: skip


def normalise_header(text: str) -> str:
    """Lower case, no currency signs or bracketed units, punctuation as spaces.

    "Amount ($)", "Amount ($" and "AMOUNT" all become "amount"; "Recipient Org:Name" becomes
    "recipient org name"; "award_id_fain" becomes "award id fain".
    """
    text = text.strip().lower()
    text = re.sub(r"\([^)]*\)?", " ", text)  # "(USD)", "($)", and the truncated "($"
    text = re.sub(r"[$£€¥#]|\b(usd|gbp|eur)\b", " ", text)
    text = re.sub(r"[^0-9a-z]+", " ", text)
    return " ".join(text.split())


# --- Header detection --------------------------------------------------------------------------

_NUMBER_OR_DATE = re.compile(r"^[-+($£€]*[\d.,]+[)%kKmM]*$|^\d{4}-\d{2}-\d{2}")


def _known_header(text: str) -> bool:
    norm = normalise_header(text)
    if any(norm in names for names in SYNONYMS.values()):
        return True
    return any(text.strip() in h for p in PRESETS for h in p.fields.values())


def detect_header_row(raw: RawSheet) -> int:
    """Index (0-based) of the header row in ``raw.cells``.

    The header is the row among the first HEADER_SCAN_ROWS with the most cells that are known
    header names; without any, the first row of at least two text cells that is about as wide
    as the widest row. Rows with a single filled cell (titles, merged banners) never qualify.
    """
    scan = raw.cells.head(HEADER_SCAN_ROWS).rows()
    filled = [[c.strip() for c in row if c is not None and c.strip()] for row in scan]
    widest = max((len(cells) for cells in filled), default=0)
    if widest == 0 and raw.cells.height <= HEADER_SCAN_ROWS:
        raise HeaderNotFoundError(
            "the sheet is empty", hint="pick a sheet that holds the grants", location=raw.location
        )
    best, best_hits = None, 0
    for index, cells in enumerate(filled):
        texts = [c for c in cells if not _NUMBER_OR_DATE.match(c)]
        if len(texts) < 2 or len(texts) < 0.7 * len(cells):
            continue
        hits = sum(_known_header(c) for c in texts)
        if hits > best_hits:
            best, best_hits = index, hits
    if best is not None:
        return best
    for index, cells in enumerate(filled):
        texts = [c for c in cells if not _NUMBER_OR_DATE.match(c)]
        if len(texts) >= 2 and len(texts) == len(cells) and len(cells) >= 0.6 * widest:
            return index
    raise HeaderNotFoundError(
        f"no header row in the first {HEADER_SCAN_ROWS} rows",
        hint="the sheet needs a row of column names above the data",
        location=raw.location,
    )


@dataclass
class Header:
    """The detected header of a sheet: where it is and the unique name of every column."""

    index: int  # 0-based row index in RawSheet.cells
    names: dict[str, str]  # internal column (c<N>) -> unique header text
    notes: list[str] = field(default_factory=list)

    @property
    def row(self) -> int:
        """The spreadsheet row number of the header."""
        return self.index + 1


def read_header(raw: RawSheet) -> Header:
    """Detect the header and make its names unique and non-blank.

    A column with a blank header and no data at all is dropped (a trailing comma, a stray
    formatted column); a blank header over data becomes "Column N" (N its spreadsheet column
    number) and a repeated header gets " (2)", " (3)"; both are reported in notes.
    """
    index = detect_header_row(raw)
    row = raw.cells.row(index)
    blank = [c for c, text in zip(raw.cells.columns, row, strict=True) if not (text or "").strip()]
    data = raw.cells.slice(index + 1).select(blank)
    used = data.select(pl.col(c).str.contains(r"\S").any() for c in blank).row(0) if blank else ()
    has_data = dict(zip(blank, used, strict=True))
    names: dict[str, str] = {}
    seen: dict[str, int] = {}
    renamed, unnamed = [], []
    for column, text in zip(raw.cells.columns, row, strict=True):
        text = (text or "").strip()
        if not text:
            if not has_data[column]:
                continue
            text = f"Column {column_number(column)}"
            unnamed.append(text)
        key = text.casefold()
        if key in seen:
            seen[key] += 1
            new = f"{text} ({seen[key]})"
            renamed.append(f"{text!r} -> {new!r}")
            text = new
        else:
            seen[key] = 1
        names[column] = text
    notes = []
    if index > 0:
        notes.append(
            f"header found on row {index + 1}; the {index} row(s) above it (titles, banners, "
            "blank rows) are not data"
        )
    if unnamed:
        notes.append("columns with data but no header were named " + ", ".join(unnamed))
    if renamed:
        notes.append("repeated headers were made unique: " + "; ".join(renamed))
    return Header(index=index, names=names, notes=notes)


# --- Column mapping ----------------------------------------------------------------------------


@dataclass
class Mapping:
    """Canonical field -> unique header, with how it was decided."""

    fields: dict[str, str]
    preset: str | None = None
    ambiguous: list[str] = field(default_factory=list)
    currency: str | None = None
    fiscal_year_start: int | None = None

    def missing(self) -> list[str]:
        return [f for f in CANONICAL_FIELDS if f not in self.fields]


def detect_preset(headers: list[str]) -> Preset | None:
    present = {h.strip().casefold() for h in headers}
    for preset in PRESETS:
        if all(s.casefold() in present for s in preset.signature):
            return preset
    return None


def auto_mapping(headers: list[str]) -> Mapping:
    """The mapping a preset or the synonyms give, with the ambiguities noticed."""
    preset = detect_preset(headers)
    if preset:
        by_fold = {h.strip().casefold(): h for h in headers}
        fields = {}
        for name, options in preset.fields.items():
            for option in options:
                if option.casefold() in by_fold:
                    fields[name] = by_fold[option.casefold()]
                    break
        mapping = Mapping(fields, preset.name, [], preset.currency, preset.fiscal_year_start)
        _fill_from_synonyms(mapping, headers)
        return mapping
    mapping = Mapping({})
    _fill_from_synonyms(mapping, headers)
    return mapping


def _fill_from_synonyms(mapping: Mapping, headers: list[str]) -> None:
    used = set(mapping.fields.values())
    normalised = {h: normalise_header(h) for h in headers}
    for name in ("amount", *[f for f in CANONICAL_FIELDS if f != "amount"]):
        if name in mapping.fields:
            continue
        synonyms = SYNONYMS[name]
        candidates = sorted(
            (synonyms.index(norm), position, header)
            for position, (header, norm) in enumerate(normalised.items())
            if norm in synonyms and header not in used
        )
        if not candidates and name in FIELD_WORDS:
            candidates = [
                (0, position, header)
                for position, (header, norm) in enumerate(normalised.items())
                if header not in used and re.search(FIELD_WORDS[name], norm)
                and not re.search(NOT_FIELD_WORDS, norm)
            ]  # fmt: skip
        if not candidates:
            continue
        chosen = candidates[0][2]
        mapping.fields[name] = chosen
        used.add(chosen)
        others = [c[2] for c in candidates[1:]]
        if others:
            mapping.ambiguous.append(
                f"{name}: chose {chosen!r}; also possible: " + ", ".join(map(repr, others))
            )


def parse_map_options(options: list[str] | None) -> dict[str, str]:
    """``["amount=Award ($)", ...]`` -> ``{"amount": "Award ($)"}``; quotes around the header
    are removed; an empty header (``state=``) unmaps a field."""
    result = {}
    for option in options or []:
        if "=" not in option:
            raise ColumnMappingError(
                f"--map {option!r} is not FIELD=HEADER",
                hint='write it like --map amount="Award ($)"',
            )
        name, header = option.split("=", 1)
        result[name.strip()] = header.strip().strip("\"'")
    return result


def load_mapping_file(path: str | Path) -> dict[str, str]:
    """A YAML or JSON file holding {canonical field: original header}."""
    path = Path(path)
    where = Location(file=path.name)
    if not path.is_file():
        raise ColumnMappingError("mapping file not found", location=where, hint=str(path))
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as error:
        raise ColumnMappingError(
            f"mapping file cannot be parsed: {error}",
            hint="write one line per field, like `amount: Award ($)`",
            location=where,
        ) from None
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ColumnMappingError(
            "mapping file must be an object of {canonical field: original header}",
            hint="write one line per field, like `amount: Award ($)`",
            location=where,
        )
    return {k: "" if v is None else str(v) for k, v in data.items()}


def apply_user_mapping(
    mapping: Mapping, user: dict[str, str], headers: list[str], where: Location
) -> None:
    """Let the user's choices win. Unknown fields and headers are errors that list the
    valid ones."""
    for name, header in user.items():
        if name not in CANONICAL_FIELDS:
            raise ColumnMappingError(
                f"unknown field {name!r} in the column mapping",
                hint="fields are " + ", ".join(CANONICAL_FIELDS),
                location=where,
            )
        if not header:
            mapping.fields.pop(name, None)
            continue
        found = _find_header(header, headers)
        if found is None:
            raise ColumnMappingError(
                f"the mapping names a header {header!r} that is not in this sheet",
                hint="headers found: " + ", ".join(map(repr, headers)),
                location=Location(where.file, where.sheet, column=header),
            )
        for other, used in list(mapping.fields.items()):
            if used == found and other not in user:
                del mapping.fields[other]
        mapping.fields[name] = found
        mapping.ambiguous = [a for a in mapping.ambiguous if not a.startswith(f"{name}:")]


def _find_header(wanted: str, headers: list[str]) -> str | None:
    for header in headers:
        if header == wanted:
            return header
    for header in headers:
        if header.strip().casefold() == wanted.strip().casefold():
            return header
    return None


def missing_amount_error(headers: list[str], where: Location) -> ColumnMappingError:
    years = [h for h, year in zip(headers, header_years(headers), strict=True) if year]
    if len(years) >= 2:
        # A table with one amount column per year: reading one of them must be a choice.
        return ColumnMappingError(
            "no amount column found; the columns " + ", ".join(map(repr, years))
            + " look like one amount column per year",
            hint="read every year as one grant per row and year with --years-in-columns, or "
            f'one year with --map amount="{years[-1]}" (the other years stay in the original '
            "cells)",
            location=where,
        )  # fmt: skip
    return ColumnMappingError(
        "no amount column found",
        hint="headers found: "
        + ", ".join(map(repr, headers))
        + '. Name the amount column with --map amount="<header>", e.g. --map amount="Award ($)"',
        location=where,
    )


# --- Row exclusion -----------------------------------------------------------------------------

EXCLUDED_BLANK = "blank row"
EXCLUDED_HEADER = "repeated header row"
EXCLUDED_TOTAL = "total or subtotal row"
EXCLUDED_NOTE = "note or section heading (one cell, no amount)"
EXCLUDED_MERGED_AMOUNT = "under a merged amount (counted once, on the merge's first row)"
EXCLUDED_NO_YEAR_AMOUNT = "no amount in this year's column"  # with years_in_columns

#: A cell that is only a total label: "Total", "TOTAL:", "Subtotal", "Sub-total - North",
#: "Grand Total", "Total for Region 2", "Totals", "Total 2024", "Total (USD)", "Total grants".
#: "Total Community Care Inc" is not one.
TOTAL_LABEL = (
    r"(?i)^\s*(?:grand\s+|sub\s*-?\s*)?totals?"
    r"(?:\s*[:\-–—].*|\s+(?:for|of|in|by)\b.*|\s+(?:fy\s*)?'?\d{2,4}\b.*|\s*\(.*\)"
    r"|\s+(?:grants?|awards?|amount|funding|awarded|paid|giving|all|overall|usd|gbp|eur))?"
    r"\s*[:.]?\s*$"
)


def exclusion_reasons(
    frame: pl.DataFrame, columns: list[str], amount: str, header_text: str, identity: list[str]
) -> pl.Series:
    """Per row: why it is excluded (blank, repeated header, total, note), or null.

    ``identity`` are the columns that name a grant (grant id, recipient): a total row has a
    total label in some cell and none of them filled, unless the label itself is in that
    column. Only such anonymous rows are searched for labels, which keeps big files fast.
    """
    # One regex pass per row (over the joined cells) finds blank rows; the cell count for
    # note rows only needs non-empty cells.
    joined = pl.concat_str([pl.col(c) for c in columns], separator=" ", ignore_nulls=True)
    filled = [(pl.col(c).str.len_bytes() > 0).fill_null(False) for c in columns]
    anonymous = pl.lit(True)
    for c in identity:
        is_label = pl.col(c).str.contains(TOTAL_LABEL).fill_null(False)
        anonymous = anonymous & (~pl.col(c).str.contains(r"\S").fill_null(False) | is_label)
    header_cell = r"(?i)^\s*" + re.escape(header_text.strip()) + r"\s*$"
    rows = frame.select(
        blank=~joined.str.contains(r"\S").fill_null(False),
        count=pl.sum_horizontal(filled),
        amount_filled=pl.col(amount).str.contains(r"\S").fill_null(False),
        is_header=pl.col(amount).str.contains(header_cell).fill_null(False),
        anonymous=anonymous,
    )
    candidates = (rows["anonymous"] & ~rows["blank"]).arg_true()
    labelled = pl.Series("labelled", [False] * frame.height)
    if not candidates.is_empty():
        found = frame[candidates].select(
            pl.any_horizontal(pl.col(c).str.contains(TOTAL_LABEL).fill_null(False) for c in columns)
        )
        labelled = labelled.scatter(candidates, found.to_series())
    return (
        rows.with_columns(labelled=labelled)
        .select(
            pl.when(pl.col("blank"))
            .then(pl.lit(EXCLUDED_BLANK))
            .when(pl.col("is_header"))
            .then(pl.lit(EXCLUDED_HEADER))
            .when(pl.col("labelled"))
            .then(pl.lit(EXCLUDED_TOTAL))
            .when((pl.col("count") == 1) & ~pl.col("amount_filled"))
            .then(pl.lit(EXCLUDED_NOTE))
            .alias("__excluded")
        )
        .to_series()
    )


# --- Merged cells ------------------------------------------------------------------------------


@dataclass
class MergedCells:
    """What the vertically merged ranges below the header mean for the rows."""

    #: The cells with each merged range's value in every row it spans.
    cells: pl.DataFrame
    #: Cells (spreadsheet row, column c<N>) under a merged amount: excluded, the amount
    #: counted once.
    under_amount: list[tuple[int, str]]
    #: Cells filled, per column name.
    filled: dict[str, int]


def fill_merged_cells(
    cells: pl.DataFrame, ranges: list[CellRange], header: Header, amounts: list[str]
) -> MergedCells:
    """Give every row of a vertically merged range below the header the range's value, as a
    person reading the sheet sees it (a programme name merged over its grants). calamine gives
    it in the first cell only. An amount is never copied: it would be counted once per row."""
    sources: dict[str, list[tuple[int, int]]] = {}
    under_amount: list[tuple[int, str]] = []
    for merged in ranges:
        name = column_name(merged.first_column)
        if merged.first_row <= header.row or merged.last_row == merged.first_row:
            continue
        if name not in cells.columns:
            continue
        below = range(merged.first_row + 1, min(merged.last_row, cells.height) + 1)
        if name in amounts:
            under_amount.extend((row, name) for row in below)
        else:
            sources.setdefault(name, []).extend((row - 1, merged.first_row - 1) for row in below)
    filled = {}
    for name, pairs in sources.items():
        rows, tops = zip(*pairs, strict=True)
        index = pl.int_range(cells.height, dtype=pl.UInt32, eager=True).scatter(rows, tops)
        column = cells.get_column(name)
        spread = column.gather(index)
        filled[name] = int((column.is_null() & spread.is_not_null()).sum())
        cells = cells.with_columns(pl.coalesce(column, spread).alias(name))
    return MergedCells(cells, under_amount, {k: v for k, v in filled.items() if v})
