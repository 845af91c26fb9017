"""workbook.xlsx: the analysis as a workbook people filter, pivot and review in Excel.

Sheets: Summary (headline measures per currency, approach mix, native Excel charts), Approach by
year, By funder, By state (flat tables with filters), Grants (every grant with its
classification and explanation), Review (unclassified and ambiguous grants with a dropdown of
categories, read back by ``analyzer review apply``), Data quality, Taxonomy.

Two rules hold for every cell:

* Text from the input never runs as a formula: text starting with ``=``, ``+``, ``-``, ``@``,
  tab or CR is escaped (``safe.escape_formula``), and text is always stored as a string cell.
  No cell of the workbook holds a formula.
* Money is a number with a currency number format, never text; currencies are never summed.

Speed: openpyxl writes ~5,000 rows of 26 columns a second, so a 100,000-row Grants sheet would
take ~20 s. The small sheets are written with openpyxl; the Grants sheet's rows are built as
SpreadsheetML with vectorised polars expressions and spliced into the sheet openpyxl saved
(header, frozen panes, filter and widths come from openpyxl). Above ``GRANTS_ROW_LIMIT`` rows
the Grants sheet holds the largest grants and says so in its first row; every grant is in
``classified.csv``.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

import polars as pl

from .formatting import SYMBOLS
from .safe import escape_formula

#: Above this many grants the Grants sheet is truncated (Excel's limit is 1,048,576 rows, and
#: a sheet this size already takes a few seconds to write and to open).
GRANTS_ROW_LIMIT = 100_000
#: The Review sheet lists at most this many grants, most money first: more than a person
#: reviews by hand, and the rest are in classified.csv.
REVIEW_ROW_LIMIT = 2_000
#: Other tables (funders, rows not loaded, ...) list at most this many rows.
TABLE_ROW_LIMIT = 20_000

SUMMARY = "Summary"
BY_YEAR = "Approach by year"
BY_FUNDER = "By funder"
BY_STATE = "By state"
GRANTS = "Grants"
REVIEW = "Review"
DATA_QUALITY = "Data quality"
TAXONOMY = "Taxonomy"
SHEETS = (SUMMARY, BY_YEAR, BY_FUNDER, BY_STATE, GRANTS, REVIEW, DATA_QUALITY, TAXONOMY)

#: Defined name of the cells listing the categories a reviewer may choose (Taxonomy sheet).
CATEGORY_LIST_NAME = "ReviewCategories"

#: Review sheet headers that ``analyzer review apply`` reads back.
REVIEW_KEY = "Record ID"
REVIEW_CATEGORY = "Your category"
REVIEW_SHARES = "Your shares (optional)"
REVIEW_REASON = "Reason"
REVIEW_REVIEWER = "Reviewer"
REVIEW_DATE = "Date"
REVIEW_INPUTS = (REVIEW_CATEGORY, REVIEW_SHARES, REVIEW_REASON, REVIEW_REVIEWER, REVIEW_DATE)

DATE_FORMAT = "yyyy-mm-dd"
SHARE_FORMAT = "0.0%"
RATIO_FORMAT = "0.00"
COUNT_FORMAT = "#,##0"

#: Excel stores at most this many characters in a cell.
CELL_TEXT_LIMIT = 32_767
#: Characters XML 1.0 cannot hold (openpyxl refuses them): dropped from text.
ILLEGAL_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"
_ILLEGAL_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

HEADER_FILL = "DDE5F0"
INPUT_FILL = "FFF2CC"
NOTE_COLOR = "9C0006"

_SPREADSHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIP_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its header, the frame column it shows, how, and how wide."""

    header: str
    field: str
    #: text | money | count | integer | date | boolean | share | ratio
    kind: str = "text"
    width: float = 14


GRANT_COLUMNS = (
    Column("Record ID", "record_id", "text", 26),
    Column("Grant ID", "grant_id", "text", 16),
    Column("Funder", "funder", "text", 28),
    Column("Recipient", "recipient", "text", 30),
    Column("Title", "title", "text", 36),
    Column("Description", "description", "text", 60),
    Column("Program", "program", "text", 24),
    Column("Amount", "amount", "money", 16),
    Column("Currency", "currency", "text", 9),
    Column("Year", "year", "integer", 7),
    Column("State", "state", "text", 7),
    Column("Start date", "start_date", "date", 11),
    Column("End date", "end_date", "date", 11),
    Column("Approach", "approach", "text", 20),
    Column("Side", "side", "text", 10),
    Column("Shares", "approach_shares", "text", 26),
    Column("Ambiguous", "ambiguous", "boolean", 10),
    Column("Decided by", "decided_by", "text", 10),
    Column("Rights", "rights", "text", 22),
    Column("Risk factors", "risk_factors", "text", 22),
    Column("Provider type", "provider_type", "text", 14),
    Column("Explanation", "explanation", "text", 60),
    Column("Matched rules", "matched_rules", "text", 24),
    Column("Source file", "source_file", "text", 22),
    Column("Source sheet", "source_sheet", "text", 14),
    Column("Source row", "source_row", "integer", 10),
    Column("Flags", "flags", "text", 12),
)

REVIEW_COLUMNS = (
    Column(REVIEW_KEY, "record_id", "text", 26),
    Column("Grant ID", "grant_id", "text", 14),
    Column("Funder", "funder", "text", 24),
    Column("Recipient", "recipient", "text", 26),
    Column("Title", "title", "text", 32),
    Column("Description", "description", "text", 60),
    Column("Amount", "amount", "money", 15),
    Column("Currency", "currency", "text", 9),
    Column("Year", "year", "integer", 7),
    Column("Current approach", "approach", "text", 18),
    Column("Current shares", "approach_shares", "text", 24),
    Column("Ambiguous", "ambiguous", "boolean", 10),
    Column("Why", "explanation", "text", 50),
)
REVIEW_INPUT_COLUMNS = (
    Column(REVIEW_CATEGORY, "", "text", 22),
    Column(REVIEW_SHARES, "", "text", 30),
    Column(REVIEW_REASON, "", "text", 40),
    Column(REVIEW_REVIEWER, "", "text", 16),
    Column(REVIEW_DATE, "", "date", 12),
)

