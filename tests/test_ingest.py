"""The ingest API: every row accounted for, exact totals, clear errors, an unchanged store."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from analyzer import store
from analyzer.errors import (
    AlreadyLoadedError,
    AnalyzerError,
    ColumnMappingError,
    HeaderNotFoundError,
    InputFileError,
    UnknownSheetError,
)
from analyzer.ingest import export, ingest, inspect, read_files, summary
from analyzer.schema import CLASSIFICATION_EXPORT_COLUMNS, EXPORT_COLUMNS, GRANTS_SCHEMA

# What a person reading messy_grants.xlsx by hand finds on sheet "FY2024 Grants"
# (see tests/fixtures/make_fixtures.py for the rows): row -> amount of every grant row.
FY2024_LOADED = {
    5: Decimal("1200000.00"),
    6: Decimal("30000.00"),  # "Total Community Care Inc" is a grantee, not a total
    7: Decimal("-15000.00"),
    9: Decimal("1200000.00"),
    12: Decimal("15000.00"),
    15: Decimal("1234.50"),
    16: Decimal("0.00"),
    17: Decimal("1000.00"),
}
FY2024_NOT_LOADED = {
    8: ("excluded", "blank row"),
    10: ("excluded", "total or subtotal row"),
    11: ("excluded", "repeated header row"),
    13: ("rejected", "amount is not a number"),
    14: ("rejected", "amount has a fraction of a cent"),
    18: ("excluded", "total or subtotal row"),
    19: ("excluded", "note or section heading (one cell, no amount)"),
}


def reports_by_sheet(result) -> dict:
    return {r.sheet: r for r in result.reports}


def test_messy_workbook_reconciles(fixtures: Path) -> None:
    result = read_files([fixtures / "messy_grants.xlsx"])
    report = reports_by_sheet(result)["FY2024 Grants"]
    grants = result.grants.filter(pl.col("source_sheet") == "FY2024 Grants")
    assert dict(grants.select("source_row", "amount").rows()) == FY2024_LOADED
    rejects = result.rejects.filter(pl.col("source_sheet") == "FY2024 Grants")
    found = rejects.select("source_row", "disposition", "reason").rows()
    assert {row: (disposition, why) for row, disposition, why in found} == FY2024_NOT_LOADED
    assert report.header_row == 4
    assert report.rows_seen == 15 == len(FY2024_LOADED) + len(FY2024_NOT_LOADED)
    assert (report.rows_loaded, report.rows_excluded, report.rows_rejected) == (8, 5, 2)
    assert report.totals == {"USD": sum(FY2024_LOADED.values())}
    assert report.excluded_reasons["total or subtotal row"] == 2


def test_messy_workbook_values_and_provenance(fixtures: Path) -> None:
    grants = read_files([fixtures / "messy_grants.xlsx"]).grants
    first = grants.row(0, named=True)
    assert first["record_id"] == "messy_grants.xlsx:FY2024 Grants:5"
    assert (first["grant_id"], first["recipient"], first["state"]) == (
        "SF-001",
        "Safe Harbor Youth",
        "MN",
    )
    assert first["start_date"] == date(2023, 11, 15) and first["year"] == 2023
    assert json.loads(first["original"])["Amount"] == "$1,200,000.00"
    by_row = {
        r["source_row"]: r
        for r in grants.filter(pl.col("source_sheet") == "FY2024 Grants").to_dicts()
    }
    assert by_row[7]["flags"] == "negative"
    assert by_row[16]["flags"] == "zero"
    assert by_row[12]["flags"] == "start_date_unreadable" and by_row[12]["start_date"] is None
    assert by_row[6]["state"] == "NY" and by_row[9]["state"] == "TX"
    assert grants["record_id"].n_unique() == grants.height
    assert grants.schema == pl.Schema(GRANTS_SCHEMA)


def test_merged_cells_read_as_a_person_sees_them(fixtures: Path) -> None:
    """A programme merged down over its grants names each of them; an amount merged over a
    joint grant's two rows is counted once; merges across columns or in the header change
    nothing."""
    result = read_files([fixtures / "merged_cells.xlsx"])
    grants = result.grants.select("source_row", "recipient", "description", "program", "amount")
    assert grants.rows() == [
        (5, "Harbor House", "Street outreach", "Runaway and Homeless Youth", Decimal("50000")),
        (6, "Safe Place", "Emergency shelter", "Runaway and Homeless Youth", Decimal("75000")),
        (7, "Open Door", "Transitional living", "Runaway and Homeless Youth", Decimal("25000")),
        (8, "Bright Futures", "Mentoring", "Prevention", Decimal("40000")),
        (10, "Healthy Teens", "Healthy relationships curriculum, two schools", "Prevention",
         Decimal("10000")),
    ]  # fmt: skip
    joint = result.rejects.filter(pl.col("source_row") == 9).row(0, named=True)
    assert joint["disposition"] == "excluded" and joint["column"] == "Amount"
    assert joint["reason"] == "under a merged amount (counted once, on the merge's first row)"
    assert json.loads(joint["original"])["Recipient"] == "Bright Futures Partner"
    (report,) = result.reports
    # The sheet's own TOTAL row says 200,000: the joint grant is not counted twice.
    assert report.totals == {"USD": Decimal("200000")}
    assert report.rows_seen == report.rows_loaded + report.rows_excluded == 5 + 3
    assert "2 cell(s) under merged cells given the merged value ('Program')" in report.notes


def test_formulas_without_saved_values_are_named_not_read_as_empty(fixtures: Path) -> None:
    """A workbook written by a program that does not calculate (openpyxl) holds formulas and
    no values: calamine reads those cells as empty. An amount so read is rejected with that
    reason; a text so read is counted in a note. Saved by a spreadsheet program, the same
    sheet loads whole."""
    unsaved = read_files([fixtures / "unsaved_formulas.xlsx"])
    assert unsaved.rejects.select("source_row", "disposition", "reason").rows() == [
        (2, "rejected", "amount is a formula with no saved value (open the file in a "
         "spreadsheet program and save it, so that its values are stored)"),
        (5, "excluded", "total or subtotal row"),
    ]  # fmt: skip
    assert unsaved.grants.select("recipient", "amount").rows() == [
        ("Safe Place", Decimal("500")),
        (None, Decimal("200")),
    ]
    assert unsaved.reports[0].notes[0] == (
        "1 cell(s) hold a formula with no saved value and were read as empty ('Recipient'); "
        "open the file in a spreadsheet program and save it to store the values"
    )
    saved = read_files([fixtures / "saved_formulas.xlsx"])
    assert saved.grants.select("recipient", "amount").rows() == [
        ("Harbor House", Decimal("1000")),
        ("Safe Place", Decimal("500")),
        ("OPEN DOOR", Decimal("200")),
    ]
    assert not any("formula" in note for note in saved.reports[0].notes)
    assert saved.reports[0].totals == {"USD": Decimal("1700")}


def test_hidden_rows_are_read_flagged_and_said(tmp_path: Path) -> None:
    """Rows someone hid are read like the others (nothing is dropped on a guess), flagged
    hidden_row, and the report says which; hidden columns are named in a note."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Recipient", "Internal notes", "Amount"])
    for number in range(2, 8):
        sheet.append([f"Org {number}", "declined" if number in (3, 5) else "", number * 100])
    sheet.row_dimensions[3].hidden = True
    sheet.row_dimensions[5].hidden = True
    sheet.column_dimensions["B"].hidden = True
    path = tmp_path / "hidden.xlsx"
    book.save(path)
    result = read_files([path])
    flagged = result.grants.filter(pl.col("flags") == "hidden_row")
    assert flagged.get_column("source_row").to_list() == [3, 5]
    report = result.reports[0]
    assert report.totals == {"USD": Decimal("2700")}  # hidden rows included, as read
    assert report.notes[:2] == [
        "2 row(s) are hidden in the workbook (rows 3, 5); they were read like the others, and "
        "loaded ones are flagged hidden_row",
        "hidden column(s) read like the others: 'Internal notes'",
    ]


