"""``review apply``: reviewers' choices in the workbook come back as an overrides ledger that
classification obeys; invalid choices are reported with sheet, row and column."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from workbook_support import default_grants, fill, grant, make_analysis

from analyzer.analyze import analyze
from analyzer.classify import classify
from analyzer.errors import InputFileError, OverridesError
from analyzer.overrides import load_overrides
from analyzer.review import LEDGER_COLUMNS, apply_review
from analyzer.workbook import write_workbook

GRANTS_CSV = """\
Grant ID,Funder,Recipient,Title,Description,Amount,Year,State
A-1,State Agency,Safe Harbor House,Shelter for survivors,Emergency shelter beds and case \
management for girls identified as victims of sex trafficking,"$120,000",2021,CA
A-2,State Agency,City Police Department,Task force,Human trafficking task force \
investigations and stings targeting exploiters of minors,"$300,000",2021,CA
A-3,Foundation X,Helping Hands Inc,General operating support,General operating support,\
"$50,000",2022,NY
A-4,Foundation X,Youth Org,Prevention,Prevention,"$25,000",2022,NY
A-5,Foundation X,Family Housing Fund,Rental aid,Rental assistance and homelessness prevention \
for families with children,"$80,000",2022,NY
"""


@pytest.fixture
def workbook(tmp_path) -> Path:
    return write_workbook(tmp_path / "workbook.xlsx", make_analysis())


def test_round_trip_through_classification(tmp_path):
    grants = tmp_path / "grants.csv"
    grants.write_text(GRANTS_CSV, encoding="utf-8")
    analysis = analyze([grants], write=False, progress=False)
    before = dict(analysis.classified.select("grant_id", "approach").iter_rows())
    assert before["A-3"] == before["A-4"] == "unclassified"
    path = write_workbook(tmp_path / "workbook.xlsx", analysis)

    fill(
        path,
        {
            "grants.csv:4": {
                "Your category": "structural-prevention",
                "Reason": "Operating support of a family housing charity",
                "Reviewer": "ana",
                "Date": datetime(2024, 5, 2),
            },
            "grants.csv:5": {
                "Your shares (optional)": "resilience-building:0.7;structural-prevention:0.3",
                "Reason": "Grant file: school curriculum and family support",
                "Reviewer": "ben",
            },
        },
    )
    ledger_path = tmp_path / "overrides.csv"
    decisions = apply_review(path, out=ledger_path)
    assert decisions.columns == list(LEDGER_COLUMNS)
    assert decisions.height == 2
    ledger = pl.read_csv(ledger_path, infer_schema=False)
    assert ledger.columns == list(LEDGER_COLUMNS)
    first = ledger.row(0, named=True)
    assert first == {
        "grant_id": "grants.csv:4",
        "category": "structural-prevention",
        "shares": None,
        "reason": "Operating support of a family housing charity",
        "reviewer": "ana",
        "date": "2024-05-02",
    }
    assert ledger["date"][1] == date.today().isoformat()  # no date given: the day it was applied

    after = classify([grants], overrides=ledger_path)
    decided = {row["grant_id"]: row for row in after.iter_rows(named=True)}
    assert decided["A-3"]["decided_by"] == "override"
    assert decided["A-3"]["approach"] == "structural-prevention"
    assert decided["A-4"]["decided_by"] == "override"
    assert decided["A-4"]["approach"] == "resilience-building"
    assert decided["A-4"]["approach_shares"] == "resilience-building:0.7;structural-prevention:0.3"
    assert decided["A-1"]["decided_by"] == "rules"


def test_ledger_loads_with_the_overrides_loader(workbook, tmp_path):
    fill(workbook, {"grants.csv:4": {"Your category": "response", "Reason": "hotline"}})
    apply_review(workbook, out=tmp_path / "o.csv")
    ledger = load_overrides(tmp_path / "o.csv", taxonomy="csec")
    assert ledger.entries.select("key", "approach").rows() == [("grants.csv:4", "response")]


def test_unknown_category_and_missing_reason_name_sheet_row_and_column(workbook, tmp_path):
    fill(
        workbook,
        {
            "grants.csv:3": {"Your category": "responce", "Reason": "typo"},
            "grants.csv:4": {"Your category": "intervention"},
        },
    )
    ledger = tmp_path / "o.csv"
    with pytest.raises(OverridesError) as caught:
        apply_review(workbook, out=ledger)
    text = caught.value.describe()
    assert "2 problems" in text
    assert "sheet 'Review', row 3, column 'Your category'" in text
    assert 'unknown category "responce"' in text and "structural-prevention" in text
    assert "sheet 'Review', row 4, column 'Reason'" in text
    assert not ledger.exists()  # nothing written while a problem remains


def test_bad_shares_and_date_are_reported(workbook):
    fill(
        workbook,
        {
            "grants.csv:3": {
                "Your shares (optional)": "response:0.5;intervention:0.4",
                "Reason": "two parts",
            },
            "grants.csv:4": {"Your category": "response", "Reason": "x", "Date": "last week"},
        },
    )
    with pytest.raises(OverridesError) as caught:
        apply_review(workbook)
    text = caught.value.describe()
    assert "row 3, column 'Your shares (optional)'" in text and "not exactly 1" in text
    assert "row 4, column 'Date'" in text and "last week" in text


def test_single_problem_has_its_location(workbook):
    fill(workbook, {"grants.csv:3": {"Reason": "forgot the category"}})
    with pytest.raises(OverridesError) as caught:
        apply_review(workbook)
    location = caught.value.location
    assert (location.sheet, location.row, location.column) == ("Review", 3, "Your category")


def test_rows_with_only_a_name_are_not_decisions(workbook):
    fill(workbook, {"grants.csv:3": {"Reviewer": "ana"}, "grants.csv:4": {"Date": "2024-01-01"}})
    assert apply_review(workbook).height == 0


def test_typed_category_matches_regardless_of_case(workbook):
    fill(workbook, {"grants.csv:3": {"Your category": "Intervention ", "Reason": "survivors"}})
    assert apply_review(workbook)["category"].to_list() == ["intervention"]


def test_escaped_record_id_comes_back_as_it_was(tmp_path):
    rows = [
        *default_grants(),
        grant(
            9, approach="unclassified", decided_by="none", record_id="-odd.csv:3", amount="10.00"
        ),
    ]
    path = write_workbook(tmp_path / "w.xlsx", make_analysis(rows))
    fill(path, {"'-odd.csv:3": {"Your category": "response", "Reason": "hotline"}})
    out = tmp_path / "o.csv"
    assert apply_review(path, out=out)["grant_id"].to_list() == ["-odd.csv:3"]
    assert out.read_text(encoding="utf-8-sig").splitlines()[1].startswith("'-odd.csv:3,")


def test_reapplying_adds_nothing_twice_and_keeps_earlier_decisions(workbook, tmp_path):
    out = tmp_path / "o.csv"
    out.write_text(
        "grant_id,category,shares,reason,reviewer,date\nG-old,response,,earlier call,zoe,"
        "2023-01-01\n",
        encoding="utf-8",
    )
    fill(
        workbook,
        {"grants.csv:3": {"Your category": "response", "Reason": "r", "Date": "2024-02-02"}},
    )
    apply_review(workbook, out=out)
    apply_review(workbook, out=out)
    ledger = pl.read_csv(out, infer_schema=False)
    assert ledger["grant_id"].to_list() == ["G-old", "grants.csv:3"]

    fill(workbook, {"grants.csv:3": {"Your category": "intervention"}})  # changed mind
    apply_review(workbook, out=out)
    ledger = pl.read_csv(out, infer_schema=False)
    assert ledger["category"].to_list() == ["response", "response", "intervention"]


def test_existing_ledger_with_other_columns_is_not_overwritten(workbook, tmp_path):
    out = tmp_path / "o.csv"
    out.write_text("id,approach,note\nx,response,y\n", encoding="utf-8")
    fill(workbook, {"grants.csv:3": {"Your category": "response", "Reason": "r"}})
    with pytest.raises(OverridesError, match="has columns id, approach, note"):
        apply_review(workbook, out=out)
    assert out.read_text(encoding="utf-8") == "id,approach,note\nx,response,y\n"


def test_not_a_review_workbook(tmp_path):
    plain = tmp_path / "plain.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "Sheet1"
    book.save(plain)
    with pytest.raises(InputFileError, match="no 'Review' sheet"):
        apply_review(plain)
    with pytest.raises(InputFileError, match="not found"):
        apply_review(tmp_path / "missing.xlsx")
    (tmp_path / "fake.xlsx").write_text("not a zip")
    with pytest.raises(InputFileError, match=r"cannot read fake\.xlsx"):
        apply_review(tmp_path / "fake.xlsx")
