"""The workbook: sheets, headers and values (not bytes), formats, filters, the Review sheet's
dropdown, formula safety and truncation."""

from __future__ import annotations

import re
import zipfile
from decimal import Decimal

import openpyxl
import polars as pl
import pytest
from workbook_support import default_grants, grant, make_analysis

from analyzer import workbook as wbmod
from analyzer.workbook import (
    CATEGORY_LIST_NAME,
    GRANT_COLUMNS,
    SHEETS,
    clean_text,
    money_format,
    write_workbook,
)

HOSTILE = {
    "description": '=HYPERLINK("http://evil","x")',
    "title": "@SUM(1)",
    "recipient": "+1",
    "funder": "-2+3",
    "program": "\t=1",
}


@pytest.fixture
def written(tmp_path):
    path = write_workbook(tmp_path / "workbook.xlsx", make_analysis())
    return openpyxl.load_workbook(path)


def rows(ws, first: int = 1) -> list[tuple]:
    return [
        r for r in ws.iter_rows(min_row=first, values_only=True) if any(v is not None for v in r)
    ]


def header_index(ws, row: int) -> dict[str, int]:
    return {c.value: c.column for c in ws[row] if c.value is not None}


def test_sheets_in_order(written):
    assert written.sheetnames == list(SHEETS)


def test_grants_sheet_has_every_grant_with_classification(written):
    ws = written["Grants"]
    assert [c.value for c in ws[1]] == [c.header for c in GRANT_COLUMNS]
    data = rows(ws, 2)
    assert len(data) == len(default_grants())
    cols = header_index(ws, 1)
    by_id = {r[cols["Record ID"] - 1]: r for r in data}
    row = by_id["grants.csv:3"]
    assert row[cols["Approach"] - 1] == "structural-prevention"
    assert row[cols["Side"] - 1] == "causes"
    assert row[cols["Shares"] - 1] == "structural-prevention:0.6;resilience-building:0.4"
    assert row[cols["Ambiguous"] - 1] is True
    assert row[cols["Explanation"] - 1] == "task-force: 'task force' in title"
    assert by_id["grants.csv:4"][cols["Decided by"] - 1] == "none"
    assert by_id["grants.csv:1"][cols["Year"] - 1] == 2019
    assert by_id["grants.csv:1"][cols["Source row"] - 1] == 1


def test_grants_amounts_are_numbers_with_currency_formats(written):
    ws = written["Grants"]
    cols = header_index(ws, 1)
    amount, currency = cols["Amount"], cols["Currency"]
    seen = {}
    for r in range(2, ws.max_row + 1):
        cell = ws.cell(row=r, column=amount)
        if cell.value is None:
            continue
        assert cell.data_type == "n"
        seen[ws.cell(row=r, column=currency).value] = cell.number_format
        if ws.cell(row=r, column=1).value == "grants.csv:2":
            assert Decimal(str(cell.value)) == Decimal("3000.50")
        if ws.cell(row=r, column=1).value == "grants.csv:6":
            assert cell.value == -100
    assert seen == {"USD": '"$"#,##0.00', "GBP": '"£"#,##0.00'}
    start = ws.cell(row=2, column=cols["Start date"])
    assert start.is_date and start.number_format == "yyyy-mm-dd"


def test_grants_header_frozen_filtered_and_sized(written):
    ws = written["Grants"]
    assert ws.freeze_panes == "A2"
    last = openpyxl.utils.get_column_letter(len(GRANT_COLUMNS))
    assert ws.auto_filter.ref == f"A1:{last}{1 + len(default_grants())}"
    description = header_index(ws, 1)["Description"]
    assert ws.column_dimensions[openpyxl.utils.get_column_letter(description)].width >= 40


def test_grants_sheet_truncated_above_the_limit(tmp_path):
    analysis = make_analysis()
    path = write_workbook(tmp_path / "w.xlsx", analysis, grants_row_limit=3)
    ws = openpyxl.load_workbook(path)["Grants"]
    note = ws["A1"].value
    assert "Truncated" in note and "3 largest of 7" in note and "classified.csv" in note
    assert ws["A2"].value == "Record ID"
    assert ws.freeze_panes == "A3"
    assert ws.auto_filter.ref.startswith("A2:") and ws.auto_filter.ref.endswith("5")
    data = rows(ws, 3)
    assert len(data) == 3
    amount = header_index(ws, 2)["Amount"] - 1
    assert [r[amount] for r in data] == [5000, 3000.5, 2000]