def test_a_decimal_comma_column_reads_exactly(tmp_path: Path) -> None:
    path = tmp_path / "stiftung.csv"
    path.write_text(
        "Empfänger;Betrag;Datum\n"
        "Kinderschutz e.V.;1.234,50 €;15.01.2024\n"
        "Jugendhilfe gGmbH;(2.000,00) €;01.02.2024\n"
        "Beratung;1,5M €;03.03.2024\n"
        "Schule;12,3456 €;04.03.2024\n",
        encoding="utf-8",
    )
    result = read_files([path], mapping={"amount": "Betrag", "recipient": "Empfänger"})
    assert result.grants.get_column("amount").to_list() == [
        Decimal("1234.50"), Decimal("-2000.00"), Decimal("1500000.00"),
    ]  # fmt: skip
    (rejected,) = result.rejects.rows(named=True)
    assert rejected["reason"] == "amount has a fraction of a cent"
    assert rejected["value"] == "12,3456 €"  # as written in the file
    assert result.reports[0].totals == {"EUR": Decimal("-765.50") + Decimal("1500000")}
    assert (
        "amounts in 'Betrag' are written with a decimal comma (1.234,50 is read as 1234.50)"
        in result.reports[0].notes
    )


def test_a_header_in_thousands_scales_its_amounts(tmp_path: Path) -> None:
    """A budget table's "$000s" column holds 1,200 for $1.2M: read at face value it would be
    a thousand times too small."""
    path = tmp_path / "budget.csv"
    path.write_text(
        'Program,Award ($000s)\nYouth shelter,"1,200"\nPrevention,(50)\nMentoring,0.5\n'
    )
    result = read_files([path])
    assert result.grants.get_column("amount").to_list() == [
        Decimal("1200000"), Decimal("-50000"), Decimal("500"),
    ]  # fmt: skip
    assert result.reports[0].totals == {"USD": Decimal("1150500")}
    assert (
        "the header 'Award ($000s)' says amounts are in thousands: 1,200 is read as 1,200 thousand"
        in result.reports[0].notes
    )


