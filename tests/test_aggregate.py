"""Summary figures: checked against sums computed independently (csv + Decimal), exact money,
both allocation policies adding back to the portfolio, currencies never mixed."""

from __future__ import annotations

import itertools
from decimal import Decimal

import polars as pl
import pytest
from report_support import (
    CSEC_LIKE,
    NO_SIDES,
    allocated,
    amount,
    expected_figures,
    hand_store,
    load_summary_json,
    read_classified,
    run_analysis,
)

from analyzer.aggregate import HEADLINE_TABLES, MIX_TABLES, Scale, summarize
from analyzer.errors import AnalyzerError, StoreError

MONEY_FIELDS = ("total", "in_scope", "classified", "out_of_scope", "unclassified")
MEASURES = ("coverage", "prevention_share", "symptoms_to_causes", "structural_share")


@pytest.fixture(scope="module", params=["primary", "split"])
def analysed(request, tmp_path_factory):
    """The fixture portfolio analysed under one policy, with what it wrote."""
    out = tmp_path_factory.mktemp(f"analysis-{request.param}")
    analysis = run_analysis(out, policy=request.param)
    rows = read_classified(out / "classified.csv")
    summary_json = load_summary_json(out / "summary.json")
    return request.param, analysis, rows, summary_json


# --- Against classified.csv -------------------------------------------------------------------


def test_headline_figures_match_classified_csv(analysed):
    policy, analysis, rows, summary_json = analysed
    expected = expected_figures(rows, summary_json["categories"], split=policy == "split")
    portfolio = analysis.summary["portfolio"]
    assert sorted(portfolio["currency"].to_list()) == sorted(expected)
    for row in portfolio.iter_rows(named=True):
        want = expected[row["currency"]]
        for name in MONEY_FIELDS:
            assert row[name] == want[name], (row["currency"], name)
        for name in MEASURES:
            if want[name] is None:
                assert row[name] is None, (row["currency"], name)
            else:
                assert row[name] == pytest.approx(want[name], rel=1e-9), (row["currency"], name)


def test_money_per_category_matches_classified_csv(analysed):
    policy, analysis, rows, summary_json = analysed
    expected = expected_figures(rows, summary_json["categories"], split=policy == "split")
    approach = analysis.summary["approach"]
    got: dict[str, dict[str, Decimal]] = {}
    for row in approach.iter_rows(named=True):
        got.setdefault(row["currency"], {})[row["category"]] = row["amount"]
    assert got == {c: {k: v for k, v in e["approach"].items()} for c, e in expected.items()}


def test_every_grouping_adds_back_to_the_portfolio_total(analysed):
    _, analysis, rows, _ = analysed
    summary = analysis.summary
    totals = {}
    for row in rows:
        totals[row["currency"]] = totals.get(row["currency"], Decimal(0)) + amount(row)
    for name in HEADLINE_TABLES:  # each partitions the grants of a currency
        sums = summary[name].group_by("currency").agg(pl.col("total").sum())
        assert dict(sums.iter_rows()) == totals, name
    for name in MIX_TABLES:
        sums = summary[name].group_by("currency").agg(pl.col("amount").sum())
        assert dict(sums.iter_rows()) == totals, name


def test_allocations_add_back_per_grant(analysed):
    policy, _, rows, _ = analysed
    for row in rows:
        parts = allocated(row)
        assert sum(parts.values(), Decimal(0)) == amount(row), row["record_id"]
    if policy == "split":
        assert any(len(allocated(row)) > 1 for row in rows), "the fixture has a split grant"


def test_currencies_are_never_mixed(analysed):
    _, analysis, rows, summary_json = analysed
    summary = analysis.summary
    assert summary.currencies[0] == "USD" and "CAD" in summary.currencies
    cad = sum((amount(r) for r in rows if r["currency"] == "CAD"), Decimal(0))
    assert summary.headline("CAD")["total"] == cad
    for name, frame in summary.tables.items():
        if any(dtype == pl.Decimal for dtype in frame.schema.values()):
            assert "currency" in frame.columns, name
            if "currency" in frame.columns:
                assert frame["currency"].null_count() == 0, name
    assert set(summary_json["portfolio"]["currencies"]) == {"USD", "CAD"}
    assert summary_json["main_currency"] == "USD"


def test_summary_json_holds_exact_money_and_measures(analysed):
    policy, analysis, rows, summary_json = analysed
    assert summary_json["policy"] == policy
    assert summary_json["taxonomy"]["taxonomy_name"] == analysis.taxonomy.name
    entries = [
        summary_json["portfolio"],
        *summary_json["funders"],
        *summary_json["years"],
        *summary_json["funder_years"],
    ]
    assert summary_json["funders"] and summary_json["years"] and summary_json["funder_years"]
    for entry in entries:
        for figures in entry["currencies"].values():
            for name in MONEY_FIELDS:
                text = figures[name]
                assert isinstance(text, str) and Decimal(text).as_tuple().exponent == -2
            approach_total = sum((Decimal(v) for v in figures["approach"].values()), Decimal(0))
            assert approach_total == Decimal(figures["total"])
            assert Decimal(figures["in_scope"]) + Decimal(figures["out_of_scope"]) == Decimal(
                figures["total"]
            )
            for name in MEASURES:
                assert figures[name] is None or isinstance(figures[name], float)
    funder_names = {row["funder"] for row in rows}
    assert {entry["funder"] for entry in summary_json["funders"]} == funder_names