#: The measures of a headline row, in the order the sheets show them.
MONEY_MEASURES = (
    ("Total", "total"),
    ("Out of scope", "out_of_scope"),
    ("In scope", "in_scope"),
    ("Unclassified", "unclassified"),
    ("Classified", "classified"),
)
RATIO_MEASURES = (
    ("Prevention share", "prevention_share", "share"),
    ("Symptoms-to-causes ratio", "symptoms_to_causes", "ratio"),
    ("Structural share", "structural_share", "share"),
)


# --- The entry point ------------------------------------------------------------------------


def write_workbook(
    path: str | Path,
    analysis: Any,
    *,
    grants_row_limit: int = GRANTS_ROW_LIMIT,
    review_row_limit: int = REVIEW_ROW_LIMIT,
) -> Path:
    """Write the workbook of an ``analyze.Analysis`` to ``path`` and return the path.

    The file is written beside ``path`` first and moved into place, so a failure never leaves
    a half-written workbook.
    """
    from openpyxl import Workbook

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = analysis.summary
    scale = summary.scale
    colors = category_colors(scale)
    classified = analysis.classified

    wb = Workbook()
    wb.remove(wb.active)
    sheets = {name: wb.create_sheet(name) for name in SHEETS}
    styles = _Styles(wb)

    year_chart_source = _write_group_sheet(
        sheets[BY_YEAR], summary, "by_year", "approach_by_year", "year", "Year", styles
    )
    _write_group_sheet(
        sheets[BY_FUNDER], summary, "by_funder", "approach_by_funder", "funder", "Funder", styles
    )
    _write_group_sheet(
        sheets[BY_STATE], summary, "by_state", "approach_by_state", "state", "State", styles
    )
    _write_summary(sheets[SUMMARY], analysis, styles, colors, year_chart_source)
    category_range = _write_taxonomy(sheets[TAXONOMY], analysis, styles)
    _define_category_list(wb, category_range)
    _write_review(sheets[REVIEW], classified, styles, review_row_limit)
    _write_data_quality(sheets[DATA_QUALITY], analysis, styles)
    grants = _grants_frame(classified, scale, grants_row_limit)
    header_row = _write_grants_header(sheets[GRANTS], grants, len(classified), styles)
    row_xml = _grant_row_xml(grants, styles)

    partial = path.with_name(path.name + ".partial")
    try:
        wb.save(partial)
        if grants.height:
            _splice_rows(partial, GRANTS, _xml_batches(grants, header_row + 1, row_xml))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


# --- Cell values and styles -----------------------------------------------------------------


def clean_text(value: str) -> str:
    """Text as it may go into a cell: XML-illegal characters dropped, cut to Excel's limit,
    and escaped so that it can never run as a formula."""
    value = _ILLEGAL_XML_RE.sub("", value)[:CELL_TEXT_LIMIT]
    return escape_formula(value) or ""


def money_format(currency: str | None) -> str:
    """Excel number format of amounts in one currency: "$"#,##0.00 or #,##0.00 "SEK"."""
    symbol = SYMBOLS.get(currency or "")
    if symbol:
        return f'"{symbol}"#,##0.00'
    code = re.sub(r"[^A-Za-z]", "", currency or "")[:8]
    return f'#,##0.00 "{code}"' if code else "#,##0.00"


class _Styles:
    """Number formats and fonts used across the workbook, registered once.

    ``style_id`` gives the workbook-wide style index of a number format, for the rows of the
    Grants sheet that are written as XML.
    """

    def __init__(self, workbook: Any):
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        self.workbook = workbook
        self.header_font = Font(bold=True)
        self.header_fill = PatternFill("solid", fgColor=HEADER_FILL)
        self.header_border = Border(bottom=Side(style="thin", color="808080"))
        self.header_alignment = Alignment(wrap_text=True, vertical="top")
        self.title_font = Font(bold=True, size=14)
        self.section_font = Font(bold=True, size=12)
        self.note_font = Font(italic=True, color=NOTE_COLOR)
        self.input_fill = PatternFill("solid", fgColor=INPUT_FILL)
        self._ids: dict[str, int] = {}

    def style_id(self, number_format: str) -> int:
        """The index of a cell style with this number format (registered on first use)."""
        if number_format not in self._ids:
            from openpyxl.cell import Cell

            # A cell that is never added to a sheet: it only registers the style.
            probe = Cell(self.workbook.worksheets[0])
            probe.number_format = number_format
            self._ids[number_format] = probe.style_id
        return self._ids[number_format]