@pytest.mark.parametrize(
    ("text", "column", "values", "note"),
    [
        pytest.param(
            "State Youth Services Grants FY2025\n(Dollars in Thousands)\n\n"
            'Program,Recipient,Award\nShelter,Org A,"1,200"\nPrevention,Org B,50.5\n',
            "amount",
            [Decimal("1200000"), Decimal("50500")],
            "the title on row 2 ('(Dollars in Thousands)') says amounts are in thousands: "
            "1,200 is read as 1,200 thousand",
            id="a title in thousands",
        ),
        pytest.param(
            "Recipient,Fiscal Year,Amount\nA,2018-19,10\nB,FY 2019/20,20\nC,2021,30\n",
            "year",
            [2019, 2020, 2021],
            "fiscal years written as two years in 'Fiscal Year' (2018-19) are named by the year "
            "they end in (2019), as federal fiscal years are",
            id="fiscal years as two years",
        ),
        pytest.param(
            "Recipient,Amount,Award Date\nA,10,45292\nB,20,45300.0\nC,30,\n",
            "start_date",
            [date(2024, 1, 1), date(2024, 1, 9), None],
            "dates in 'Award Date' are Excel day numbers (45292 is 2024-01-01)",
            id="excel day numbers",
        ),
    ],
)
def test_what_the_sheet_says_about_its_values_is_read_and_noted(
    tmp_path: Path, text: str, column: str, values: list, note: str
) -> None:
    path = tmp_path / "sheet.csv"
    path.write_text(text)
    result = read_files([path])
    assert result.grants.get_column(column).to_list() == values
    assert note in result.reports[0].notes


def test_a_table_of_one_amount_column_per_year(tmp_path: Path) -> None:
    """Reading one year of such a table is the user's choice, never a guess; the year then
    comes from the chosen column's header."""
    path = tmp_path / "wide.csv"
    path.write_text(
        'Program,Recipient,FY2022,FY 2023,FY2024\nShelter,Org A,"100,000","110,000","120,000"\n'
        "Prevention,Org B,50000,,60000\n"
    )
    with pytest.raises(ColumnMappingError) as caught:
        read_files([path])
    assert caught.value.message == (
        "no amount column found; the columns 'FY2022', 'FY 2023', 'FY2024' look like one amount "
        "column per year"
    )
    assert '--map amount="FY2024"' in caught.value.hint
    assert "--years-in-columns" in caught.value.hint
    result = read_files([path], mapping={"amount": "FY2024"})
    assert result.grants.select("amount", "year").rows() == [
        (Decimal("120000"), 2024), (Decimal("60000"), 2024),
    ]  # fmt: skip
    assert (
        "no year or date column; every grant's year is 2024, from the amount column's header "
        "'FY2024'" in result.reports[0].notes
    )


