"""The ingest stage: read files, find headers, map columns, convert values, account for rows.

``read_files`` turns input files into an ``IngestResult`` without touching any database;
``ingest`` stores one in a DuckDB portfolio (one transaction); ``inspect`` shows what the
reader would do with a file; ``export`` and ``summary`` read the store back.

Every row below a header is loaded, excluded (blank, total, repeated header, note) or rejected
(an amount or currency that does not convert), and every row not loaded is in
``IngestResult.rejects`` with its reason: ``rows_seen == loaded + excluded + rejected``.

Dates and years are optional: a date or year cell that cannot be read keeps its row (a money
row must not vanish from the totals over a typo in a side column); the value is left empty, the
row gets a flag (``start_date_unreadable``, ``end_date_unreadable``, ``year_unreadable``) and
the sheet report a note naming the column and an example.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from pathlib import Path

import polars as pl

from . import store
from .columns import (
    EXCLUDED_BLANK,
    EXCLUDED_HEADER,
    EXCLUDED_MERGED_AMOUNT,
    EXCLUDED_NO_YEAR_AMOUNT,
    EXCLUDED_NOTE,
    EXCLUDED_TOTAL,
    Header,
    Mapping,
    MergedCells,
    apply_user_mapping,
    auto_mapping,
    exclusion_reasons,
    fill_merged_cells,
    load_mapping_file,
    missing_amount_error,
    read_header,
)
from .errors import AnalyzerError, ColumnMappingError, InputFileError, Location, ManifestError
from .manifest import is_manifest, load_manifest
from .money import (
    ISO_CURRENCIES,
    amount_unit,
    day_first,
    day_number_dates,
    decimal_comma,
    excel_day_numbers,
    fiscal_year,
    header_years,
    in_unit,
    is_year_span,
    normalise_currency_column,
    normalise_state,
    parse_amounts,
    parse_dates,
    read_years,
    resolve_currency,
    title_unit,
    with_decimal_point,
)
from .read import RawSheet, column_name, read_file
from .safe import write_safe_csv
from .schema import (
    CANONICAL_FIELDS,
    CLASSIFICATION_EXPORT_COLUMNS,
    EXPORT_COLUMNS,
    GRANTS_SCHEMA,
    REJECTS_SCHEMA,
    IngestResult,
    SheetReport,
    empty_frame,
)
from .threads import in_threads

Progress = Callable[[str], None]

#: Fields loaded as stripped text (blank -> null). Not schema.TEXT_FIELDS, the fields rules read.
STRIPPED_FIELDS = ("grant_id", "funder", "recipient", "title", "description", "program")
PREVIEW_ROWS = 5
DISTINCT_SAMPLE = 10_000


@dataclass(frozen=True)
class Options:
    """What the user told us about the files, beyond the files themselves."""

    mapping: dict[str, str] = field(default_factory=dict)
    currency: str | None = None
    fiscal_year_start: int | None = None
    year: int | None = None
    funder: str | None = None
    #: A table with one amount column per year: one grant per row and year column.
    years_in_columns: bool = False
    #: The manifest that gave some of these for this file, and which ones (notes say so).
    manifest: str | None = None
    from_manifest: frozenset[str] = frozenset()

    def given(self, option: str) -> str:
        """How a note names where an option came from: ``--funder`` or ``funder in p.yaml``."""
        if option in self.from_manifest:
            return f"{option} in {self.manifest}"
        return "--" + option.replace("_", "-")


# --- Public API --------------------------------------------------------------------------------


def read_files(
    paths: Iterable[str | Path],
    *,
    sheets: list[str] | None = None,
    mapping: dict[str, str] | None = None,
    mapping_file: str | Path | None = None,
    currency: str | None = None,
    fiscal_year_start: int | None = None,
    year: int | None = None,
    funder: str | None = None,
    years_in_columns: bool = False,
    progress: Progress | None = None,
) -> IngestResult:
    """Read spreadsheets into grants and rejects frames with one report per file and sheet.

    A path ending in .yaml or .yml is a manifest (``analyzer.manifest``): a list of files,
    each with options of its own that win over these for that file.

    ``sheets`` limits workbooks to those sheets (default: every sheet; sheets without a header
    and amount column are reported as skipped). ``mapping`` ({field: header}) and
    ``mapping_file`` override the automatic column mapping; ``currency`` applies to amounts
    with no currency column, symbol or code; ``fiscal_year_start`` (a month) names years by
    fiscal year; ``year`` is the year of every grant in a file with no year or date column,
    and ``funder`` the funder of every grant in a file with no funder column (a foundation's
    own grant list rarely names itself). ``years_in_columns`` reads a table with one amount
    column per year (FY2022, FY2023, ...) as one grant per row and year. Raises an
    ``InputFileError`` (with file, sheet, row, column and a hint) for unreadable input.
    """
    options = _options(mapping, mapping_file, currency, fiscal_year_start, year, funder)
    options = replace(options, years_in_columns=years_in_columns)
    inputs = _inputs([Path(p) for p in paths], sheets, options)
    _refuse_duplicate_names([path for path, _, _ in inputs])
    # Files are read side by side: calamine and most conversions use one core each.
    per_file = in_threads(lambda item: _read_one_file(*item, progress), inputs)
    grants, rejects, reports = [], [], []
    for g, r, report in (sheet for sheets_of_file in per_file for sheet in sheets_of_file):
        grants.append(g)
        rejects.append(r)
        reports.append(report)
    return IngestResult(
        grants=pl.concat(grants) if grants else empty_frame(GRANTS_SCHEMA),
        rejects=pl.concat(rejects) if rejects else empty_frame(REJECTS_SCHEMA),
        reports=reports,
    )


def ingest(
    paths: Iterable[str | Path],
    *,
    db: str | Path | None = store.DEFAULT_DB,
    replace: bool = False,
    **options,
) -> IngestResult:
    """Read the files (see ``read_files`` for the options) and store them in ``db`` in one
    transaction. A file already loaded with the same content is a no-op (its reports say
    ``already_loaded``); a different file of the same name needs ``replace=True``."""
    result = read_files(paths, **options)
    con = store.connect(db)
    try:
        store.save_ingest(con, result, replace=replace)
    finally:
        con.close()
    return result


@dataclass
class SheetInspection:
    """What ingest would do with one sheet: header, mapping, gaps and a preview."""

    file: str
    sheet: str | None
    header_row: int | None = None
    headers: list[str] = field(default_factory=list)
    preset: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    ambiguous: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    #: Loaded rows of the first data rows, canonical fields as text.
    preview: list[dict[str, str | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Why this sheet would not be loaded, if it would not.
    problem: str | None = None

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "headers": self.headers,
            "preset": self.preset,
            "mapping": self.mapping,
            "ambiguous": self.ambiguous,
            "missing": self.missing,
            "preview": self.preview,
            "notes": self.notes,
            "problem": self.problem,
        }


def inspect(
    path: str | Path,
    *,
    sheets: list[str] | None = None,
    mapping: dict[str, str] | None = None,
    mapping_file: str | Path | None = None,
    currency: str | None = None,
    fiscal_year_start: int | None = None,
    year: int | None = None,
    funder: str | None = None,
    years_in_columns: bool = False,
) -> list[SheetInspection]:
    """Per sheet: the detected header row, the mapping, what is ambiguous or missing, and a
    preview of the first rows as they would load. Problems that would stop a sheet from
    loading are reported in ``problem`` rather than raised; unreadable files still raise.
    A manifest is inspected file by file, each with its own options."""
    options = _options(mapping, mapping_file, currency, fiscal_year_start, year, funder)
    options = replace(options, years_in_columns=years_in_columns)
    inspections = []
    for file_path, file_sheets, file_options in _inputs([Path(path)], sheets, options):
        inspections += _inspect_file(file_path, file_sheets, file_options)
    return inspections


def _inspect_file(path: Path, sheets: list[str] | None, options: Options) -> list[SheetInspection]:
    inspections = []
    for raw in read_file(path, sheets=sheets):
        found = SheetInspection(file=raw.file_name, sheet=raw.sheet, notes=list(raw.notes))
        inspections.append(found)
        try:
            header = read_header(raw)
            found.header_row, found.headers = header.row, list(header.names.values())
            found.notes += header.notes
            mapping_used = _mapping_for(raw, header, options)
        except InputFileError as error:
            found.problem = error.describe()
            if found.headers:
                partial = auto_mapping(found.headers)
                found.preset, found.mapping = partial.preset, partial.fields
                found.missing = partial.missing()
            continue
        found.preset, found.mapping = mapping_used.preset, dict(mapping_used.fields)
        found.ambiguous, found.missing = list(mapping_used.ambiguous), mapping_used.missing()
        head = RawSheet(**{**raw.__dict__, "cells": raw.cells.head(header.index + 1 + 50)})
        grants, _, report = _convert_sheet(head, header, mapping_used, options)
        found.notes += [n for n in report.notes if n not in found.notes]
        found.preview = [
            {k: (None if v is None else str(v)) for k, v in row.items()}
            for row in grants.select(["source_row", *CANONICAL_FIELDS])
            .head(PREVIEW_ROWS)
            .to_dicts()
        ]
    return inspections


def export(db: str | Path, out: str | Path) -> int:
    """Write one row per grant (EXPORT_COLUMNS, plus CLASSIFICATION_EXPORT_COLUMNS once a
    classification is stored) to a CSV safe to open in a spreadsheet. Returns the row count."""
    con = store.connect(db, must_exist=True)
    try:
        frame = con.sql(store.read_sql("ingest_export.sql")).pl()
        classified = con.execute("SELECT count(*) FROM classifications").fetchone()[0] > 0
    finally:
        con.close()
    columns = list(EXPORT_COLUMNS) + (list(CLASSIFICATION_EXPORT_COLUMNS) if classified else [])
    frame = frame.select(columns).with_columns(pl.col("amount").cast(GRANTS_SCHEMA["amount"]))
    write_safe_csv(frame, out)
    return frame.height


def summary(db: str | Path) -> dict:
    """What the store holds: per source (file and sheet) the counts and the loaded total per
    currency, and the totals per currency over all sources. Money as exact Decimals."""
    con = store.connect(db, must_exist=True)
    try:
        sources = con.sql(store.read_sql("ingest_sources.sql")).pl()
        totals = con.sql(store.read_sql("ingest_totals.sql")).pl()
    finally:
        con.close()
    per_source: dict[int, dict[str, Decimal]] = {}
    for row in totals.iter_rows(named=True):
        if row["source_id"] is not None:
            per_source.setdefault(row["source_id"], {})[row["currency"]] = Decimal(row["total"])
    overall = {
        row["currency"]: Decimal(row["total"])
        for row in totals.iter_rows(named=True)
        if row["source_id"] is None
    }
    return {
        "sources": [
            {
                "file": row["file_name"],
                "sheet": row["sheet"],
                "format": row["format"],
                "preset": row["preset"],
                "loaded_at": str(row["loaded_at"]),
                "rows_seen": row["rows_seen"],
                "rows_loaded": row["rows_loaded"],
                "rows_excluded": row["rows_excluded"],
                "rows_rejected": row["rows_rejected"],
                "totals": per_source.get(row["source_id"], {}),
            }
            for row in sources.iter_rows(named=True)
        ],
        "grants": int(sources["rows_loaded"].sum()) if sources.height else 0,
        "totals": overall,
    }


# --- Options -----------------------------------------------------------------------------------


def _options(
    mapping: dict[str, str] | None,
    mapping_file: str | Path | None,
    currency: str | None,
    fiscal_year_start: int | None,
    year: int | None,
    funder: str | None,
) -> Options:
    merged = dict(load_mapping_file(mapping_file)) if mapping_file else {}
    merged.update(mapping or {})
    for name in merged:
        if name not in CANONICAL_FIELDS:
            raise ColumnMappingError(
                f"unknown field {name!r} in the column mapping",
                hint="fields are " + ", ".join(CANONICAL_FIELDS),
            )
    if currency is not None:
        currency = currency.strip().upper()
        if currency not in ISO_CURRENCIES:
            raise AnalyzerError(
                f"currency {currency!r} is not an ISO 4217 currency code",
                hint="use a three-letter code such as USD, GBP, EUR or CAD",
            )
    if fiscal_year_start is not None and not 1 <= fiscal_year_start <= 12:
        raise AnalyzerError(
            f"fiscal year start {fiscal_year_start} is not a month",
            hint="give the month the fiscal year starts, 1-12 (e.g. 7 for July-June)",
        )
    if year is not None and not 1900 <= year <= 2100:
        raise AnalyzerError(f"year {year} is out of range", hint="give a year like 2024")
    if funder is not None and not funder.strip():
        raise AnalyzerError(
            "the funder is empty", hint='give the funder\'s name, e.g. --funder "Ford Foundation"'
        )
    return Options(merged, currency, fiscal_year_start, year, funder and funder.strip())


def _inputs(
    paths: list[Path], sheets: list[str] | None, options: Options
) -> list[tuple[Path, list[str] | None, Options]]:
    """Each input file with its sheets and options; a manifest's files take its place, each
    with its own options over the command's. Raises ManifestError naming every entry whose
    values do not pass the checks the command-line options pass."""
    inputs, problems = [], []
    for path in paths:
        if not is_manifest(path):
            inputs.append((path, sheets, options))
            continue
        for entry in load_manifest(path):
            given = entry.options
            try:
                own = _options(given.get("mapping"), None, given.get("currency"),
                               given.get("fiscal_year_start"), given.get("year"),
                               given.get("funder"))  # fmt: skip
            except AnalyzerError as error:
                problems.append(f"{entry.where}: {error.message}")
                continue
            merged = Options(
                mapping={**options.mapping, **own.mapping},
                currency=own.currency or options.currency,
                fiscal_year_start=own.fiscal_year_start or options.fiscal_year_start,
                year=own.year or options.year,
                funder=own.funder or options.funder,
                years_in_columns=given.get("years_in_columns", options.years_in_columns),
                manifest=path.name,
                from_manifest=frozenset(given) - {"sheets", "mapping"},
            )
            inputs.append((entry.path, given.get("sheets", sheets), merged))
    if problems:
        raise ManifestError(
            f"{len(problems)} manifest entr{'y' if len(problems) == 1 else 'ies'} with values "
            "that cannot be used",
            problems,
            hint="see docs/manifest.md",
        )
    return inputs


def _refuse_duplicate_names(paths: list[Path]) -> None:
    seen: dict[str, Path] = {}
    for path in paths:
        if path.name in seen:
            raise InputFileError(
                "two input files have the same name, and grants are keyed by file name",
                hint=f"rename one of {str(seen[path.name])!r} and {str(path)!r}, or ingest "
                "them one at a time",
                location=Location(file=path.name),
            )
        seen[path.name] = path


# --- One file ----------------------------------------------------------------------------------


def _read_one_file(
    path: Path, sheets: list[str] | None, options: Options, progress: Progress | None
) -> list[tuple[pl.DataFrame, pl.DataFrame, SheetReport]]:
    """Every sheet of one file. In a workbook read whole, sheets that hold no grant table
    (notes, a template with no rows) are skipped with their reason; if no sheet holds one,
    or the sheet was asked for by name, that is an error."""
    _tell(progress, f"reading {path.name}")
    raws = read_file(path, sheets=sheets)
    results, problems = [], []
    for raw in raws:
        _tell(
            progress,
            f"{raw.file_name}"
            + (f" [{raw.sheet}]" if raw.sheet else "")
            + f": {raw.cells.height:,} rows",
        )
        try:
            results.append(_sheet(raw, options))
        except InputFileError as error:
            # A sheet with a header but no amount column is a table we cannot read: never
            # skip it quietly. Sheets with no header at all (notes) are skipped and reported.
            if sheets or len(raws) == 1 or isinstance(error, ColumnMappingError):
                raise _with_sheet_list(error, raw) from None
            problems.append((raw, error))
    if problems and not results:
        first = problems[0][1]
        detail = "; ".join(f"sheet {raw.sheet!r}: {error.message}" for raw, error in problems)
        raise type(first)(
            f"no sheet holds a table of grants ({detail})",
            hint=first.hint,
            location=Location(file=path.name),
        )
    for raw, error in problems:
        report = _report(raw)
        report.skipped = error.message
        report.notes = [f"sheet skipped: {error.message}"]
        empty = (empty_frame(GRANTS_SCHEMA), empty_frame(REJECTS_SCHEMA), report)
        results.append(empty)
    order = {raw.sheet: i for i, raw in enumerate(raws)}
    return sorted(results, key=lambda r: order[r[2].sheet])


def _with_sheet_list(error: InputFileError, raw: RawSheet) -> InputFileError:
    if len(raw.workbook_sheets) > 1 and error.hint and "sheets" not in error.hint:
        others = ", ".join(repr(n) for n in raw.workbook_sheets)
        error = type(error)(error.message, hint=f"{error.hint}; or read only some sheets with "
                            f"--sheet (the workbook has the sheets {others})",
                            location=error.location)  # fmt: skip
    return error


def _tell(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


def _report(raw: RawSheet) -> SheetReport:
    return SheetReport(
        file_name=raw.file_name,
        path=str(raw.path.resolve()),
        sha256=raw.sha256,
        sheet=raw.sheet,
        format=raw.format,
        encoding=raw.encoding,
    )


def _mapping_for(raw: RawSheet, header: Header, options: Options) -> Mapping:
    headers = list(header.names.values())
    mapping = auto_mapping(headers)
    where = Location(file=raw.file_name, sheet=raw.sheet, row=header.row)
    apply_user_mapping(mapping, options.mapping, headers, where)
    if options.years_in_columns:
        return _mapping_by_year(mapping, header, options, where)
    if "amount" not in mapping.fields:
        raise missing_amount_error(headers, where)
    return mapping


def _mapping_by_year(
    mapping: Mapping, header: Header, options: Options, where: Location
) -> Mapping:
    """With ``years_in_columns`` the year columns give the amounts and the years: a column
    that merely looks like an amount (a "Total") or a year is not mapped, and naming one in
    --map is an error."""
    if not year_columns(header):
        raise ColumnMappingError(
            "no year columns found for --years-in-columns",
            hint="headers found: " + ", ".join(map(repr, header.names.values()))
            + "; year columns are headed like 2024, FY2024 or FY 2023-24",
            location=where,
        )  # fmt: skip
    if given := sorted({"amount", "year"} & set(options.mapping)):
        raise ColumnMappingError(
            f"--map {given[0]} cannot be used with --years-in-columns",
            hint="the year columns give each grant's amount and year; leave them out of --map",
            location=where,
        )
    fields = {k: v for k, v in mapping.fields.items() if k not in ("amount", "year")}
    return replace(mapping, fields=fields)


def year_columns(header: Header) -> list[str]:
    """The columns (c<N>) whose header is a year or fiscal year, in sheet order."""
    years = header_years(list(header.names.values()))
    return [column for column, year in zip(header.names, years, strict=True) if year]


def _sheet(raw: RawSheet, options: Options) -> tuple[pl.DataFrame, pl.DataFrame, SheetReport]:
    header = read_header(raw)
    mapping = _mapping_for(raw, header, options)
    if raw.cells.height <= header.index + 1:
        raise InputFileError(
            f"there are no data rows below the header (row {header.row})",
            hint="the sheet has column names but no grants; add rows or pick another sheet",
            location=Location(file=raw.file_name, sheet=raw.sheet, row=header.row),
        )
    return _convert_sheet(raw, header, mapping, options)


# --- One sheet: exclusions, conversions, accounting ---------------------------------------------


def _convert_sheet(
    raw: RawSheet, header: Header, mapping: Mapping, options: Options
) -> tuple[pl.DataFrame, pl.DataFrame, SheetReport]:
    report = _report(raw)
    report.header_row = header.row
    report.preset = mapping.preset
    report.mapping = dict(mapping.fields)
    report.notes = [*raw.notes, *header.notes]
    if mapping.preset:
        report.notes.append(f"recognised the {mapping.preset} layout")
    report.notes += [f"ambiguous column: {a}" for a in mapping.ambiguous]

    column_of = {name: column for column, name in header.names.items()}
    col = {name: column_of[h] for name, h in mapping.fields.items()}
    columns = list(header.names)
    # The columns amounts are read from: one, or with years_in_columns one per year.
    amount_cols = year_columns(header) if options.years_in_columns else [col["amount"]]
    merged = fill_merged_cells(raw.cells, raw.layout.merged, header, amount_cols)
    if merged.filled:
        where = ", ".join(f"{header.names.get(c, c)!r}" for c in merged.filled)
        filled = sum(merged.filled.values())
        report.notes.append(f"{filled} cell(s) under merged cells given the merged value ({where})")
    data = (
        merged.cells.slice(header.index + 1)
        .select(columns)
        .with_row_index("__row", offset=header.index + 2)
        .with_columns(pl.col("__row").cast(pl.Int64))
    )
    original = pl.struct(pl.col(c).alias(header.names[c]) for c in columns)
    data = data.with_columns(__original=original.struct.json_encode())
    if options.years_in_columns:
        data, columns = _records_by_year(data, columns, amount_cols, header, report)
        col = {**col, "amount": "__amount_cell", "year": "__year_cell"}
        names = ", ".join(header.names[c] for c in amount_cols)
        mapping = replace(mapping, fields={**mapping.fields, "amount": names, "year": names})
        report.mapping = dict(mapping.fields)
    else:
        data = data.with_columns(
            __amount_source=pl.lit(col["amount"]), __amount_header=pl.lit(mapping.fields["amount"])
        )
    amount_col, amount_header = col["amount"], mapping.fields["amount"]
    identity = [col[f] for f in ("grant_id", "recipient") if f in col]
    unsaved = _unsaved_amounts(raw, header, amount_cols, report)
    excluded = exclusion_reasons(data, columns, amount_col, amount_header, identity)
    excluded = _with_cell_exclusions(data, excluded, merged, unsaved, options)
    data = data.with_columns(excluded.alias("__excluded"))
    data = parse_amounts(*_amount_text(data, raw, header, amount_col, amount_header, report))
    if unsaved:
        data = data.with_columns(
            __amount_problem=pl.when(_at_cells(unsaved))
            .then(pl.lit(UNSAVED_AMOUNT))
            .otherwise(pl.col("__amount_problem"))
        )
    _note_hidden(raw, header, report)
    currency_col = col.get("currency")
    column_currency = normalise_currency_column(currency_col) if currency_col else None
    default_currency = options.currency or mapping.currency
    currency, assumed, currency_problem = resolve_currency(
        column_currency, pl.col("__amount_currency"), default_currency
    )
    problem = pl.coalesce(pl.col("__amount_problem"), currency_problem)
    on_amount = pl.col("__amount_problem").is_not_null()
    data = data.with_columns(
        __currency=currency,
        __assumed=assumed,
        __problem=problem,
        __problem_column=pl.when(on_amount)
        .then(pl.col("__amount_header"))
        .otherwise(pl.lit(mapping.fields.get("currency"))),
        __problem_value=pl.when(on_amount)
        .then(pl.col(amount_col))
        .otherwise(pl.col(currency_col) if currency_col else pl.lit(None, dtype=pl.String)),
    )
    skip = data.select(pl.col("__excluded").is_not_null() | pl.col("__problem").is_not_null())
    skip = skip.to_series()
    loaded = data.filter(~skip) if skip.any() else data
    not_loaded = data.filter(skip)

    grants = _grants(loaded, raw, col, mapping, options, report)
    rejects = _rejects(not_loaded, raw, amount_col)
    _account(report, data.height, grants, rejects)
    return grants, rejects, report


def _with_cell_exclusions(
    data: pl.DataFrame,
    excluded: pl.Series,
    merged: MergedCells,
    unsaved: list[tuple[int, str]],
    options: Options,
) -> pl.Expr:
    """The row exclusions, adjusted for what single amount cells say: an empty year cell is
    no grant that year, a cell under a merged amount is counted on the merge's first row, and
    a formula with no saved value is not an empty cell (its row is rejected, not passed over)."""
    if options.years_in_columns:
        excluded = _year_record_exclusions(data, excluded)
    reason = pl.lit(excluded)
    if merged.under_amount:
        under = _at_cells(merged.under_amount)
        reason = pl.when(under).then(pl.lit(EXCLUDED_MERGED_AMOUNT)).otherwise(reason)
    if unsaved:
        empty = reason.is_in([EXCLUDED_BLANK, EXCLUDED_NOTE, EXCLUDED_NO_YEAR_AMOUNT])
        reason = pl.when(_at_cells(unsaved) & empty).then(None).otherwise(reason)
    return reason


def _records_by_year(
    data: pl.DataFrame,
    columns: list[str],
    year_cols: list[str],
    header: Header,
    report: SheetReport,
) -> tuple[pl.DataFrame, list[str]]:
    """One record per row and year column (``years_in_columns``): the row's other cells, the
    year column's cell as ``__amount_cell`` and its header as ``__year_cell``. Records are
    what is counted from here on (seen = loaded + excluded + rejected)."""
    others = [c for c in data.columns if c not in year_cols]
    parts = [
        data.select(
            *others,
            pl.col(c).alias("__amount_cell"),
            pl.lit(header.names[c]).alias("__year_cell"),
            pl.lit(header.names[c]).alias("__amount_header"),
            pl.lit(c).alias("__amount_source"),
            pl.lit(k, dtype=pl.UInt32).alias("__k"),
        )
        for k, c in enumerate(year_cols)
    ]
    records = pl.concat(parts).sort("__row", "__k", maintain_order=True).drop("__k")
    names = ", ".join(repr(header.names[c]) for c in year_cols)
    report.notes.append(
        f"one grant per row and year column ({names}): {data.height} row(s) read as "
        f"{records.height} record(s); the counts are of records"
    )
    return records, [c for c in columns if c not in year_cols] + ["__amount_cell"]


def _year_record_exclusions(data: pl.DataFrame, excluded: pl.Series) -> pl.Series:
    """A year column's header repeated in its own cell is a repeated header row; an empty
    year cell is no grant that year (not a rejected amount)."""
    cell = pl.col("__amount_cell")
    blank = cell.is_null() | ~cell.str.contains(r"\S")
    return data.select(
        pl.when(pl.lit(excluded).is_not_null())
        .then(pl.lit(excluded))
        .when(cell.str.strip_chars() == pl.col("__year_cell"))
        .then(pl.lit(EXCLUDED_HEADER))
        .when(blank)
        .then(pl.lit(EXCLUDED_NO_YEAR_AMOUNT))
        .alias("__excluded")
    ).to_series()


def _record_suffix(loaded: pl.DataFrame) -> pl.Expr:
    """ "@FY2023" for a record of a year column (``years_in_columns``): record ids stay unique."""
    if "__year_cell" in loaded.columns:
        return pl.lit("@") + pl.col("__year_cell")
    return pl.lit("")


UNSAVED_AMOUNT = (
    "amount is a formula with no saved value (open the file in a spreadsheet program and save "
    "it, so that its values are stored)"
)


def _amount_text(
    data: pl.DataFrame,
    raw: RawSheet,
    header: Header,
    amount_col: str,
    amount_header: str,
    report: SheetReport,
) -> tuple[pl.DataFrame, str]:
    """(data, the column to parse amounts from): the amount cells as written, or rewritten
    for the parser when the column uses a decimal comma or the sheet states a unit (each
    said in a note). The cells themselves stay as written, for the rejects and originals."""
    text = amount_col
    if decimal_comma(data, amount_col):
        text = "__amount_text"
        data = data.with_columns(with_decimal_point(amount_col).alias(text))
        report.notes.append(
            f"amounts in {amount_header!r} are written with a decimal comma (1.234,50 is read "
            "as 1234.50)"
        )
    if unit_said := _amount_unit(raw, header, amount_header):
        unit, where = unit_said
        data = data.with_columns(in_unit(text, unit).alias("__amount_text"))
        text = "__amount_text"
        report.notes.append(f"{where} says amounts are in {unit}s: 1,200 is read as 1,200 {unit}")
    return data, text


def _amount_unit(raw: RawSheet, header: Header, amount_header: str) -> tuple[str, str] | None:
    """(unit, who says so) when the amount header or a title row above the table states the
    unit of the amounts ("Award ($000s)", "(Dollars in Thousands)")."""
    if unit := amount_unit(amount_header):
        return unit, f"the header {amount_header!r}"
    titles = raw.cells.head(header.index).select(
        pl.concat_str(pl.all(), separator=" ", ignore_nulls=True)
    )
    for number, title in enumerate(titles.to_series(), start=1):
        if title and (unit := title_unit(title)):
            return unit, f"the title on row {number} ({title.strip()!r})"
    return None


def _unsaved_amounts(
    raw: RawSheet, header: Header, amount_cols: list[str], report: SheetReport
) -> list[tuple[int, str]]:
    """The amount cells (row, column) holding a formula with no saved value, which calamine
    reads as empty; other such cells are counted in a note."""
    below = [(row, column_name(c)) for row, c in raw.layout.unsaved_formulas if row > header.row]
    others = [column for _, column in below if column not in amount_cols]
    if others:
        named = sorted({header.names.get(c, c) for c in others})
        report.notes.append(
            f"{len(others)} cell(s) hold a formula with no saved value and were read as empty "
            f"({', '.join(map(repr, named))}); open the file in a spreadsheet program and save "
            "it to store the values"
        )
    return [(row, column) for row, column in below if column in amount_cols]


def _at_cells(cells: list[tuple[int, str]]) -> pl.Expr:
    """Whether a row's amount came from one of these cells (spreadsheet row, column c<N>)."""
    keys = pl.Series([f"{row}:{column}" for row, column in cells], dtype=pl.String)
    here = pl.format("{}:{}", pl.col("__row"), pl.col("__amount_source"))
    return here.is_in(keys.implode())