def _set(ws: Any, row: int, column: int, value: Any, number_format: str | None = None) -> Any:
    """Write one cell: text cleaned and stored as a string, numbers as numbers."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        text = clean_text(value)
        cell.value = text or None
        if text:
            cell.data_type = "s"  # never a formula, whatever the text
    elif isinstance(value, float) and value != value:  # NaN
        cell.value = None
    else:
        cell.value = value
    if number_format and value is not None:
        cell.number_format = number_format
    return cell


def _number_format(kind: str, currency: str | None) -> str | None:
    return {
        "money": money_format(currency),
        "count": COUNT_FORMAT,
        "date": DATE_FORMAT,
        "share": SHARE_FORMAT,
        "ratio": RATIO_FORMAT,
    }.get(kind)


def _cell_value(value: Any, kind: str) -> Any:
    """Python value of a frame cell as the sheet stores it (money stays exact Decimal)."""
    if value is None:
        return None
    if kind in ("share", "ratio"):
        return float(value)
    if kind == "money":
        return Decimal(value)
    if kind == "boolean":
        return bool(value)
    return value


def _header(ws: Any, row: int, columns: tuple[Column, ...] | list[Column], styles: _Styles) -> None:
    """A bold header row and the column widths."""
    from openpyxl.utils import get_column_letter

    for index, column in enumerate(columns, start=1):
        cell = _set(ws, row, index, column.header)
        cell.font = styles.header_font
        cell.fill = styles.header_fill
        cell.border = styles.header_border
        cell.alignment = styles.header_alignment
        letter = get_column_letter(index)
        current = ws.column_dimensions[letter].width or 0
        ws.column_dimensions[letter].width = max(current, column.width)


def _write_rows(
    ws: Any,
    rows: list[dict[str, Any]],
    columns: tuple[Column, ...] | list[Column],
    first_row: int,
) -> int:
    """Write rows of dicts under a header; money formatted by each row's currency.
    Returns the last row written (``first_row - 1`` when there are none)."""
    row_number = first_row - 1
    for row_number, row in enumerate(rows, start=first_row):
        currency = row.get("currency")
        for index, column in enumerate(columns, start=1):
            value = _cell_value(row.get(column.field), column.kind)
            _set(ws, row_number, index, value, _number_format(column.kind, currency))
    return row_number


def _table(
    ws: Any,
    rows: pl.DataFrame | list[dict[str, Any]],
    columns: tuple[Column, ...] | list[Column],
    first_row: int,
    styles: _Styles,
    *,
    limit: int = TABLE_ROW_LIMIT,
    what: str = "rows",
) -> tuple[int, int]:
    """Header and rows (a frame or dicts) from ``first_row``; a note above when cut at
    ``limit``. Returns (header row, last row)."""
    count = len(rows)
    if count > limit:
        note = _set(ws, first_row, 1, f"Showing the first {limit:,} of {count:,} {what}.")
        note.font = styles.note_font
        first_row += 1
        rows = rows[:limit]
    _header(ws, first_row, columns, styles)
    dicts = rows.to_dicts() if isinstance(rows, pl.DataFrame) else rows
    last = _write_rows(ws, dicts, columns, first_row + 1)
    return first_row, last


def _section(ws: Any, row: int, title: str, styles: _Styles) -> int:
    """A section heading; returns the row below it."""
    _set(ws, row, 1, title).font = styles.section_font
    return row + 1


def _filter_and_freeze(ws: Any, header_row: int, last_row: int, columns: int) -> None:
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = ws.cell(row=header_row + 1, column=1).coordinate
    ws.auto_filter.ref = f"A{header_row}:{get_column_letter(columns)}{max(last_row, header_row)}"


# --- Colours of the scale -------------------------------------------------------------------


def category_colors(scale: Any) -> dict[str, str]:
    """The brief's colour per category (``charts.category_colors``: warm for the symptoms
    side, cool for the causes side, grey for out-of-scope and unclassified), as Excel wants
    them: RRGGBB without '#'."""
    from .charts import category_colors as brief_colors

    return {category: color.lstrip("#").upper() for category, color in brief_colors(scale).items()}


# --- Summary, by year, by funder, by state --------------------------------------------------


@dataclass(frozen=True)
class _ChartSource:
    """Where a chart finds its data: the rows of the main currency and a column per category."""

    sheet: str
    header_row: int
    first_row: int
    last_row: int
    key_column: int
    category_columns: tuple[tuple[str, int], ...]


def _group_columns(key: str, key_header: str, categories: list[Any]) -> list[Column]:
    key_kind = "integer" if key == "year" else "text"
    return [
        Column(key_header, key, key_kind, 28 if key_kind == "text" else 8),
        Column("Currency", "currency", "text", 9),
        Column("Grants", "grants", "count", 9),
        *(Column(label, field, "money", 16) for label, field in MONEY_MEASURES),
        Column("Coverage", "coverage", "share", 10),
        *(Column(c.label, f"category:{c.id}", "money", 16) for c in categories),
        *(Column(label, field, kind, 13) for label, field, kind in RATIO_MEASURES),
        Column("Unclassified grants", "unclassified_grants", "count", 12),
        Column("Ambiguous grants", "ambiguous_grants", "count", 11),
    ]


def _write_group_sheet(
    ws: Any,
    summary: Any,
    headline_table: str,
    mix_table: str,
    key: str,
    key_header: str,
    styles: _Styles,
) -> _ChartSource | None:
    """A flat table, one row per group and currency: money, coverage, money per category and
    the measures. Returns where the main currency's rows are, for charts."""
    categories = list(summary.scale.classified)
    columns = _group_columns(key, key_header, categories)
    amounts: dict[tuple, Decimal] = {}
    for row in summary[mix_table].iter_rows(named=True):
        amounts[(row["currency"], row[key], row["category"])] = row["amount"]
    rows = []
    for row in summary[headline_table].iter_rows(named=True):
        for category in categories:
            value = amounts.get((row["currency"], row[key], category.id), Decimal(0))
            row[f"category:{category.id}"] = value
        rows.append(row)

    ws.sheet_properties.tabColor = "4393C3"
    _set(ws, 1, 1, f"{key_header}: money, coverage and approach mix ({summary.policy} allocation)")
    ws.cell(row=1, column=1).font = styles.title_font
    header_row, last_row = _table(ws, rows, columns, 3, styles, what="rows")
    _filter_and_freeze(ws, header_row, last_row, len(columns))

    main = summary.main_currency
    main_rows = [
        i
        for i, row in enumerate(rows[: last_row - header_row], start=header_row + 1)
        if row["currency"] == main
    ]
    if not main_rows:
        return None
    first_category = 2 + 1 + len(MONEY_MEASURES) + 1 + 1
    return _ChartSource(
        sheet=ws.title,
        header_row=header_row,
        first_row=main_rows[0],
        last_row=main_rows[-1],
        key_column=1,
        category_columns=tuple((c.id, first_category + i) for i, c in enumerate(categories)),
    )