def test_no_formula_from_the_input_anywhere(tmp_path):
    hostile = grant(7, approach="unclassified", decided_by="none", amount="99999.00", **HOSTILE)
    analysis = make_analysis([*default_grants(), hostile])
    path = write_workbook(tmp_path / "w.xlsx", analysis)

    with zipfile.ZipFile(path) as package:
        for name in package.namelist():
            if name.startswith("xl/worksheets/"):
                assert (
                    "<f>" not in package.read(name).decode()
                    and "<f " not in package.read(name).decode()
                ), name

    book = openpyxl.load_workbook(path)
    found = set()
    for ws in book:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), (
                        ws.title,
                        cell.coordinate,
                        cell.value,
                    )
                    found.add((ws.title, cell.value))
    assert ("Grants", "'" + HOSTILE["description"]) in found
    assert ("Grants", "'@SUM(1)") in found
    assert ("Grants", "'+1") in found
    assert ("Grants", "'\t=1") in found
    assert ("Review", "'" + HOSTILE["description"]) in found
    assert ("By funder", "'-2+3") in found


def test_xml_illegal_characters_are_dropped_not_fatal(tmp_path):
    odd = grant(7, description="bell\x07 and nul\x00 & <tag> kept")
    path = write_workbook(tmp_path / "w.xlsx", make_analysis([odd]))
    ws = openpyxl.load_workbook(path)["Grants"]
    description = header_index(ws, 1)["Description"]
    assert ws.cell(row=2, column=description).value == "bell and nul & <tag> kept"


def test_review_sheet_lists_unclassified_and_ambiguous_with_dropdown(written):
    ws = written["Review"]
    assert "analyzer review apply" in ws["A1"].value
    cols = header_index(ws, 2)
    for name in (
        "Record ID",
        "Your category",
        "Your shares (optional)",
        "Reason",
        "Reviewer",
        "Date",
    ):
        assert name in cols
    data = rows(ws, 3)
    assert [r[0] for r in data] == ["grants.csv:3", "grants.csv:4"]  # most money first
    assert ws.freeze_panes == "A3"
    validations = ws.data_validations.dataValidation
    assert len(validations) == 1
    dropdown = validations[0]
    assert dropdown.type == "list" and dropdown.formula1 == CATEGORY_LIST_NAME
    letter = openpyxl.utils.get_column_letter(cols["Your category"])
    assert str(dropdown.sqref) == f"{letter}3:{letter}4"

    sheet, cells = next(iter(written.defined_names[CATEGORY_LIST_NAME].destinations))
    listed = [c.value for row in written[sheet][cells.replace("$", "")] for c in row]
    assert listed == [
        "response",
        "intervention",
        "resilience-building",
        "structural-prevention",
        "out-of-scope",
    ]


def test_review_sheet_is_capped_most_money_first(tmp_path):
    many = [
        grant(i, approach="unclassified", decided_by="none", amount=f"{i + 1}.00") for i in range(6)
    ]
    path = write_workbook(tmp_path / "w.xlsx", make_analysis(many), review_row_limit=2)
    ws = openpyxl.load_workbook(path)["Review"]
    assert "Showing the 2 grants with the most money of 6" in ws["A1"].value
    assert [r[0] for r in rows(ws, 3)] == ["grants.csv:6", "grants.csv:5"]


def test_summary_headline_per_currency_with_coverage_and_out_of_scope(written):
    ws = written["Summary"]
    lines = {r[0]: r[1:] for r in rows(ws) if r[0]}
    currencies = next(r for r in rows(ws) if r[0] == "Measure")
    assert currencies[1:3] == ("USD", "GBP")
    assert lines["Total money"][:2] == (11050.75, 900)
    assert lines["Out of scope money"][0] == 400
    assert lines["Classified money"][0] == 9900.5
    assert lines["Coverage (classified / in scope)"][0] == pytest.approx(9900.5 / 10650.75)
    assert lines["Prevention share"][0] == pytest.approx(1900 / 9900.5)
    total_row = next(r for r in range(1, 20) if ws.cell(row=r, column=1).value == "Total money")
    assert ws.cell(row=total_row, column=2).number_format == money_format("USD")
    assert ws.cell(row=total_row, column=3).number_format == money_format("GBP")