def _note_hidden(raw: RawSheet, header: Header, report: SheetReport) -> None:
    """Hidden rows and columns are read like the others (nothing is dropped on a guess), and
    said so: someone may have hidden rows they meant to leave out. Loaded rows among them
    are flagged ``hidden_row``."""
    rows = [row for row in raw.layout.hidden_rows if row > header.row]
    if rows:
        shown = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
        report.notes.append(
            f"{len(rows)} row(s) are hidden in the workbook (rows {shown}); they were read like "
            "the others, and loaded ones are flagged hidden_row"
        )
    columns = [column_name(c) for c in raw.layout.hidden_columns]
    if named := [header.names[c] for c in columns if c in header.names]:
        report.notes.append("hidden column(s) read like the others: " + ", ".join(map(repr, named)))


def map_distinct(series: pl.Series, convert: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``convert`` applied to a column, computed once per distinct value when the column
    repeats itself (states, dates, funders: a few thousand values over a million rows)."""
    sample = series.head(DISTINCT_SAMPLE)
    if sample.n_unique() > sample.len() // 4:
        return convert(series).alias(series.name)
    distinct = series.drop_nulls().unique()
    converted = convert(distinct)
    return series.replace_strict(distinct, converted, default=None, return_dtype=converted.dtype)


def _text(series: pl.Series) -> pl.Series:
    """Stripped text; blank -> null."""
    stripped = series.str.strip_chars()
    return stripped.set(stripped.str.len_bytes() == 0, None)


def _state(series: pl.Series) -> pl.Series:
    return pl.DataFrame({"s": series}).select(normalise_state("s")).to_series()


def _grants(
    loaded: pl.DataFrame,
    raw: RawSheet,
    col: dict[str, str],
    mapping: Mapping,
    options: Options,
    report: SheetReport,
) -> pl.DataFrame:
    null_text = pl.lit(None, dtype=pl.String)
    values = {
        name: map_distinct(loaded.get_column(col[name]), _text) if name in col else null_text
        for name in STRIPPED_FIELDS
    }
    values["funder"] = _funder(values["funder"], "funder" in col, options, report)
    hidden = pl.Series(raw.layout.hidden_rows, dtype=pl.Int64)
    flags: list[pl.Expr] = [
        pl.when(pl.col("__amount") < 0).then(pl.lit("negative")),
        pl.when(pl.col("__amount") == 0).then(pl.lit("zero")),
        pl.when(pl.col("__row").is_in(hidden.implode())).then(pl.lit("hidden_row")),
    ]
    dates = {}
    for name in ("start_date", "end_date"):
        if name in col:
            if excel_day_numbers(loaded, col[name]):
                read_dates = day_number_dates
                report.notes.append(f"dates in {mapping.fields[name]!r} are Excel day numbers "
                                    "(45292 is 2024-01-01)")  # fmt: skip
            else:
                first = day_first(loaded, col[name])
                read_dates = partial(parse_dates, day_first=first)
            parsed = map_distinct(loaded.get_column(col[name]), read_dates)
            loaded = loaded.with_columns(parsed.alias(f"__{name}"))
            dates[name] = pl.col(f"__{name}")
            unreadable = dates[name].is_null() & pl.col(col[name]).str.contains(r"\S")
            unreadable = unreadable.fill_null(False)
            flags.append(pl.when(unreadable).then(pl.lit(f"{name}_unreadable")))
            _note_unreadable(report, loaded, unreadable, col[name], mapping.fields[name], name)
        else:
            dates[name] = pl.lit(None, dtype=pl.Date)
    fy_start = options.fiscal_year_start or mapping.fiscal_year_start
    if "year" in col:  # a few distinct years over many rows: each is read once
        years = map_distinct(loaded.get_column(col["year"]), read_years)
        loaded = loaded.with_columns(years.alias("__year"))
    year = _year(loaded, col, mapping, options, report, dates, fy_start, flags)
    prefix = f"{raw.file_name}:{raw.sheet}:" if raw.sheet is not None else f"{raw.file_name}:"
    frame = loaded.select(
        record_id=pl.lit(prefix) + pl.col("__row").cast(pl.String) + _record_suffix(loaded),
        **values,
        amount=pl.col("__amount"),
        currency=pl.col("__currency"),
        year=year,
        state=map_distinct(loaded.get_column(col["state"]), _state)
        if "state" in col
        else null_text,
        start_date=dates["start_date"],
        end_date=dates["end_date"],
        source_file=pl.lit(raw.file_name),
        source_sheet=pl.lit(raw.sheet, dtype=pl.String),
        source_row=pl.col("__row"),
        flags=pl.concat_str(flags, separator=";", ignore_nulls=True),
        original=pl.col("__original"),
    ).with_columns(flags=pl.when(pl.col("flags") != "").then(pl.col("flags")))
    assumed = int(loaded["__assumed"].sum()) if loaded.height else 0
    if assumed:
        report.notes.append(
            f"{assumed} row(s) name no currency (no currency column, symbol or code); "
            "assumed USD - pass --currency to set the currency"
        )
    return frame.cast(GRANTS_SCHEMA).select(list(GRANTS_SCHEMA))


def _year(
    loaded: pl.DataFrame,
    col: dict[str, str],
    mapping: Mapping,
    options: Options,
    report: SheetReport,
    dates: dict[str, pl.Expr],
    fy_start: int | None,
    flags: list[pl.Expr],
) -> pl.Expr:
    """From the year column, else the fiscal year of the start date, else ``--year``."""
    from_date = fiscal_year(dates["start_date"], fy_start) if "start_date" in col else None
    if "year" in col:
        parsed = pl.col("__year")
        unreadable = parsed.is_null() & pl.col(col["year"]).str.contains(r"\S").fill_null(False)
        flags.append(pl.when(unreadable).then(pl.lit("year_unreadable")))
        _note_unreadable(report, loaded, unreadable, col["year"], mapping.fields["year"], "year")
        distinct = loaded.select(pl.col(col["year"]).unique())
        if distinct.select(is_year_span(col["year"]).any()).item():
            report.notes.append(
                f"fiscal years written as two years in {mapping.fields['year']!r} (2018-19) are "
                "named by the year they end in (2019), as federal fiscal years are"
            )
        year = parsed if from_date is None else pl.coalesce(parsed, from_date)
    elif from_date is not None:
        year = from_date
        kind = "federal fiscal year (October-September)" if fy_start == 10 else (
            f"fiscal year starting in month {fy_start}" if fy_start and fy_start > 1
            else "calendar year"
        )  # fmt: skip
        report.notes.append(f"year is the {kind} of {mapping.fields['start_date']!r}")
    elif options.year is not None:
        report.notes.append(
            f"no year or date column; every grant's year is {options.year} "
            f"({options.given('year')})"
        )
        return pl.lit(options.year, dtype=pl.Int32)
    elif (from_header := _header_year(mapping.fields["amount"])) is not None:
        report.notes.append(
            f"no year or date column; every grant's year is {from_header}, from the amount "
            f"column's header {mapping.fields['amount']!r}"
        )
        return pl.lit(from_header, dtype=pl.Int32)
    else:
        report.notes.append("no year or date column; year left empty - pass --year to set it")
        return pl.lit(None, dtype=pl.Int32)
    if options.year is not None:
        ignored = f"{options.given('year')} was ignored: the sheet has a year or date column"
        report.notes.append(ignored)
    return year


def _header_year(header: str) -> int | None:
    """The year an amount column's header names ("FY2024" in a table of one column per year,
    read with ``--map amount="FY2024"``), or None."""
    return header_years([header])[0]


def _funder(column: pl.Expr, has_column: bool, options: Options, report: SheetReport) -> pl.Expr:
    """The funder column, else ``--funder`` for every grant, else empty with a note."""
    if has_column:
        if options.funder is not None:
            report.notes.append(
                f"{options.given('funder')} was ignored: the sheet has a funder column"
            )
        return column
    if options.funder is not None:
        report.notes.append(
            f"no funder column; every grant's funder is {options.funder!r} "
            f"({options.given('funder')})"
        )
        return pl.lit(options.funder, dtype=pl.String)
    report.notes.append("no funder column; funder left empty - pass --funder to set it")
    return column


def _note_unreadable(
    report: SheetReport,
    loaded: pl.DataFrame,
    unreadable: pl.Expr,
    column: str,
    header: str,
    name: str,
) -> None:
    bad = loaded.filter(unreadable).select(pl.col(column), pl.col("__row"))
    if bad.height:
        example, row = bad.row(0)
        report.notes.append(
            f"{bad.height} {name} value(s) in {header!r} could not be read (e.g. {example!r} on "
            f"row {row}); kept the rows with an empty {name} and the flag {name}_unreadable"
        )


def _rejects(not_loaded: pl.DataFrame, raw: RawSheet, amount_col: str) -> pl.DataFrame:
    excluded = pl.col("__excluded").is_not_null()
    # Excluded for what the amount cell holds: a total, the place under a merged amount, an
    # empty year column.
    is_total = pl.col("__excluded").is_in(
        [EXCLUDED_TOTAL, EXCLUDED_MERGED_AMOUNT, EXCLUDED_NO_YEAR_AMOUNT]
    )
    return not_loaded.select(
        source_file=pl.lit(raw.file_name),
        source_sheet=pl.lit(raw.sheet, dtype=pl.String),
        source_row=pl.col("__row"),
        disposition=pl.when(excluded).then(pl.lit("excluded")).otherwise(pl.lit("rejected")),
        reason=pl.coalesce(pl.col("__excluded"), pl.col("__problem")),
        column=pl.when(excluded)
        .then(pl.when(is_total).then(pl.col("__amount_header")))
        .otherwise(pl.col("__problem_column")),
        value=pl.when(excluded)
        .then(pl.when(is_total).then(pl.col(amount_col)))
        .otherwise(pl.col("__problem_value")),
        original=pl.col("__original"),
    ).cast(REJECTS_SCHEMA)


def _account(report: SheetReport, seen: int, grants: pl.DataFrame, rejects: pl.DataFrame) -> None:
    """Fill the report's counts and totals; seen = loaded + excluded + rejected must hold."""
    report.rows_seen = seen
    report.rows_loaded = grants.height
    counts = (
        rejects.group_by("disposition", "reason")
        .len()
        .sort("disposition", "len", "reason", descending=[False, True, False])
    )
    for disposition, reason, n in counts.iter_rows():
        target = report.excluded_reasons if disposition == "excluded" else report.rejected_reasons
        target[reason] = n
    report.rows_excluded = sum(report.excluded_reasons.values())
    report.rows_rejected = sum(report.rejected_reasons.values())
    totals = grants.group_by("currency").agg(pl.col("amount").sum()).sort("currency")
    report.totals = {cur: Decimal(str(total)) for cur, total in totals.iter_rows()}
    assert report.rows_seen == report.rows_loaded + report.rows_excluded + report.rows_rejected