def _write_summary(
    ws: Any,
    analysis: Any,
    styles: _Styles,
    colors: dict[str, str],
    year_source: _ChartSource | None,
) -> None:
    """Headline measures per currency (with coverage and out-of-scope money), the approach mix
    per currency, and native charts of the main currency's mix and its mix by year."""
    summary = analysis.summary
    run = analysis.run or summary.run or {}
    ws.sheet_properties.tabColor = "2166AC"
    ws.page_setup.orientation = "landscape"  # printed: the charts fit the page width
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.column_dimensions["A"].width = 34
    for letter in "BCDEFG":
        ws.column_dimensions[letter].width = 18

    _set(ws, 1, 1, "Where the money goes").font = styles.title_font
    taxonomy = (
        f"{run.get('taxonomy_name') or summary.scale.name} {run.get('taxonomy_version') or ''}"
    )
    _set(
        ws,
        2,
        1,
        f"Taxonomy {taxonomy.strip()}; allocation policy: {summary.policy}. "
        "Measures count classified money only; coverage says how much of the in-scope money "
        "that is. Out-of-scope money is shown beside them and left out of the measures.",
    )
    currencies = summary.currencies
    row = _section(ws, 4, "Headline measures", styles)
    if not currencies:
        _set(ws, row, 1, "No grants were loaded.").font = styles.note_font
        return
    row = _write_headline(ws, row, summary, styles)

    row = _section(ws, row + 1, "Approach mix", styles)
    mix_columns = (
        Column("Category", "category", "text", 34),
        Column("Label", "label", "text", 40),
        Column("Side", "side", "text", 18),
        Column("Grants", "grants", "count", 18),
        Column("Amount", "amount", "money", 18),
        Column("Share of classified", "share_of_classified", "share", 18),
        Column("Currency", "currency", "text", 18),
    )
    _header(ws, row, mix_columns, styles)
    mix_first = row + 1
    mix = _ordered_mix(summary["approach"], summary.scale)
    last = _write_rows(ws, mix.to_dicts(), mix_columns, mix_first)
    main = summary.main_currency
    main_classified = [
        i
        for i, item in enumerate(mix.to_dicts(), start=mix_first)
        if item["currency"] == main and item["kind"] == "classified"
    ]
    chart_row = last + 3
    if len(currencies) > 1:
        _set(
            ws, last + 2, 1, f"Charts show {main}, the currency with the most money."
        ).font = styles.note_font
    if main_classified:
        headline = summary.headline(main)
        coverage = headline.get("coverage")
        covered = f"{coverage:.0%} of in-scope" if coverage is not None else "none in scope"
        subtitle = f"{main} (classified money: {covered})"
        categories = mix["category"].to_list()
        _add_mix_charts(
            ws,
            main_classified[0],
            main_classified[-1],
            subtitle,
            [colors[categories[i - mix_first]] for i in main_classified],
            chart_row,
        )
        if year_source is not None:
            _add_year_chart(ws, year_source, colors, subtitle, chart_row + 18)


def _write_headline(ws: Any, row: int, summary: Any, styles: _Styles) -> int:
    """Measures down, currencies across. Returns the row below the table."""
    currencies = summary.currencies
    headers = [Column("Measure", "", "text", 34)] + [
        Column(currency, currency, "money", 18) for currency in currencies
    ]
    _header(ws, row, headers, styles)
    lines: list[tuple[str, str, str]] = [("Grants", "grants", "count")]
    lines += [(f"{label} money", field, "money") for label, field in MONEY_MEASURES]
    lines += [("Coverage (classified / in scope)", "coverage", "share")]
    lines += [(label, field, kind) for label, field, kind in RATIO_MEASURES]
    lines += [
        ("Unclassified grants", "unclassified_grants", "count"),
        ("Out-of-scope grants", "out_of_scope_grants", "count"),
        ("Ambiguous grants", "ambiguous_grants", "count"),
    ]
    for offset, (label, field, kind) in enumerate(lines, start=1):
        _set(ws, row + offset, 1, label)
        for index, currency in enumerate(currencies, start=2):
            value = _cell_value(summary.headline(currency).get(field), kind)
            _set(ws, row + offset, index, value, _number_format(kind, currency))
    return row + len(lines) + 1


def _ordered_mix(mix: pl.DataFrame, scale: Any) -> pl.DataFrame:
    """The approach mix per currency with the classified categories first (in scale order),
    then out-of-scope and unclassified: charts take the classified rows as one range."""
    kinds = {c.id: c.kind for c in scale.categories}
    rank = {"classified": 0, "out-of-scope": 1, "unclassified": 2}
    currencies = {
        currency: i for i, currency in enumerate(mix["currency"].unique(maintain_order=True))
    }
    rows = [row | {"kind": kinds.get(row["category"], "classified")} for row in mix.to_dicts()]
    rows.sort(key=lambda r: (currencies[r["currency"]], rank[r["kind"]], r["order"] or 0))
    return (
        pl.DataFrame(rows, infer_schema_length=None)
        if rows
        else mix.with_columns(pl.lit(None, pl.String).alias("kind"))
    )


def _add_mix_charts(
    ws: Any,
    first: int,
    last: int,
    subtitle: str,
    colors: list[str],
    anchor_row: int,
) -> None:
    """A bar chart of money and a pie of shares by approach, from the mix table's cells."""
    from openpyxl.chart import BarChart, PieChart, Reference
    from openpyxl.chart.series import DataPoint

    labels = Reference(ws, min_col=2, min_row=first, max_row=last)
    amounts = Reference(ws, min_col=5, min_row=first, max_row=last)

    bar = BarChart()
    bar.type = "bar"
    bar.title = f"Money by approach, {subtitle}"
    bar.legend = None
    bar.y_axis.numFmt = "#,##0"
    bar.y_axis.title = "Amount"
    bar.x_axis.scaling.orientation = "maxMin"  # first category on top, as in the table
    bar.add_data(amounts, titles_from_data=False)
    bar.set_categories(labels)
    pie = PieChart()
    pie.title = f"Share by approach, {subtitle}"
    pie.add_data(amounts, titles_from_data=False)
    pie.set_categories(labels)
    for chart in (bar, pie):
        series = chart.series[0]
        for index, color in enumerate(colors):
            point = DataPoint(idx=index)
            point.graphicalProperties.solidFill = color
            series.dPt.append(point)
        chart.width, chart.height = 16, 8
    _hide_axes_deletion(bar)
    ws.add_chart(bar, f"A{anchor_row}")
    ws.add_chart(pie, f"D{anchor_row}")