def test_summary_has_native_charts_referencing_cells(written):
    charts = written["Summary"]._charts
    kinds = sorted(type(c).__name__ for c in charts)
    assert kinds == ["BarChart", "BarChart", "PieChart"]
    refs = [s.val.numRef.f for c in charts for s in c.series]
    assert any(ref.startswith("'Summary'!$E$") for ref in refs)
    year_refs = [r for r in refs if r.startswith("'Approach by year'!")]
    assert len(year_refs) == 4  # one series per classified category
    titles = " ".join(str(c.title.tx.rich.p[0].r[0].t) for c in charts)
    assert titles.count("classified money: 93% of in-scope") == 3  # coverage on every chart
    year_chart = next(c for c in charts if getattr(c, "grouping", None) == "percentStacked")
    colors = [s.graphicalProperties.solidFill.srgbClr for s in year_chart.series]
    assert colors[0] == "B2182B" and colors[-1] == "2166AC"  # response warm, structural cool


def test_group_sheets_add_up(written):
    for name in ("Approach by year", "By funder", "By state"):
        ws = written[name]
        cols = header_index(ws, 3)
        assert ws.freeze_panes == "A4" and ws.auto_filter.ref.startswith("A3:")
        categories = [
            "Responding to exploitation",
            "Serving victims",
            "Building resilience",
            "Structural prevention",
        ]
        for r in rows(ws, 4):
            parts = sum(Decimal(str(r[cols[c] - 1])) for c in categories)
            assert parts == Decimal(str(r[cols["Classified"] - 1]))
            total = Decimal(str(r[cols["Total"] - 1]))
            assert total == Decimal(str(r[cols["In scope"] - 1])) + Decimal(
                str(r[cols["Out of scope"] - 1])
            )


def test_data_quality_lists_rows_not_loaded_sources_and_notes(written):
    ws = written["Data quality"]
    values = [v for r in rows(ws) for v in r if v is not None]
    assert "amount is not a number" in values and "total row" in values
    assert "'=1+1" in values  # the rejected cell, escaped
    assert "assumed currency USD" in values
    detail = next(r for r in rows(ws) if r[:3] == ("grants.csv", None, 10))
    assert detail[3:7] == ("rejected", "amount is not a number", "Amount", "'=1+1")
    totals = [r for r in rows(ws) if r[0] == "grants.csv" and r[2] in ("USD", "GBP")]
    assert {(r[2], r[4]) for r in totals} == {("USD", 11050.75), ("GBP", 900)}


def test_taxonomy_sheet_has_categories_and_rules(written):
    ws = written["Taxonomy"]
    data = rows(ws)
    assert data[2][:2] == ("Version", "1.0")
    response = next(r for r in data if r[0] == "response")
    assert response[1:4] == ("Responding to exploitation", "approach", "symptoms")
    rule = next(r for r in data if r[0] == "task-force")
    assert rule[1] == "response" and rule[3] == "task force; ICAC" and rule[8] == 2


def test_empty_portfolio_still_writes(tmp_path):
    path = write_workbook(tmp_path / "w.xlsx", make_analysis([], rejects=[]))
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == list(SHEETS)
    assert rows(book["Grants"], 2) == []
    assert "No grants" in " ".join(str(v) for r in rows(book["Summary"]) for v in r if v)
    assert book["Review"]["A1"].value.startswith("Nothing to review")
    assert rows(book["Review"], 3) == []


def test_calamine_reads_the_grants_sheet(tmp_path):
    """A second, independent reader sees the spliced rows the same way."""
    path = write_workbook(tmp_path / "w.xlsx", make_analysis())
    frame = pl.read_excel(path, sheet_name="Grants", infer_schema_length=0)
    assert frame.height == len(default_grants())
    assert frame["Amount"].to_list()[:2] == ["5000", "3000.5"]


def test_clean_text_and_formats():
    assert clean_text("=1+1") == "'=1+1"
    assert clean_text("x\x01y") == "xy"
    assert len(clean_text("a" * 40_000)) == wbmod.CELL_TEXT_LIMIT
    assert money_format("SEK") == '#,##0.00 "SEK"'
    assert money_format('U"S') == '#,##0.00 "US"'
    assert re.fullmatch(r'"\$"#,##0\.00', money_format("USD"))
