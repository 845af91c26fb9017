"""Readers: every cell as text, at the row number a spreadsheet program shows."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from analyzer.errors import InputFileError, UnknownSheetError
from analyzer.read import (
    CellRange,
    Layout,
    detect_delimiter,
    line_ending,
    read_file,
    sheet_layouts,
    to_utf8,
)


def cell_rows(path: Path, **kwargs) -> list[tuple]:
    return read_file(path, **kwargs)[0].cells.rows()


def test_workbook_rows_are_excel_rows_even_when_the_sheet_starts_at_c3(fixtures: Path) -> None:
    raw = {r.sheet: r for r in read_file(fixtures / "messy_grants.xlsx")}["Offset"]
    book = openpyxl.load_workbook(fixtures / "messy_grants.xlsx", read_only=True)
    for row in book["Offset"].iter_rows():
        for cell in row:
            if cell.value is None:
                continue
            ours = raw.cells.row(cell.row - 1, named=True)[f"c{cell.column}"]
            written = f"{cell.value:g}" if isinstance(cell.value, float) else str(cell.value)
            assert ours == written, (cell.coordinate, ours, cell.value)


def test_every_workbook_cell_matches_openpyxl(fixtures: Path) -> None:
    book = openpyxl.load_workbook(fixtures / "messy_grants.xlsx", read_only=True)
    for raw in read_file(fixtures / "messy_grants.xlsx"):
        count = 0
        for row in book[raw.sheet].iter_rows():
            for cell in row:
                if cell.value is None:
                    continue
                count += 1
                ours = raw.cells.row(cell.row - 1, named=True)[f"c{cell.column}"]
                assert ours is not None, (raw.sheet, cell.coordinate)
                if isinstance(cell.value, str):
                    assert ours == cell.value
        assert count > 0


def test_sheets_in_workbook_order_and_by_name(fixtures: Path) -> None:
    names = [r.sheet for r in read_file(fixtures / "messy_grants.xlsx")]
    assert names == ["FY2024 Grants", "UK Grants", "Notes", "Offset"]
    only = read_file(fixtures / "messy_grants.xlsx", sheets=["UK Grants"])
    assert [r.sheet for r in only] == ["UK Grants"]


def test_unknown_sheet_names_the_sheets_that_exist(fixtures: Path) -> None:
    with pytest.raises(UnknownSheetError) as caught:
        read_file(fixtures / "messy_grants.xlsx", sheets=["Grants 2025"])
    assert "'FY2024 Grants', 'UK Grants', 'Notes', 'Offset'" in caught.value.hint
    assert caught.value.location.file == "messy_grants.xlsx"


def test_cp1252_with_accents_and_euro_sign(fixtures: Path) -> None:
    raw = read_file(fixtures / "cp1252_accents.csv")[0]
    assert raw.encoding == "cp1252"
    assert raw.cells.rows()[1][:2] == ("Fundación Niños", "Atención a víctimas")
    assert raw.cells.rows()[2][2] == "€2000"


def test_cr_only_lines_multiline_field_and_blank_record(fixtures: Path) -> None:
    rows = cell_rows(fixtures / "cr_only.csv")
    assert rows == [
        ("Recipient", "Amount", "Description"),
        ("Org A", "100", "line one\rline two"),
        (None, None, None),  # the blank line is record 3, not skipped
        ("Org B", "200", "plain"),
        ("Org C", "300.50", 'said "hi"'),
    ]


def test_multiline_quoted_field_is_one_record(fixtures: Path) -> None:
    rows = cell_rows(fixtures / "multiline_blank.csv")
    assert rows[1][3] == "first line\nsecond line\nthird line"
    assert rows[2] == (None, None, None, None)
    assert rows[3][0] == "G2"
    assert len(rows) == 6


def test_bom_and_semicolons(fixtures: Path) -> None:
    raw = read_file(fixtures / "utf8_bom_semicolon.csv")[0]
    assert raw.encoding == "utf-8-sig"
    assert raw.cells.row(0) == ("Bénéficiaire", "Amount", "Année")


def test_tsv(fixtures: Path) -> None:
    assert cell_rows(fixtures / "tabbed.tsv")[1] == ("Org A", "10", "2020")


def test_parquet_header_is_row_one(fixtures: Path) -> None:
    rows = cell_rows(fixtures / "grants.parquet")
    assert rows[0] == ("recipient", "amount", "award_date")
    assert rows[1] == ("Org A", "1000.5", "2023-10-02")


def test_malformed_csv_falls_back_to_the_lenient_parser(tmp_path: Path) -> None:
    path = tmp_path / "stray.csv"
    path.write_text('Recipient,Amount,Item\nOrg A,10,5" pipe\nOrg B,20,x,extra\n')
    raw = read_file(path)[0]
    assert raw.cells.rows()[1] == ("Org A", "10", '5" pipe', None)
    assert raw.cells.rows()[2] == ("Org B", "20", "x", "extra")
    assert "lenient" in raw.notes[0]


def test_rows_longer_than_the_sample_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    lines = ["a,b"] + ["1,2"] * 30000 + ["3,4,5"]
    path.write_text("\n".join(lines) + "\n")
    rows = read_file(path)[0].cells
    assert rows.width == 3 and rows.row(-1) == ("3", "4", "5")


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("corrupt.xlsx", "corrupt"),
        ("encrypted.xlsx", "password-protected"),
        ("empty.csv", "empty"),
        ("binary.csv", "binary"),
    ],
)
def test_unreadable_files_are_named_errors(fixtures: Path, name: str, words: str) -> None:
    with pytest.raises(InputFileError) as caught:
        read_file(fixtures / name)
    assert words in caught.value.message
    assert caught.value.location.file == name
    assert caught.value.hint


def test_xlsx_named_csv_and_unsupported_types(tmp_path: Path, fixtures: Path) -> None:
    renamed = tmp_path / "grants.csv"
    renamed.write_bytes((fixtures / "messy_grants.xlsx").read_bytes())
    with pytest.raises(InputFileError, match="zip container"):
        read_file(renamed)
    odd = tmp_path / "grants.pdf"
    odd.write_bytes(b"%PDF-1.4")
    with pytest.raises(InputFileError, match="unsupported file type"):
        read_file(odd)
    with pytest.raises(InputFileError, match="not found"):
        read_file(tmp_path / "missing.csv")


def test_encoding_detection() -> None:
    assert to_utf8("é".encode())[1] == "utf-8"
    assert to_utf8("é".encode("cp1252")) == ("é".encode(), "cp1252")
    assert to_utf8(b"caf\xe9\x81")[1] == "latin-1"  # \x81 is undefined in cp1252


@pytest.mark.parametrize(
    "text",
    [
        "Fundación Esperanza – today’s “best” café",
        "Señora Muñoz",
        "well—being and “care”",
        "Crèche Saint-Étienne, Zürich",
    ],
)
def test_windows_and_mac_single_byte_encodings_are_told_apart(text: str) -> None:
    for encoding in ("cp1252", "mac_roman"):
        assert to_utf8(text.encode(encoding)) == (text.encode(), encoding)
    assert to_utf8("é".encode("utf-16")) == ("é".encode(), "utf-16")


def test_delimiter_and_line_ending_detection() -> None:
    assert detect_delimiter("a;b;c\n1;2,5;3\n") == ";"
    assert detect_delimiter('a,b\n"x;y",2\n') == ","
    assert detect_delimiter("a|b|c\n1|2|3\n") == "|"
    assert line_ending(b"a\rb\rc") == "\r"
    assert line_ending(b"a\r\nb\r\n") == "\n"


def test_sheet_layouts_are_read_for_every_sheet(fixtures: Path) -> None:
    (sheet,) = read_file(fixtures / "merged_cells.xlsx")
    assert set(sheet.layout.merged) == {
        CellRange(1, 1, 1, 6),  # the title banner A1:F1
        CellRange(3, 6, 4, 6),
        CellRange(4, 3, 4, 4),
        CellRange(5, 1, 7, 1),
        CellRange(8, 5, 9, 5),
        CellRange(10, 3, 10, 4),
    }
    messy = {s.sheet: s.layout.merged for s in read_file(fixtures / "messy_grants.xlsx")}
    assert messy["FY2024 Grants"] == [CellRange(2, 1, 2, 7)] and messy["UK Grants"] == []


def test_layouts_in_prefixed_xml_and_unreadable_packages() -> None:
    """Strict OOXML writers prefix every element; a package without the workbook parts gives
    a problem to report, not an exception."""
    sheet = (
        '<x:worksheet xmlns:x="s"><x:sheetData><x:row r="3">'
        '<x:c r="A3"><x:v>1</x:v></x:c><x:c r="B3" s="2"><x:f>A3*2</x:f></x:c>'
        '<x:c r="C3"><x:f>A3*3</x:f><x:v>3</x:v></x:c>'
        '<x:c r="D3"><x:f t="shared" si="0"/><x:v/></x:c></x:row>'
        '<x:row r="9" spans="1:2" hidden="1"><x:c r="A9"><x:v>2</x:v></x:c></x:row></x:sheetData>'
        '<x:mergeCells count="2">'
        '<x:mergeCell ref="B2:B5"/><x:mergeCell ref="AA10:AB12"/></x:mergeCells></x:worksheet>'
    )
    files = {
        "xl/workbook.xml": '<x:workbook xmlns:x="s" xmlns:r="r"><x:sheets>'
        '<x:sheet name="R&amp;D" sheetId="1" r:id="rId7"/></x:sheets></x:workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships><Relationship Id="rId7" '
        'Type="worksheet" Target="/xl/worksheets/data.xml"/></Relationships>',
        "xl/worksheets/data.xml": sheet,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        for name, text in files.items():
            book.writestr(name, text)
    found, problem = sheet_layouts(buffer.getvalue())
    assert problem is None
    assert found == {
        "R&D": Layout(
            merged=[CellRange(2, 2, 5, 2), CellRange(10, 27, 12, 28)],
            unsaved_formulas=[(3, 2), (3, 4)],
            hidden_rows=[9],
        )
    }

    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as book:
        book.writestr("other.txt", "")
    found, problem = sheet_layouts(empty.getvalue())
    assert found == {} and "workbook.xml" in problem