def _add_year_chart(
    ws: Any,
    source: _ChartSource,
    colors: dict[str, str],
    subtitle: str,
    anchor_row: int,
) -> None:
    """A 100% stacked column per year of the approach mix, from the 'Approach by year' sheet."""
    from openpyxl.chart import BarChart, Reference
    from openpyxl.chart.data_source import StrRef
    from openpyxl.chart.series import SeriesLabel

    data_sheet = ws.parent[source.sheet]
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "percentStacked"
    chart.overlap = 100
    chart.title = f"Approach mix by year, {subtitle}"
    chart.y_axis.numFmt = "0%"
    for category_id, column in source.category_columns:
        data = Reference(
            data_sheet, min_col=column, min_row=source.first_row, max_row=source.last_row
        )
        chart.add_data(data, titles_from_data=False)
        series = chart.series[-1]
        title_ref = Reference(data_sheet, min_col=column, min_row=source.header_row)
        series.tx = SeriesLabel(strRef=StrRef(f"'{source.sheet}'!{_absolute(title_ref)}"))
        series.graphicalProperties.solidFill = colors.get(category_id, "808080")
        series.graphicalProperties.line.solidFill = colors.get(category_id, "808080")
    chart.set_categories(
        Reference(
            data_sheet, min_col=source.key_column, min_row=source.first_row, max_row=source.last_row
        )
    )
    chart.width, chart.height = 24, 9
    _hide_axes_deletion(chart)
    ws.add_chart(chart, f"A{anchor_row}")


def _absolute(reference: Any) -> str:
    """'$C$5' style cell address of a one-cell Reference."""
    from openpyxl.utils import absolute_coordinate, get_column_letter

    return absolute_coordinate(f"{get_column_letter(reference.min_col)}{reference.min_row}")


def _hide_axes_deletion(chart: Any) -> None:
    """openpyxl 3.1 marks axes as deleted by default; Excel then draws no axis labels."""
    chart.x_axis.delete = False
    chart.y_axis.delete = False


# --- Grants ----------------------------------------------------------------------------------


def _grants_frame(classified: pl.DataFrame, scale: Any, limit: int) -> pl.DataFrame:
    """The Grants sheet's rows: every grant, or the ``limit`` largest ones, with the side of
    its approach, cleaned for the sheet (formulas escaped, XML-illegal characters dropped)."""
    if classified.height > limit:
        classified = classified.top_k(limit, by=pl.col("amount").abs()).sort(
            pl.col("amount").abs(), descending=True, maintain_order=True
        )
    sides = {c.id: c.side for c in scale.categories if c.side}
    frame = classified.with_columns(
        pl.col("approach").replace_strict(sides, default=None, return_dtype=pl.String).alias("side")
    )
    missing = [c.field for c in GRANT_COLUMNS if c.field not in frame.columns]
    frame = frame.with_columns(pl.lit(None, pl.String).alias(name) for name in missing)
    return _clean_frame(frame.select([c.field for c in GRANT_COLUMNS]))


def _clean_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column as ``clean_text`` leaves it, vectorised."""
    from .safe import escape_formulas

    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    frame = frame.with_columns(
        pl.col(text).str.replace_all(ILLEGAL_XML, "").str.slice(0, CELL_TEXT_LIMIT)
    )
    return escape_formulas(frame)


def _write_grants_header(ws: Any, grants: pl.DataFrame, total: int, styles: _Styles) -> int:
    """The Grants sheet as openpyxl writes it: (note), header, widths, frozen panes, filter.
    The rows are spliced in after saving. Returns the header row."""
    ws.sheet_properties.tabColor = "595959"
    header_row = 1
    if grants.height < total:
        note = _set(
            ws,
            1,
            1,
            f"Truncated: this sheet shows the {grants.height:,} largest of {total:,} grants "
            "(Excel cannot hold or filter them all comfortably). Every grant is in "
            "classified.csv beside this workbook.",
        )
        note.font = styles.note_font
        header_row = 2
    _header(ws, header_row, GRANT_COLUMNS, styles)
    _filter_and_freeze(ws, header_row, header_row + grants.height, len(GRANT_COLUMNS))
    return header_row


#: Rows built and written per batch: bounds the memory of the XML text.
_XML_BATCH = 20_000


def _grant_row_xml(grants: pl.DataFrame, styles: _Styles) -> pl.Expr:
    """Expression of the SpreadsheetML ``<row>`` element of each grant (on a frame with a
    ``_row`` column of sheet row numbers). Registers the number formats it uses, so it must be
    built before the workbook is saved.

    Text is an inline string cell (``t="inlineStr"``), which a spreadsheet program can never
    read as a formula; money is a number styled with its currency's format.
    """
    currencies = grants["currency"].drop_nulls().unique().to_list()
    money_styles = {c: str(styles.style_id(money_format(c))) for c in currencies}
    default_money = str(styles.style_id(money_format(None)))
    date_style = str(styles.style_id(DATE_FORMAT))
    cells = [
        _cell_xml(column, index, money_styles, default_money, date_style)
        for index, column in enumerate(GRANT_COLUMNS)
    ]
    return pl.concat_str(
        [pl.lit('<row r="'), pl.col("_row"), pl.lit('">'), *cells, pl.lit("</row>")]
    )


def _xml_batches(grants: pl.DataFrame, first_row: int, row_xml: pl.Expr) -> Iterator[str]:
    """The rows' XML in batches, so the text of a large sheet never sits in memory whole."""
    numbered = grants.with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + first_row).cast(pl.String).alias("_row")
    )
    for offset in range(0, numbered.height, _XML_BATCH):
        batch = numbered.slice(offset, _XML_BATCH).select(row_xml).to_series()
        yield "".join(batch.to_list())


