"""The bundled synthetic portfolio: its generator is deterministic, the committed files are what
it writes, and the files have the shapes and coverage the README promises.

Classification of these grants is tested elsewhere; here only the data itself is checked, and
every count is computed from the files, independently of the generator's own bookkeeping.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"
SCRIPT = SAMPLE_DATA / "make_sample_data.py"
USASPENDING = "usaspending_awards.csv"
STATE = "state_allocations_FY2018-2025.xlsx"
FOUNDATION = "foundation_grants_2018-2025.csv"
GIVING360 = "360giving_grants.csv"
CSV_FILES = (USASPENDING, FOUNDATION, GIVING360)
OUTPUTS = (*CSV_FILES, STATE, "README.md")
YEARS = set(range(2018, 2026))
STATE_CONTRACT = re.compile(r"^DCF-\d\d-")


def _generate(out: Path) -> Path:
    command = [sys.executable, str(SCRIPT), "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory.mktemp("first"))


@pytest.fixture(scope="module")
def second_run(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory.mktemp("second"))


def _records(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _xlsx_values(path: Path) -> dict[str, list[tuple]]:
    workbook = openpyxl.load_workbook(path)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook}


def _state_grant_rows(path: Path) -> list[tuple[str, tuple]]:
    """(sheet, row values) of every allocation: the rows carrying a contract number."""
    rows = []
    for sheet, values in _xlsx_values(path).items():
        for row in values:
            if len(row) > 1 and isinstance(row[1], str) and STATE_CONTRACT.match(row[1]):
                rows.append((sheet, row))
    return rows


# --- determinism ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*CSV_FILES, "README.md"])
def test_two_runs_write_identical_bytes(first_run: Path, second_run: Path, name: str) -> None:
    assert (first_run / name).read_bytes() == (second_run / name).read_bytes()


def test_two_runs_write_identical_workbook_values(first_run: Path, second_run: Path) -> None:
    assert _xlsx_values(first_run / STATE) == _xlsx_values(second_run / STATE)


@pytest.mark.parametrize("name", CSV_FILES)
def test_committed_csv_equals_fresh_run(first_run: Path, name: str) -> None:
    assert _records(SAMPLE_DATA / name) == _records(first_run / name), (
        f"sample_data/{name} is stale: run python sample_data/make_sample_data.py"
    )


def test_committed_workbook_and_readme_equal_fresh_run(first_run: Path) -> None:
    assert _xlsx_values(SAMPLE_DATA / STATE) == _xlsx_values(first_run / STATE)
    committed = (SAMPLE_DATA / "README.md").read_text(encoding="utf-8").replace("\r\n", "\n")
    assert committed == (first_run / "README.md").read_text(encoding="utf-8")


def test_labels_option_writes_one_row_per_grant(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path / "out"), "--labels", str(labels)],
        check=True,
        capture_output=True,
    )
    rows = _records(labels)
    counts = {name: sum(1 for r in rows if r["source_file"] == name) for name in OUTPUTS[:4]}
    assert counts[USASPENDING] == len(_records(SAMPLE_DATA / USASPENDING))
    assert counts[STATE] == len(_state_grant_rows(SAMPLE_DATA / STATE))
    assert {r["intended_category"] for r in rows} == {
        "response",
        "intervention",
        "resilience-building",
        "structural-prevention",
        "out-of-scope",
        "unclassified",
    }


# --- shape facts --------------------------------------------------------------------------


def _federal_fiscal_year(start: str) -> int:
    day = date.fromisoformat(start)
    return day.year + 1 if day.month >= 10 else day.year


def _state_year(value) -> int:
    return value if isinstance(value, int) else int(str(value).removeprefix("FY"))


def test_portfolio_has_enough_grants_funders_years_and_states() -> None:
    federal = _records(SAMPLE_DATA / USASPENDING)
    foundation = _records(SAMPLE_DATA / FOUNDATION)
    giving = _records(SAMPLE_DATA / GIVING360)
    state_rows = _state_grant_rows(SAMPLE_DATA / STATE)

    assert len(federal) + len(foundation) + len(giving) + len(state_rows) >= 800

    funders = (
        {r["Awarding Agency"] for r in federal}
        | {r["Funder"] for r in foundation}
        | {r["Funding Org:Name"] for r in giving}
        | {row[-2] for _, row in state_rows}
    )
    assert len(funders) >= 3
    assert {"Department of Justice", "Department of Health and Human Services"} <= funders
    assert "Colorado Department of Children and Families (synthetic)" in funders

    assert {_federal_fiscal_year(r["Start Date"]) for r in federal} == YEARS
    assert {int(r["Grant Year"]) for r in foundation} == YEARS
    assert {int(r["Award Date"][:4]) for r in giving} == YEARS
    assert {_state_year(row[0]) for _, row in state_rows} == YEARS

    states = {r["Place of Performance State Code"] for r in federal}
    states |= {r["Location"].rsplit(", ", 1)[1] for r in foundation if r["Location"]}
    states |= {row[3] if len(row) == 8 else row[4] for _, row in state_rows}
    assert len(states) >= 15
    assert all(re.fullmatch(r"[A-Z]{2}", s) for s in states)


def test_files_stay_small() -> None:
    total = sum((SAMPLE_DATA / name).stat().st_size for name in OUTPUTS[:4])
    assert total < 1_500_000


def test_usaspending_file_has_standard_columns_and_real_quirks() -> None:
    text = (SAMPLE_DATA / USASPENDING).read_text(encoding="utf-8")
    header = next(csv.reader(io.StringIO(text)))
    for column in (
        "Award ID",
        "Recipient Name",
        "Start Date",
        "End Date",
        "Award Amount",
        "Awarding Agency",
        "Awarding Sub Agency",
        "CFDA Number",
        "Description",
        "Place of Performance State Code",
    ):
        assert column in header
    rows = _records(SAMPLE_DATA / USASPENDING)
    amounts = [float(r["Award Amount"]) for r in rows]
    assert any(a == 0 for a in amounts) and any(a < 0 for a in amounts)
    assert all(150_000 <= a <= 2_000_000 for a in amounts if a > 0)
    assert any("\n" in r["Description"] for r in rows)
    assert all(r["Description"] == r["Description"].upper() for r in rows)
    assert len({r["Award ID"] for r in rows}) == len(rows)


def test_state_workbook_is_messy_the_way_real_ones_are() -> None:
    workbook = openpyxl.load_workbook(SAMPLE_DATA / STATE)
    assert workbook.sheetnames[-1] == "Notes"
    notes = [row for row in workbook["Notes"].iter_rows(values_only=True) if any(row)]
    assert all(len([v for v in row if v is not None]) == 1 for row in notes)  # prose, no table
    assert "SYNTHETIC" in notes[0][0]
    amounts_as_text = []
    for sheet in workbook.worksheets[:-1]:
        assert sheet["A1"].value and sheet["A2"].value
        assert any(str(r).startswith("A3:") for r in sheet.merged_cells.ranges)
        assert all(v is None for v in next(sheet.iter_rows(min_row=4, max_row=4, values_only=True)))
        labels = [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v]
        assert any(v.startswith("TOTAL") for v in labels)
        assert any(v.startswith("Subtotal") for v in labels)
        amount_column = sheet.max_column
        for row in sheet.iter_rows(min_row=6, values_only=True):
            if isinstance(row[amount_column - 1], str):
                amounts_as_text.append(row[amount_column - 1])
    assert any(re.fullmatch(r"\$[\d,]+\.\d\d", a) for a in amounts_as_text)
    assert any(re.fullmatch(r"\([\d,]+\.\d\d\)", a) for a in amounts_as_text)


def test_state_totals_add_up_to_the_allocations() -> None:
    """Each sheet's TOTAL is the sum of its allocations (text amounts included), as in the
    department's own workbook: a reader that double-counts subtotals would not match it."""
    for sheet, rows in _xlsx_values(SAMPLE_DATA / STATE).items():
        if sheet == "Notes":
            continue
        total = None
        allocations = 0.0
        for row in rows:
            if isinstance(row[1], str) and STATE_CONTRACT.match(row[1]):
                allocations += _amount(row[-1])
            elif isinstance(row[0], str) and row[0].startswith("TOTAL"):
                total = row[-1]
        assert total == pytest.approx(allocations, abs=0.001), sheet