def test_year_over_year_change_is_the_difference_of_totals(analysed):
    _, analysis, _, _ = analysed
    yoy = analysis.summary["year_over_year"].filter(pl.col("currency") == "USD").sort("year")
    rows = yoy.to_dicts()
    assert len(rows) >= 3
    assert rows[0]["total_change"] is None
    for previous, current in itertools.pairwise(rows):
        assert current["previous_year"] == previous["year"]
        assert current["total_change"] == current["total"] - previous["total"]


# --- Exact figures on a hand-built store --------------------------------------------------------

HAND_ROWS = [
    {
        "record_id": "a",
        "funder": "F1",
        "recipient": "R1",
        "amount": "100.00",
        "year": 2020,
        "state": "NY",
        "approach": "response",
        "rights": "health",
    },
    {
        "record_id": "b",
        "funder": "F1",
        "recipient": "R2",
        "amount": "50.50",
        "year": 2021,
        "state": "NY",
        "approach": "structural-prevention",
        "rights": "health;housing",
    },
    {
        "record_id": "c",
        "funder": "F2",
        "recipient": "R2",
        "amount": "10.00",
        "year": 2021,
        "state": "CA",
        "approach": "unclassified",
    },
    {
        "record_id": "d",
        "funder": "F2",
        "recipient": "R3",
        "amount": "7.25",
        "currency": "EUR",
        "year": 2021,
        "approach": "out-of-scope",
    },
    {
        "record_id": "e",
        "funder": "F2",
        "recipient": "R3",
        "amount": "29.50",
        "year": 2022,
        "state": "CA",
        "approach": "intervention",
        "ambiguous": True,
    },
]


def test_measures_on_a_hand_built_store():
    con = hand_store(HAND_ROWS)
    summary = summarize(con, Scale.from_info(CSEC_LIKE))
    usd = summary.headline("USD")
    assert usd["total"] == Decimal("190.00")
    assert usd["in_scope"] == Decimal("190.00")
    assert usd["classified"] == Decimal("180.00")
    assert usd["unclassified"] == Decimal("10.00")
    assert usd["coverage"] == pytest.approx(180 / 190)
    assert usd["prevention_share"] == pytest.approx(50.5 / 180)
    assert usd["symptoms_to_causes"] == pytest.approx(129.5 / 50.5)
    assert usd["structural_share"] == pytest.approx(50.5 / 180)
    assert usd["ambiguous_grants"] == 1 and usd["unclassified_grants"] == 1
    eur = summary.headline("EUR")
    assert eur["total"] == eur["out_of_scope"] == Decimal("7.25")
    assert eur["coverage"] is None  # no in-scope money: undefined, not 0
    assert summary.currencies == ["USD", "EUR"]
    sides = {r["side"]: r["amount"] for r in summary["by_side"].to_dicts()}
    assert sides == {"symptoms": Decimal("129.50"), "causes": Decimal("50.50")}


def test_rights_count_a_grant_under_each_of_its_labels():
    con = hand_store(HAND_ROWS)
    rights = summarize(con, Scale.from_info(CSEC_LIKE))["approach_by_right"]
    health = rights.filter(pl.col("right") == "health")["amount"].sum()
    housing = rights.filter(pl.col("right") == "housing")["amount"].sum()
    assert health == Decimal("150.50") and housing == Decimal("50.50")


def test_split_policy_uses_the_split_allocations():
    split = {"a": {"response": "60.00", "resilience-building": "40.00"}}
    con = hand_store(HAND_ROWS, split=split)
    scale = Scale.from_info(CSEC_LIKE)
    primary = summarize(con, scale, policy="primary").headline("USD")
    by_split = summarize(con, scale, policy="split").headline("USD")
    assert primary["total"] == by_split["total"] == Decimal("190.00")
    assert by_split["causes"] == Decimal("90.50") and primary["causes"] == Decimal("50.50")


def test_concentration_by_hand():
    con = hand_store(HAND_ROWS)
    rows = summarize(con, Scale.from_info(CSEC_LIKE))["concentration"]
    recipients = rows.filter((pl.col("currency") == "USD") & (pl.col("entity") == "recipient"))
    shares = [100 / 190, 60.5 / 190, 29.5 / 190]
    assert recipients["hhi"][0] == pytest.approx(sum(s * s for s in shares))
    assert recipients["top10_share"][0] == pytest.approx(1.0)
    assert recipients["largest_share"][0] == pytest.approx(100 / 190)


def test_a_taxonomy_without_sides_gives_no_side_measures():
    rows = [
        {"record_id": "a", "amount": "10.00", "approach": "primary"},
        {"record_id": "b", "amount": "30.00", "approach": "tertiary"},
        {"record_id": "c", "amount": "5.00", "approach": "unclassified"},
    ]
    summary = summarize(hand_store(rows), Scale.from_info(NO_SIDES))
    head = summary.headline()
    assert head["classified"] == Decimal("40.00") and head["coverage"] == pytest.approx(40 / 45)
    assert head["prevention_share"] is None
    assert head["symptoms_to_causes"] is None and head["structural_share"] is None
    assert summary["by_side"].is_empty()
    json = summary.to_json()
    assert json["portfolio"]["currencies"]["USD"]["prevention_share"] is None


def test_unknown_policy_and_unclassified_store_are_errors():
    con = hand_store(HAND_ROWS)
    with pytest.raises(AnalyzerError, match="policy"):
        summarize(con, Scale.from_info(CSEC_LIKE), policy="evenly")
    con.execute("DELETE FROM allocations WHERE record_id = 'a'")
    with pytest.raises(StoreError, match="no 'primary' allocation"):
        summarize(con, Scale.from_info(CSEC_LIKE))