WIDE = (
    'Program,Recipient,FY2022,FY 2023,FY2024\nShelter,Org A,"100,000","110,000","120,000"\n'
    "Prevention,Org B,50000,,TBD\nProgram,Recipient,FY2022,FY 2023,FY2024\n"
    "Total,,150000,110000,120000\n"
)


def test_years_in_columns_reads_one_grant_per_row_and_year(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(WIDE)
    result = read_files([path], years_in_columns=True)
    assert result.grants.select("record_id", "recipient", "amount", "year").rows() == [
        ("wide.csv:2@FY2022", "Org A", Decimal("100000"), 2022),
        ("wide.csv:2@FY 2023", "Org A", Decimal("110000"), 2023),
        ("wide.csv:2@FY2024", "Org A", Decimal("120000"), 2024),
        ("wide.csv:3@FY2022", "Org B", Decimal("50000"), 2022),
    ]
    rejects = result.rejects.select("source_row", "disposition", "reason", "column", "value")
    assert rejects.rows() == [
        (3, "excluded", "no amount in this year's column", "FY 2023", None),
        (3, "rejected", "amount is not a number", "FY2024", "TBD"),
        *[(4, "excluded", "repeated header row", None, None)] * 3,
        (5, "excluded", "total or subtotal row", "FY2022", "150000"),
        (5, "excluded", "total or subtotal row", "FY 2023", "110000"),
        (5, "excluded", "total or subtotal row", "FY2024", "120000"),
    ]
    (report,) = result.reports
    # Records are what is counted: 4 rows x 3 year columns, every one accounted for.
    assert (report.rows_seen, report.rows_loaded, report.rows_excluded, report.rows_rejected) == (
        12, 4, 7, 1,
    )  # fmt: skip
    assert report.totals == {"USD": Decimal("380000")}
    assert report.notes[0] == (
        "one grant per row and year column ('FY2022', 'FY 2023', 'FY2024'): 4 row(s) read as "
        "12 record(s); the counts are of records"
    )
    assert json.loads(result.grants.item(0, "original"))["FY2024"] == "120,000"


def test_years_in_columns_in_a_workbook_with_merges_and_unsaved_formulas(tmp_path: Path) -> None:
    """An amount merged down over two rows of one year is counted once; a formula with no
    saved value in one year's cell rejects that record only."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in [["Program", "FY2023", "FY2024"], ["Shelter", 10, 20], ["Outreach", "=B2*2", None]]:
        sheet.append(row)
    sheet["C2"] = 20
    sheet.merge_cells("C2:C3")
    path = tmp_path / "wide.xlsx"
    book.save(path)
    result = read_files([path], years_in_columns=True)
    assert result.grants.select("program", "amount", "year").rows() == [
        ("Shelter", Decimal("10"), 2023), ("Shelter", Decimal("20"), 2024),
    ]  # fmt: skip
    assert result.rejects.select("source_row", "reason", "column").rows() == [
        (3, "amount is a formula with no saved value (open the file in a spreadsheet program "
         "and save it, so that its values are stored)", "FY2023"),
        (3, "under a merged amount (counted once, on the merge's first row)", "FY2024"),
    ]  # fmt: skip


def test_years_in_columns_needs_year_columns_and_no_amount_map(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("Recipient,Amount\nA,1\n")
    with pytest.raises(ColumnMappingError, match="no year columns found"):
        read_files([path], years_in_columns=True)
    wide = tmp_path / "wide.csv"
    wide.write_text(WIDE)
    with pytest.raises(ColumnMappingError, match="--map amount cannot be used"):
        read_files([wide], years_in_columns=True, mapping={"amount": "FY2022"})


def test_currency_column_symbols_and_totals_per_currency(fixtures: Path) -> None:
    result = read_files([fixtures / "messy_grants.xlsx"], sheets=["UK Grants"])
    report = result.reports[0]
    assert report.totals == {"GBP": Decimal("72500.00"), "EUR": Decimal("12000.00")}
    assert report.excluded_reasons == {"total or subtotal row": 1}
    assert result.grants["year"].to_list() == [2021, 2022, 2023, 2023]


def test_notes_sheet_is_skipped_when_reading_every_sheet(fixtures: Path) -> None:
    reports = reports_by_sheet(read_files([fixtures / "messy_grants.xlsx"]))
    assert reports["Notes"].skipped and "header" in reports["Notes"].skipped
    assert reports["Notes"].rows_seen == 0
    assert reports["Offset"].totals == {"USD": Decimal("350.25")}


def test_a_notes_sheet_asked_for_by_name_is_an_error(fixtures: Path) -> None:
    with pytest.raises(HeaderNotFoundError) as caught:
        read_files([fixtures / "messy_grants.xlsx"], sheets=["Notes"])
    assert caught.value.location.sheet == "Notes"
    assert "'FY2024 Grants'" in caught.value.hint
    with pytest.raises(UnknownSheetError):
        read_files([fixtures / "messy_grants.xlsx"], sheets=["Grants"])


def test_a_table_sheet_without_an_amount_column_is_an_error_not_a_skip(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "Grants"
    workbook.active.append(["Recipient", "Amount"])
    workbook.active.append(["Safe Harbor Youth", 1000])
    contracts = workbook.create_sheet("Contracts")
    contracts.append(["Contract", "Recipient", "Purpose", "Reimbursed ($ thousands)"])
    contracts.append(["C-1", "Youth Shelter", "Beds", "12"])
    path = tmp_path / "two_tables.xlsx"
    workbook.save(path)

    with pytest.raises(ColumnMappingError) as caught:
        read_files([path])
    assert caught.value.location.sheet == "Contracts"
    assert "--map amount=" in caught.value.hint and "--sheet" in caught.value.hint
    assert read_files([path], sheets=["Grants"]).reports[0].rows_loaded == 1


def test_cp1252_csv_reconciles(fixtures: Path) -> None:
    result = read_files([fixtures / "cp1252_accents.csv"])
    assert result.grants["recipient"].to_list() == ["Fundación Niños", "Café Élan", "Zoë's Haven"]
    assert result.reports[0].totals == {"USD": Decimal("4750.75"), "EUR": Decimal("2000.00")}


def test_csv_rows_are_record_numbers(fixtures: Path) -> None:
    result = read_files([fixtures / "multiline_blank.csv"])
    assert result.grants.select("source_row", "grant_id").rows() == [
        (2, "G1"),
        (4, "G2"),
        (6, "G3"),
    ]
    assert result.grants["record_id"].to_list() == [
        "multiline_blank.csv:2", "multiline_blank.csv:4", "multiline_blank.csv:6"
    ]  # fmt: skip
    assert result.rejects.select("source_row", "reason").rows() == [
        (3, "blank row"),
        (5, "blank row"),
    ]


def test_unparseable_amounts_are_rejected_and_the_rest_load(fixtures: Path) -> None:
    result = read_files([fixtures / "bad_amounts.csv"])
    report = result.reports[0]
    assert result.grants["recipient"].to_list() == ["Org A", "Org E"]
    assert report.totals == {"USD": Decimal("4750.00")}
    assert result.rejects.select("source_row", "column", "value", "reason").rows() == [
        (3, "Amount", "TBD", "amount is not a number"),
        (4, "Amount", None, "amount is empty"),
        (5, "Amount", "12.345", "amount has a fraction of a cent"),
    ]
    assert json.loads(result.rejects["original"][0]) == {
        "Recipient": "Org B",
        "Amount": "TBD",
        "Year": "2020",
    }


def test_options_currency_year_and_fiscal_year(fixtures: Path, tmp_path: Path) -> None:
    plain = read_files([fixtures / "tabbed.tsv"])
    assert any("assumed USD" in n and "--currency" in n for n in plain.reports[0].notes)
    cad = read_files([fixtures / "tabbed.tsv"], currency="cad")
    assert cad.grants["currency"].unique().to_list() == ["CAD"]
    assert not any("assumed" in n for n in cad.reports[0].notes)
    no_year = read_files([fixtures / "cr_only.csv"], year=2015)
    assert no_year.grants["year"].unique().to_list() == [2015]
    path = tmp_path / "fy.csv"
    path.write_text("Recipient,Amount,Award Date\nA,1,2024-07-01\nB,2,2024-06-30\n")
    july = read_files([path], fiscal_year_start=7)
    assert july.grants["year"].to_list() == [2025, 2024]


def test_mapping_overrides_and_mapping_file(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("Org,Sum Paid,Notes\nA,100,x\nB,200,y\n")
    with pytest.raises(ColumnMappingError) as caught:
        read_files([path])
    assert (
        "'Org', 'Sum Paid', 'Notes'" in caught.value.hint and "--map amount=" in caught.value.hint
    )
    mapped = read_files([path], mapping={"amount": "Sum Paid", "recipient": "Org"})
    assert mapped.reports[0].totals == {"USD": Decimal("300.00")}
    assert mapped.grants["recipient"].to_list() == ["A", "B"]
    mapping_file = tmp_path / "map.yaml"
    mapping_file.write_text("amount: Sum Paid\n")
    assert read_files([path], mapping_file=mapping_file).grants.height == 2


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        ("corrupt.xlsx", InputFileError, "corrupt"),
        ("encrypted.xlsx", InputFileError, "password-protected"),
        ("empty.csv", InputFileError, "empty"),
        ("header_only.csv", InputFileError, "no data rows"),
        ("binary.csv", InputFileError, "binary"),
        ("no_amount.csv", ColumnMappingError, "no amount column"),
    ],
)
def test_bad_input_is_an_error_and_the_store_is_unchanged(
    fixtures: Path, tmp_path: Path, name: str, error: type, words: str
) -> None:
    db = tmp_path / "p.duckdb"
    ingest([fixtures / "cp1252_accents.csv"], db=db)
    before = _store_contents(db)
    with pytest.raises(error) as caught:
        ingest([fixtures / "tabbed.tsv", fixtures / name], db=db)
    assert words in caught.value.message
    assert caught.value.location.file == name and caught.value.hint
    assert _store_contents(db) == before


def test_files_read_side_by_side_report_in_order_and_the_first_error_wins(
    fixtures: Path,
) -> None:
    """Files are read in threads; reports keep the order given, and with several bad files the
    error is about the first of them, whichever thread failed first."""
    files = [fixtures / n for n in ("tabbed.tsv", "messy_grants.xlsx", "cp1252_accents.csv")]
    reports = read_files(files).reports
    assert [r.file_name for r in reports] == ["tabbed.tsv", *["messy_grants.xlsx"] * 4,
                                              "cp1252_accents.csv"]  # fmt: skip
    assert [r.sheet for r in reports[1:5]] == ["FY2024 Grants", "UK Grants", "Notes", "Offset"]
    with pytest.raises(InputFileError) as caught:
        read_files(
            [fixtures / "messy_grants.xlsx", fixtures / "corrupt.xlsx", fixtures / "empty.csv"]
        )
    assert caught.value.location.file == "corrupt.xlsx"


def _store_contents(db: Path) -> tuple:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return tuple(
            con.execute(f"SELECT * EXCLUDE (loaded_at) FROM {t} ORDER BY ALL").fetchall()
            if t == "sources"
            else con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("sources", "grants", "rejects")
        )
    finally:
        con.close()


def test_header_only_is_its_row_and_file(fixtures: Path) -> None:
    with pytest.raises(InputFileError) as caught:
        read_files([fixtures / "header_only.csv"])
    assert caught.value.location.row == 1


def test_reingest_is_a_no_op_and_replace_replaces(fixtures: Path, tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    first = ingest([fixtures / "messy_grants.xlsx"], db=db)
    assert not any(r.already_loaded for r in first.reports)
    again = ingest([fixtures / "messy_grants.xlsx"], db=db)
    assert all(r.already_loaded for r in again.reports if not r.skipped)
    assert summary(db)["grants"] == first.grants.height
    changed_csv = tmp_path / "tabbed.tsv"
    changed_csv.write_text("Recipient\tAmount\nOrg Z\t5\n")
    ingest([fixtures / "tabbed.tsv"], db=db)
    with pytest.raises(AlreadyLoadedError):
        ingest([changed_csv], db=db)
    ingest([changed_csv], db=db, replace=True)
    facts = summary(db)
    tabbed = [s for s in facts["sources"] if s["file"] == "tabbed.tsv"]
    assert len(tabbed) == 1 and tabbed[0]["totals"] == {"USD": Decimal("5.00")}


def test_duplicate_file_names_are_refused(fixtures: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tabbed.tsv"
    copy.write_bytes((fixtures / "tabbed.tsv").read_bytes())
    with pytest.raises(InputFileError, match="same name"):
        read_files([fixtures / "tabbed.tsv", copy])


def test_summary_totals_per_currency(fixtures: Path, tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    ingest([fixtures / "messy_grants.xlsx", fixtures / "cp1252_accents.csv"], db=db)
    facts = summary(db)
    assert facts["totals"] == {
        "EUR": Decimal("14000.00"),
        "GBP": Decimal("72500.00"),
        "USD": sum(FY2024_LOADED.values()) + Decimal("350.25") + Decimal("4750.75"),
    }
    assert facts["grants"] == 8 + 4 + 2 + 3
    assert [s["sheet"] for s in facts["sources"]] == ["FY2024 Grants", "UK Grants", "Offset", None]
    with pytest.raises(Exception, match="no database"):
        summary(tmp_path / "missing.duckdb")


def test_export_writes_every_grant_safely(fixtures: Path, tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    path = tmp_path / "evil.csv"
    path.write_text('Recipient,Amount\n"=HYPERLINK(""x"")",100\n@SUM,200\n')
    ingest([fixtures / "cp1252_accents.csv", path], db=db)
    out = tmp_path / "out.csv"
    assert export(db, out) == 5
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert [r["amount"] for r in rows] == ["1500.00", "2000.00", "3250.75", "100.00", "200.00"]
    assert rows[3]["recipient"] == '\'=HYPERLINK("x")' and rows[4]["recipient"] == "'@SUM"


def test_export_adds_classification_columns_once_classified(fixtures: Path, tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    ingest([fixtures / "tabbed.tsv"], db=db)
    con = store.connect(db)
    con.execute(
        "INSERT INTO classifications (record_id, approach, decided_by) "
        "VALUES ('tabbed.tsv:2', 'intervention', 'rules')"
    )
    con.close()
    out = tmp_path / "out.csv"
    export(db, out)
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [*EXPORT_COLUMNS, *CLASSIFICATION_EXPORT_COLUMNS]
    assert [r["approach"] for r in rows] == ["intervention", ""]


def test_inspect_shows_header_mapping_gaps_and_preview(fixtures: Path) -> None:
    found = {s.sheet: s for s in inspect(fixtures / "messy_grants.xlsx")}
    grants = found["FY2024 Grants"]
    assert grants.header_row == 4
    assert grants.mapping["amount"] == "Amount"
    assert "funder" in grants.missing
    assert [row["source_row"] for row in grants.preview] == ["5", "6", "7", "9", "12"]
    assert grants.preview[0]["amount"] == "1200000.00"
    assert found["Notes"].problem and "header" in found["Notes"].problem
    missing = inspect(fixtures / "no_amount.csv")[0]
    assert missing.problem and "amount" in missing.missing and missing.headers == [
        "Grantee", "Purpose", "Year"
    ]  # fmt: skip


def test_progress_is_reported(fixtures: Path) -> None:
    messages: list[str] = []
    read_files([fixtures / "messy_grants.xlsx"], progress=messages.append)
    assert messages[0] == "reading messy_grants.xlsx"
    assert any("[FY2024 Grants]" in m for m in messages)


def test_bad_options_are_errors(fixtures: Path) -> None:
    with pytest.raises(Exception, match="ISO 4217"):
        read_files([fixtures / "tabbed.tsv"], currency="dollars")
    with pytest.raises(ColumnMappingError, match="unknown field"):
        read_files([fixtures / "tabbed.tsv"], mapping={"money": "Amount"})


def test_funder_option_names_the_funder_of_a_file_without_one(tmp_path: Path) -> None:
    own_list = tmp_path / "own_grants.csv"
    own_list.write_text('grantee,amount,year\nYouth Shelter,"$10,000",2019\n', encoding="utf-8")
    result = read_files([own_list], funder="  Public Welfare Foundation ")
    assert result.grants["funder"].to_list() == ["Public Welfare Foundation"]
    assert any("--funder" in note for note in result.reports[0].notes)

    with_column = tmp_path / "with_funder.csv"
    with_column.write_text("funder,grantee,amount\nFord,Shelter,5\n", encoding="utf-8")
    result = read_files([with_column], funder="Someone Else")
    assert result.grants["funder"].to_list() == ["Ford"]
    assert any("--funder was ignored" in note for note in result.reports[0].notes)

    with pytest.raises(AnalyzerError):
        read_files([own_list], funder=" ")