def _cell_xml(
    column: Column,
    index: int,
    money_styles: dict[str, str],
    default_money: str,
    date_style: str,
) -> pl.Expr:
    """Expression for one column's ``<c>`` elements (empty text for a null cell)."""
    from openpyxl.utils import get_column_letter

    value = pl.col(column.field)
    start = pl.lit(f'<c r="{get_column_letter(index + 1)}') + pl.col("_row")
    if column.kind == "text":
        text = (
            value.cast(pl.String)
            .str.replace_all("&", "&amp;", literal=True)
            .str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True)
        )
        xml = start + pl.lit('" t="inlineStr"><is><t xml:space="preserve">') + text
        xml = xml + pl.lit("</t></is></c>")
    elif column.kind == "money":
        style = pl.col("currency").replace_strict(
            money_styles, default=default_money, return_dtype=pl.String
        )
        xml = start + pl.lit('" s="') + style + pl.lit('"><v>') + value.cast(pl.String)
        xml = xml + pl.lit("</v></c>")
    elif column.kind == "date":
        serial = (value - pl.lit(date(1899, 12, 30))).dt.total_days().cast(pl.String)
        xml = start + pl.lit(f'" s="{date_style}"><v>') + serial + pl.lit("</v></c>")
    elif column.kind == "boolean":
        xml = start + pl.lit('" t="b"><v>') + value.cast(pl.Int8).cast(pl.String)
        xml = xml + pl.lit("</v></c>")
    else:  # integer
        xml = start + pl.lit('"><v>') + value.cast(pl.String) + pl.lit("</v></c>")
    return pl.when(value.is_null()).then(pl.lit("")).otherwise(xml)


def _splice_rows(path: Path, sheet: str, rows: Iterator[str]) -> None:
    """Add rows at the end of a saved sheet's ``sheetData``, rewriting the file in place."""
    rewritten = path.with_name(path.name + ".rows")
    try:
        with zipfile.ZipFile(path) as source:
            part = _sheet_part(source, sheet)
            head, tail = source.read(part).decode("utf-8").split("</sheetData>", 1)
            # Level 1: the sheet is large and repetitive; 3x faster than the default level.
            with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
                for item in source.infolist():
                    if item.filename == part:
                        continue
                    target.writestr(item, source.read(item.filename))
                with target.open(part, "w", force_zip64=True) as stream:
                    stream.write(_without_dimension(head).encode("utf-8"))
                    for batch in rows:
                        stream.write(batch.encode("utf-8"))
                    stream.write(("</sheetData>" + tail).encode("utf-8"))
        os.replace(rewritten, path)
    finally:
        rewritten.unlink(missing_ok=True)


def _without_dimension(sheet_head: str) -> str:
    """Drop the ``<dimension>`` openpyxl computed from the header alone (it is optional and
    would be wrong once rows are added)."""
    return re.sub(r"<dimension [^>]*/>", "", sheet_head, count=1)


def _sheet_part(package: zipfile.ZipFile, sheet: str) -> str:
    """The zip member holding a sheet, found through the workbook's relationships."""
    workbook = ElementTree.fromstring(package.read("xl/workbook.xml"))
    relationship = None
    for element in workbook.iter(f"{{{_SPREADSHEET_NS}}}sheet"):
        if element.get("name") == sheet:
            relationship = element.get(f"{{{_RELATIONSHIP_NS}}}id")
    rels = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
    for element in rels.iter(f"{{{_PACKAGE_RELS_NS}}}Relationship"):
        if element.get("Id") == relationship:
            target = element.get("Target", "")
            if target.startswith("/"):
                return target.lstrip("/")
            return str(PurePosixPath("xl") / target)
    raise RuntimeError(f"sheet {sheet!r} not found in the saved workbook")


# --- Review ----------------------------------------------------------------------------------


def review_candidates(classified: pl.DataFrame) -> pl.DataFrame:
    """Grants worth a person's look: unclassified or ambiguous (and not already decided by an
    override), most money first."""
    if classified.is_empty():
        return classified
    wanted = (pl.col("approach") == "unclassified") | pl.col("ambiguous").fill_null(False)
    if "decided_by" in classified.columns:
        wanted = wanted & (pl.col("decided_by").fill_null("") != "override")
    return classified.filter(wanted).sort(
        pl.col("amount").abs(), descending=True, nulls_last=True, maintain_order=True
    )


def _write_review(ws: Any, classified: pl.DataFrame, styles: _Styles, limit: int) -> None:
    """Grants to review, with input columns: a category dropdown, shares, reason, reviewer and
    date. ``analyzer review apply`` reads the filled-in rows back as overrides."""
    from openpyxl.worksheet.datavalidation import DataValidation

    ws.sheet_properties.tabColor = "BF9000"
    candidates = review_candidates(classified)
    total = candidates.height
    candidates = candidates.head(limit)
    instructions = (
        "For each grant you decide: pick a category (or write shares such as "
        "'intervention:0.6;resilience-building:0.4'), give a reason, your name and the date. "
        "Then save and run: analyzer review apply workbook.xlsx -o overrides.csv"
    )
    if total == 0:
        instructions = "Nothing to review: no grant is unclassified or ambiguous."
    elif total > limit:
        instructions += (
            f"  Showing the {limit:,} grants with the most money of {total:,} to review; the "
            "rest are in classified.csv (approach 'unclassified' or ambiguous true)."
        )
    _set(ws, 1, 1, instructions).font = styles.note_font
    header_row = 2
    columns = (*REVIEW_COLUMNS, *REVIEW_INPUT_COLUMNS)
    _header(ws, header_row, columns, styles)
    last = _write_rows(ws, candidates.to_dicts(), REVIEW_COLUMNS, header_row + 1)
    last = max(last, header_row + 1)  # one empty input row even with nothing to review
    first_input = len(REVIEW_COLUMNS) + 1
    for row in range(header_row + 1, last + 1):
        for column in range(first_input, first_input + len(REVIEW_INPUT_COLUMNS)):
            ws.cell(row=row, column=column).fill = styles.input_fill
        ws.cell(
            row=row, column=first_input + len(REVIEW_INPUT_COLUMNS) - 1
        ).number_format = DATE_FORMAT
    from openpyxl.utils import get_column_letter

    letter = get_column_letter(first_input)
    dropdown = DataValidation(
        type="list",
        formula1=CATEGORY_LIST_NAME,
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Unknown category",
        error="Pick one of the taxonomy's categories from the list (see the Taxonomy sheet).",
        promptTitle="Category",
        prompt="The category this grant should have.",
    )
    dropdown.add(f"{letter}{header_row + 1}:{letter}{last}")
    ws.add_data_validation(dropdown)
    _filter_and_freeze(ws, header_row, last, len(columns))


