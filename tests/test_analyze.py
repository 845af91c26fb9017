"""analyze(): the whole pipeline from the Python API: outputs, the Analysis object, the
bundled sample data, a --db store, a user's own taxonomy (without sides) and overrides."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from report_support import FIXTURE, read_classified, run_analysis

from analyzer.analyze import Analysis, analyze, sample_data_files
from analyzer.schema import CLASSIFICATION_SCHEMA, GRANTS_SCHEMA

NO_SIDES_TAXONOMY = """\
name: levels-test
version: "0.1"
description: Public-health prevention levels, to check that any taxonomy gives a report.
dimensions:
  approach:
    kind: primary
    categories:
      - {id: primary, label: Primary prevention, definition: Before any harm., order: 1}
      - {id: secondary, label: Secondary prevention, definition: At the first signs., order: 2}
      - {id: tertiary, label: Tertiary prevention, definition: After harm is done., order: 3}
rules:
  - id: level-primary
    category: primary
    phrases: [curriculum, early childhood education, rental assistance, cash transfer]
  - id: level-secondary
    category: secondary
    phrases: [screening, tip line, task force, mentoring]
  - id: level-tertiary
    category: tertiary
    phrases: [shelter, therapy, vacatur, legal advocacy]
"""


@pytest.fixture(scope="module")
def analysis(tmp_path_factory) -> Analysis:
    return run_analysis(tmp_path_factory.mktemp("analyze"))


def test_it_writes_every_output(analysis):
    out = analysis.out_dir
    for name in ("brief.html", "workbook.xlsx", "summary.json", "classified.csv"):
        assert (out / name).stat().st_size > 0, name
    for chart in analysis.charts:
        assert (out / "charts" / f"{chart}.png").stat().st_size > 0
        assert (out / "charts" / f"{chart}.svg").stat().st_size > 0
    assert set(analysis.files) == {"brief", "workbook", "summary", "classified", "charts"}


def test_the_analysis_object_holds_every_grant_and_its_classification(analysis):
    classified = analysis.classified
    expected = [*GRANTS_SCHEMA, *(c for c in CLASSIFICATION_SCHEMA if c != "record_id")]
    assert classified.columns == expected
    rows = read_classified(analysis.files["classified"])
    assert classified.height == len(rows) == 16
    assert classified["record_id"].to_list() == [r["record_id"] for r in rows]
    assert classified["amount"].sum() == sum(Decimal(r["amount"]) for r in rows)
    assert classified["approach"].null_count() == 0
    assert analysis.rejects.height == 2
    assert analysis.sources.height == 1
    assert analysis.run["policy"] == "primary" and analysis.run["taxonomy_name"] == "csec"
    assert analysis.taxonomy.name == "csec"
    assert {"read", "classify", "aggregate", "charts", "brief.html"} <= set(analysis.timings)


def test_classified_csv_escapes_formulas(analysis):
    rows = read_classified(analysis.files["classified"])
    negative = next(r for r in rows if r["grant_id"] == "R-009")
    assert negative["amount"] == "-5000.00"  # numbers are not escaped
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@")), value


def test_notebook_display_shows_the_headline_escaped(analysis):
    html = analysis._repr_html_()
    assert analysis.headline()[0].replace("'", "&#x27;") in html
    assert "<script>" not in html and "&lt;/script&gt;" in html
    assert "approach_mix" in html


def test_write_false_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = analyze([FIXTURE], write=False, progress=False)
    assert result.out_dir is None and result.files == {}
    assert list(tmp_path.iterdir()) == []
    assert result.charts and result.summary.headline()["total"] > 0


def test_without_inputs_it_runs_on_the_bundled_sample_data(tmp_path):
    files = sample_data_files()
    assert {f.suffix for f in files} <= {".csv", ".xlsx"} and len(files) >= 2
    result = analyze(write=False, progress=False)
    assert set(result.sources["file_name"].to_list()) == {f.name for f in files}
    assert result.classified.height >= 800 * 0.9


def test_a_store_keeps_the_portfolio_between_runs(tmp_path):
    db = tmp_path / "portfolio.duckdb"
    first = analyze([FIXTURE], db=db, write=False, progress=False)
    again = analyze([FIXTURE], db=db, write=False, progress=False)  # re-ingest: a no-op
    stored = analyze(db=db, write=False, progress=False)  # no inputs: what the store holds
    for result in (again, stored):
        assert result.classified.height == first.classified.height
        assert result.summary.headline()["total"] == first.summary.headline()["total"]
    assert stored.reports == []


def test_a_taxonomy_without_sides_gives_a_sensible_report(tmp_path):
    taxonomy = tmp_path / "levels.yaml"
    taxonomy.write_text(NO_SIDES_TAXONOMY, encoding="utf-8")
    result = analyze([FIXTURE], taxonomy=str(taxonomy), out=tmp_path / "out", progress=False)
    head = result.summary.headline()
    assert head["classified"] > 0
    assert head["prevention_share"] is None and head["symptoms_to_causes"] is None
    assert [c.label for c in result.summary.scale.classified] == [
        "Primary prevention",
        "Secondary prevention",
        "Tertiary prevention",
    ]
    brief = (tmp_path / "out" / "brief.html").read_text(encoding="utf-8")
    assert "have no symptoms/causes sides" in brief and "levels-test" in brief
    assert "Primary prevention" in brief and "approach_mix" in result.charts
    assert (tmp_path / "out" / "workbook.xlsx").exists()


def test_overrides_win_and_are_reported(tmp_path):
    ledger = tmp_path / "decisions.csv"
    ledger.write_text(
        "grant_id,category,reason,reviewer,date\n"
        "R-006,response,Checked with the grantee: a police training,ana,2024-05-02\n",
        encoding="utf-8",
    )
    result = analyze([FIXTURE], overrides=ledger, out=tmp_path / "out", progress=False)
    row = result.classified.filter(pl.col("grant_id") == "R-006").row(0, named=True)
    assert row["approach"] == "response" and row["decided_by"] == "override"
    assert result.run["override_count"] == 1
    brief = (tmp_path / "out" / "brief.html").read_text(encoding="utf-8")
    assert "1 decision from" in brief and "decisions.csv" in brief


def test_split_policy_is_recorded(tmp_path):
    result = analyze([FIXTURE], policy="split", write=False, progress=False)
    assert result.summary.policy == "split" and result.run["policy"] == "split"


def test_overrides_are_counted_and_unknown_keys_reported(tmp_path):
    ledger = tmp_path / "decisions.csv"
    ledger.write_text(
        "grant_id,category,reason,reviewer,date\n"
        "R-006,response,Checked with the grantee,ana,2024-05-02\n"
        "NOT-A-GRANT,response,Typo in the ledger,ana,2024-05-02\n",
        encoding="utf-8",
    )
    result = analyze([FIXTURE], overrides=ledger, write=False, progress=False)
    decided = result.classified.filter(pl.col("grant_id") == "R-006")
    assert decided["decided_by"].to_list() == ["override"]
    assert decided["approach"].to_list() == ["response"]
    assert result.run["override_count"] == 1
    assert result.run["overrides_unmatched"] == ["NOT-A-GRANT"]


def test_a_db_store_keeps_the_rule_hits_for_explain(tmp_path):
    from analyzer import store

    db = tmp_path / "portfolio.duckdb"
    analyze([FIXTURE], db=db, write=False, progress=False)
    con = store.connect(db)
    try:
        hits = con.execute("SELECT count(*) FROM matches").fetchall()[0][0]
        originals = con.execute("SELECT count(original) FROM grants").fetchall()[0][0]
    finally:
        con.close()
    assert hits > 0 and originals == 16


@pytest.mark.parametrize("policy", ["primary", "split"])
def test_classified_csv_is_what_classify_writes(tmp_path, policy):
    from analyzer.classify import classify

    analyze([FIXTURE], out=tmp_path / "report", policy=policy, progress=False)
    classify([FIXTURE], out=tmp_path / "classified.csv", policy=policy)
    from_analyze = (tmp_path / "report" / "classified.csv").read_bytes()
    assert from_analyze == (tmp_path / "classified.csv").read_bytes()
