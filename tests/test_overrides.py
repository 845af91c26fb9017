"""The overrides ledger: validation with file/row/column, and decisions that win over rules."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import store
from analyzer.classify import classify, classify_grants
from analyzer.errors import OverridesError
from analyzer.ingest import ingest
from analyzer.overrides import load_overrides
from analyzer.taxonomy import taxonomy_from_text

TAXONOMY = taxonomy_from_text(
    """
name: tiny
version: "1"
description: for override tests
dimensions:
  approach:
    kind: primary
    categories:
      - {id: response, label: Response, order: 1}
      - {id: intervention, label: Intervention, order: 2}
      - {id: resilience-building, label: Resilience, order: 3}
rules:
  - {id: shelter, category: intervention, phrases: [shelter]}
  - {id: task-force, category: response, phrases: [task force]}
"""
)
HEADER = "grant_id,category,shares,reason,reviewer,date\n"


def ledger(tmp_path, *rows: str, header: str = HEADER, name: str = "overrides.csv"):
    path = tmp_path / name
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def grants() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "record_id": ["f.csv:2", "f.csv:3", "f.csv:4", "f.csv:5"],
            "grant_id": ["G1", "G2", "G2", None],
            "description": ["shelter for girls", "task force", "task force", "shelter"],
            "amount": [Decimal("100.00"), Decimal("10.01"), Decimal("20.00"), Decimal("1.00")],
        },
        schema_overrides={"amount": pl.Decimal(38, 2)},
    )


def test_overrides_win_by_grant_id_and_by_record_id(tmp_path):
    path = ledger(
        tmp_path,
        "G2,intervention,,Shelter component is the point,ana,2024-05-02",
        "f.csv:4,,response:0.6;resilience-building:0.4,Two components,ben,2024-05-03",
        "f.csv:5,resilience-building,,Reviewed,,",
    )
    result = classify_grants(grants(), TAXONOMY, overrides=path)
    table = result.table
    assert table.get_column("approach").to_list() == [
        "intervention",
        "intervention",
        "response",
        "resilience-building",
    ]
    assert table.get_column("decided_by").to_list() == ["rules", "override", "override", "override"]
    assert table.item(2, "approach_shares") == "response:0.6;resilience-building:0.4"
    assert table.item(1, "explanation").startswith(
        "override by ana: Shelter component is the point; task-force:"
    )
    split = result.allocations.filter(
        (pl.col("policy") == "split") & (pl.col("record_id") == "f.csv:4")
    )
    assert split.get_column("amount").to_list() == [Decimal("12.00"), Decimal("8.00")]
    assert result.run["override_count"] == 3 and result.run["overrides_unmatched"] == []


def test_later_rows_win_and_unknown_keys_are_reported(tmp_path):
    path = ledger(
        tmp_path,
        "G1,response,,first call,ana,",
        "G1,resilience-building,,second thoughts,ana,",
        "G9,response,,not in this portfolio,ana,",
    )
    assert len(load_overrides(path, taxonomy=TAXONOMY)) == 2
    result = classify_grants(grants(), TAXONOMY, overrides=path)
    assert result.table.item(0, "approach") == "resilience-building"
    assert result.run["overrides_unmatched"] == ["G9"]


def test_xlsx_ledger(tmp_path):
    import datetime

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Grant ID", "Category", "Reason", "Reviewer", "Date"])
    sheet.append(["G1", "response", "Police-run shelter", "cy", datetime.date(2024, 6, 1)])
    path = tmp_path / "ledger.xlsx"
    workbook.save(path)
    entries = load_overrides(path, taxonomy=TAXONOMY).entries
    assert entries.row(0, named=True)["date"] == datetime.date(2024, 6, 1)
    assert (
        classify_grants(grants(), TAXONOMY, overrides=path).table.item(0, "approach") == "response"
    )


@pytest.mark.parametrize(
    "row, column, message",
    [
        ("G1,responce,,why,ana,", "category", 'unknown category "responce"'),
        ("G1,,response:0.5;intervention:0.4,why,ana,", "shares", "not exactly 1"),
        ("G1,,response=1,why,ana,", "shares", "is not category:share"),
        ("G1,,response:0.12345;intervention:0.87655,why,ana,", "shares", "at most 4 decimals"),
        ("G1,intervention,response:0.6;intervention:0.4,why,ana,", "category", "not the largest"),
        ("G1,response,,,ana,", "reason", "the reason is empty"),
        ("G1,response,,why,ana,May 2nd", "date", "is not a date"),
        (",response,,why,ana,", "grant_id", "the grant id is empty"),
        ("G1,,,why,ana,", "category", "give a category or shares"),
    ],
)
def test_invalid_rows_name_file_row_and_column(tmp_path, row, column, message):
    path = ledger(tmp_path, "G2,response,,fine,ana,", row)
    with pytest.raises(OverridesError) as error:
        load_overrides(path, taxonomy=TAXONOMY)
    text = error.value.describe()
    assert f"overrides.csv, row 3, column '{column}'" in text
    assert message in text


def test_every_problem_is_reported_at_once(tmp_path):
    path = ledger(tmp_path, "G1,nope,,why,,", "G2,response,,,,")
    with pytest.raises(OverridesError) as error:
        load_overrides(path, taxonomy=TAXONOMY)
    text = error.value.describe()
    assert "2 problems" in text and "row 2" in text and "row 3" in text


def test_missing_columns_list_what_was_found(tmp_path):
    path = ledger(tmp_path, "G1,response", header="id_of_grant,category\n")
    with pytest.raises(OverridesError) as error:
        load_overrides(path, taxonomy=TAXONOMY)
    assert "no grant_id, no reason column" in error.value.describe()
    assert "columns found: id_of_grant, category" in error.value.describe()


def test_overrides_survive_reingestion(tmp_path):
    source = tmp_path / "grants.csv"
    source.write_text(
        "Grant ID,Recipient,Description,Amount\n"
        "G-1,Safe Home Inc,Shelter beds for girls,1000\n"
        "G-2,Schools,Task force on trafficking,500\n",
        encoding="utf-8",
    )
    db = tmp_path / "p.duckdb"
    path = ledger(tmp_path, "G-2,intervention,,Reviewed: services not policing,ana,2024-01-01")
    ingest([source], db=db)
    first = classify(db=db, taxonomy=TAXONOMY, overrides=path)
    source.write_text(source.read_text() + "G-3,New,Task force,10\n", encoding="utf-8")
    ingest([source], db=db, replace=True)
    second = classify(db=db, taxonomy=TAXONOMY, overrides=path)
    for frame in (first, second):
        row = frame.filter(pl.col("grant_id") == "G-2").row(0, named=True)
        assert (row["approach"], row["decided_by"]) == ("intervention", "override")
    con = store.connect(db)
    try:
        stored = con.sql("SELECT decided_by, count(*) FROM classifications GROUP BY 1 ORDER BY 1")
        assert stored.fetchall() == [("override", 1), ("rules", 2)]
    finally:
        con.close()


CATEGORIES = ["response", "intervention", "resilience-building"]


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["G1", "G2", "f.csv:5", "f.csv:2"]), st.sampled_from(CATEGORIES)
    )
)
def test_overrides_always_win(tmp_path_factory, decisions):
    path = ledger(
        tmp_path_factory.mktemp("ledger"),
        *(f"{key},{category},,because,ana," for key, category in decisions.items()),
    )
    table = classify_grants(grants(), TAXONOMY, overrides=path).table
    for row in table.iter_rows(named=True):
        frame = grants().filter(pl.col("record_id") == row["record_id"])
        key = row["record_id"] if row["record_id"] in decisions else frame.item(0, "grant_id")
        if key in decisions:
            assert row["approach"] == decisions[key]
            assert row["decided_by"] == "override"
            assert row["approach_shares"] == f"{decisions[key]}:1"
        else:
            assert row["decided_by"] != "override"


def test_a_ledger_written_with_escaped_formulas_still_matches(tmp_path):
    """write_safe_csv writes the grant id "-7" as "'-7"; reading it back must undo that."""
    frame = grants().with_columns(pl.lit("-7").alias("grant_id"))
    path = ledger(tmp_path, "'-7,response,,Checked by hand,'=ana,2024-05-02")
    entries = load_overrides(path, taxonomy=TAXONOMY).entries
    assert entries.item(0, "key") == "-7" and entries.item(0, "reviewer") == "=ana"
    assert set(classify_grants(frame, TAXONOMY, overrides=path).table["approach"]) == {"response"}