# --- Data quality ----------------------------------------------------------------------------


def _write_data_quality(ws: Any, analysis: Any, styles: _Styles) -> None:
    """Sources with counts and totals, currencies, rows not loaded (summed and one by one),
    and the notes taken while reading."""
    summary = analysis.summary
    ws.sheet_properties.tabColor = "7F7F7F"
    _set(ws, 1, 1, "Data quality").font = styles.title_font
    _set(
        ws,
        2,
        1,
        "Every input row is either loaded or listed here with the reason it was not: rows seen "
        "= loaded + excluded (blank, total and header rows) + rejected (unreadable values).",
    )
    row = _section(ws, 4, "Files and sheets read", styles)
    source_columns = (
        Column("File", "file", "text", 30),
        Column("Sheet", "sheet", "text", 16),
        Column("Format", "format", "text", 12),
        Column("Header row", "header_row", "integer", 10),
        Column("Preset", "preset", "text", 14),
        Column("Rows seen", "rows_seen", "count", 11),
        Column("Loaded", "rows_loaded", "count", 11),
        Column("Excluded", "rows_excluded", "count", 11),
        Column("Rejected", "rows_rejected", "count", 11),
    )
    _, last = _table(ws, summary["sources"], source_columns, row, styles, what="sources")

    row = _section(ws, last + 2, "Money loaded per file and currency", styles)
    totals_columns = (
        Column("File", "source_file", "text", 30),
        Column("Sheet", "source_sheet", "text", 16),
        Column("Currency", "currency", "text", 12),
        Column("Grants", "grants", "count", 10),
        Column("Total", "total", "money", 16),
    )
    _, last = _table(ws, _source_totals(analysis.classified), totals_columns, row, styles)

    row = _section(ws, last + 2, "Currencies", styles)
    currency_columns = (
        Column("Currency", "currency", "text", 30),
        Column("Grants", "grants", "count", 16),
        Column("Total", "total", "money", 12),
        Column("Negative grants", "negative_grants", "count", 10),
        Column("Negative total", "negative_total", "money", 16),
        Column("Zero grants", "zero_grants", "count", 10),
    )
    _, last = _table(ws, summary["currencies"], currency_columns, row, styles)

    row = _section(ws, last + 2, "Notes taken while reading", styles)
    note_columns = (
        Column("File", "file", "text", 30),
        Column("Sheet", "sheet", "text", 16),
        Column("Note", "note", "text", 60),
    )
    _, last = _table(ws, _source_notes(analysis.sources), note_columns, row, styles)

    row = _section(ws, last + 2, "Rows not loaded, by reason", styles)
    reason_columns = (
        Column("File", "file", "text", 30),
        Column("Sheet", "sheet", "text", 16),
        Column("Disposition", "disposition", "text", 12),
        Column("Reason", "reason", "text", 40),
        Column("Rows", "rows", "count", 10),
        Column("First row", "first_row", "integer", 10),
    )
    _, last = _table(ws, summary["rejects"], reason_columns, row, styles)

    row = _section(ws, last + 2, "Every row not loaded", styles)
    reject_columns = (
        Column("File", "source_file", "text", 30),
        Column("Sheet", "source_sheet", "text", 16),
        Column("Row", "source_row", "integer", 12),
        Column("Disposition", "disposition", "text", 12),
        Column("Reason", "reason", "text", 40),
        Column("Column", "column", "text", 20),
        Column("Value", "value", "text", 24),
    )
    header_row, last = _table(
        ws, analysis.rejects, reject_columns, row, styles, what="rows not loaded"
    )
    _filter_and_freeze(ws, header_row, last, len(reject_columns))
    ws.freeze_panes = None  # several tables: freezing one header would hide the others


def _source_totals(classified: pl.DataFrame) -> pl.DataFrame:
    """Grants and exact money loaded per file, sheet and currency."""
    if classified.is_empty():
        return pl.DataFrame(
            schema={
                "source_file": pl.String,
                "source_sheet": pl.String,
                "currency": pl.String,
                "grants": pl.UInt32,
                "total": pl.Decimal(38, 2),
            }
        )
    return (
        classified.group_by("source_file", "source_sheet", "currency", maintain_order=True)
        .agg(pl.len().alias("grants"), pl.col("amount").sum().alias("total"))
        .sort("source_file", "source_sheet", "currency", nulls_last=True, maintain_order=True)
    )


def _source_notes(sources: pl.DataFrame) -> pl.DataFrame:
    """One row per note of each file and sheet (the store keeps them as a JSON list)."""
    from .store import decode_notes

    rows = []
    if "notes" in sources.columns:
        rows = [
            {"file": source.get("file_name"), "sheet": source.get("sheet"), "note": note}
            for source in sources.iter_rows(named=True)
            for note in decode_notes(source.get("notes"))
        ]
    return pl.DataFrame(rows, schema={"file": pl.String, "sheet": pl.String, "note": pl.String})