def _amount(value) -> float:
    if isinstance(value, str):
        negative = value.startswith("(")
        number = float(value.strip("()$").replace(",", ""))
        return -number if negative else number
    return float(value)


def test_foundation_csv_has_accents_out_of_scope_and_currency_text() -> None:
    rows = _records(SAMPLE_DATA / FOUNDATION)
    assert any(re.search(r"[áéíóúñ]", r["Grantee"]) for r in rows)
    assert all(re.fullmatch(r"\$\d{1,3}(,\d{3})*", r["Amount"]) for r in rows)
    assert {"Arts & Culture", "Healthy Aging", "Environment"} <= {r["Program Area"] for r in rows}
    assert any(r["Purpose"] == "General operating support." for r in rows)


def test_360giving_file_uses_the_standard_headers_in_usd() -> None:
    rows = _records(SAMPLE_DATA / GIVING360)
    assert (SAMPLE_DATA / GIVING360).read_bytes().startswith(b"\xef\xbb\xbf")
    for column in (
        "Identifier",
        "Title",
        "Description",
        "Currency",
        "Amount Awarded",
        "Award Date",
        "Recipient Org:Identifier",
        "Recipient Org:Name",
        "Funding Org:Identifier",
        "Funding Org:Name",
        "Grant Programme:Title",
        "Beneficiary Location:Name",
    ):
        assert column in rows[0]
    assert {r["Currency"] for r in rows} == {"USD"}
    assert all(datetime.fromisoformat(r["Award Date"]) for r in rows)
    assert len({r["Identifier"] for r in rows}) == len(rows)


def test_readme_says_the_data_is_synthetic() -> None:
    readme = (SAMPLE_DATA / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme
    assert "python sample_data/make_sample_data.py" in readme