# --- Taxonomy --------------------------------------------------------------------------------


def _write_taxonomy(ws: Any, analysis: Any, styles: _Styles) -> str:
    """The taxonomy that decided: its categories (labels, definitions, sides) and its rules
    (phrases, fields, context). Returns the range listing the categories a reviewer may pick."""
    summary = analysis.summary
    run = analysis.run or summary.run or {}
    ws.sheet_properties.tabColor = "548235"
    _set(ws, 1, 1, "Taxonomy").font = styles.title_font
    facts = [
        ("Name", run.get("taxonomy_name") or summary.scale.name),
        ("Version", run.get("taxonomy_version")),
        ("SHA-256", run.get("taxonomy_sha256")),
        ("Rules", run.get("rule_count")),
        ("Allocation policy", summary.policy),
        ("Overrides", run.get("overrides_path")),
        ("Overridden grants", run.get("override_count")),
    ]
    for offset, (label, value) in enumerate(facts, start=2):
        _set(ws, offset, 1, label).font = styles.header_font
        _set(ws, offset, 2, value)

    row = _section(ws, len(facts) + 3, "Categories", styles)
    category_columns = (
        Column("Category", "id", "text", 24),
        Column("Label", "label", "text", 30),
        Column("Dimension", "dimension", "text", 16),
        Column("Side", "side", "text", 12),
        Column("Order", "order", "integer", 8),
        Column("Definition", "definition", "text", 70),
    )
    categories = _category_rows(summary.scale, analysis.taxonomy)
    _header(ws, row, category_columns, styles)
    last = _write_rows(ws, categories, category_columns, row + 1)
    choosable = sum(1 for c in categories if c["choosable"])
    category_range = f"'{ws.title}'!$A${row + 1}:$A${row + choosable}"

    row = _section(ws, last + 2, "Rules", styles)
    rule_columns = (
        Column("Rule", "id", "text", 24),
        Column("Category", "category", "text", 24),
        Column("Dimension", "dimension", "text", 16),
        Column("Phrases", "phrases", "text", 70),
        Column("Patterns", "patterns", "text", 24),
        Column("Fields", "fields", "text", 24),
        Column("Requires", "requires", "text", 20),
        Column("Unless", "unless", "text", 20),
        Column("Weight", "weight", "ratio", 8),
    )
    rules = taxonomy_rules(analysis.taxonomy)
    if rules:
        _header(ws, row, rule_columns, styles)
        _write_rows(ws, rules, rule_columns, row + 1)
    else:
        _set(ws, row, 1, "The rules are not available for this analysis.").font = styles.note_font
    return category_range


def _category_rows(scale: Any, taxonomy: Any) -> list[dict[str, Any]]:
    """The primary dimension's categories a reviewer may choose first (they feed the Review
    dropdown), then unclassified, then the other dimensions' categories."""
    primary = getattr(getattr(taxonomy, "primary", None), "id", None) or "approach"
    rows: list[dict[str, Any]] = []
    for category in scale.categories:
        rows.append(
            {
                "id": category.id,
                "label": category.label,
                "dimension": primary,
                "side": category.side,
                "order": category.order,
                "definition": category.definition,
                "choosable": category.kind != "unclassified",
            }
        )
    rows.sort(key=lambda r: not r["choosable"])  # stable: scale order within each group
    definitions = taxonomy_definitions(taxonomy)
    for dimension, labels in scale.labels.items():
        for category_id, label in labels.items():
            rows.append(
                {
                    "id": category_id,
                    "label": label,
                    "dimension": dimension,
                    "side": None,
                    "order": None,
                    "definition": definitions.get((dimension, category_id), ""),
                    "choosable": False,
                }
            )
    return rows


def taxonomy_rules(taxonomy: Any) -> list[dict[str, Any]]:
    """The rules of a loaded taxonomy (``taxonomy.Taxonomy``) as rows: id, category,
    dimension, phrases, patterns, the fields it reads, requires, unless (';'-joined) and
    weight. Empty when the analysis carries no taxonomy."""
    rows = []
    for rule in getattr(taxonomy, "rules", None) or []:
        fields = _attr(rule, "fields")
        if hasattr(taxonomy, "rule_fields"):
            fields = taxonomy.rule_fields(rule)  # the rule's, its dimension's or the default
        rows.append(
            {
                "id": _attr(rule, "id"),
                "category": _attr(rule, "category"),
                "dimension": _attr(rule, "dimension"),
                "phrases": _joined(_attr(rule, "phrases")),
                "patterns": _joined(_attr(rule, "patterns")),
                "fields": _joined(fields),
                "requires": _joined(_attr(rule, "requires")),
                "unless": _joined(_attr(rule, "unless")),
                "weight": _attr(rule, "weight"),
            }
        )
    return rows


def taxonomy_definitions(taxonomy: Any) -> dict[tuple[str, str], str]:
    """(dimension, category id) -> definition, from a loaded taxonomy's dimensions."""
    out: dict[tuple[str, str], str] = {}
    for dimension_id, dimension in (getattr(taxonomy, "dimensions", None) or {}).items():
        categories = _attr(dimension, "categories") or {}
        for category in categories.values() if isinstance(categories, dict) else categories:
            if _attr(category, "definition"):
                out[(dimension_id, _attr(category, "id"))] = _attr(category, "definition")
    return out


def _attr(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _joined(values: Any) -> str | None:
    if values is None:
        return None
    if isinstance(values, str):
        return values
    return "; ".join(str(v) for v in values)


def _define_category_list(workbook: Any, cells: str) -> None:
    """Name the category cells so the Review dropdown reads ``=ReviewCategories``."""
    from openpyxl.workbook.defined_name import DefinedName

    workbook.defined_names[CATEGORY_LIST_NAME] = DefinedName(CATEGORY_LIST_NAME, attr_text=cells)
