"""The classify commands: thin over the API, exit codes, JSON equal to what the API returns."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from analyzer import store
from analyzer.cli import app
from analyzer.evaluate import evaluate
from analyzer.explain import explain
from analyzer.schema import CLASSIFICATION_EXPORT_COLUMNS, EXPORT_COLUMNS

runner = CliRunner()
TAXONOMIES = Path(__file__).parent / "fixtures" / "taxonomies"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def spreadsheet(tmp_path: Path) -> Path:
    path = tmp_path / "grants.csv"
    path.write_text(
        "Grant ID,Recipient,Description,Amount\n"
        "G-1,Safe Home,Shelter beds and case management for girls rescued from trafficking,1000\n"
        "G-2,County Sheriff,ICAC task force investigations of online exploitation of children,500\n"
        "G-3,Parks Dept,Resurfacing tennis courts and replacing park benches in the borough,20\n",
        encoding="utf-8",
    )
    return path


def test_classify_writes_the_contract_csv_and_stores(tmp_path):
    out, db = tmp_path / "out.csv", tmp_path / "p.duckdb"
    result = run("classify", spreadsheet(tmp_path), "-o", out, "--db", db, "--policy", "split")
    assert result.exit_code == 0, result.output
    assert "classified 3 grants" in result.output
    frame = pl.read_csv(out, infer_schema=False)
    assert frame.columns[: len(EXPORT_COLUMNS)] == list(EXPORT_COLUMNS)
    rest = frame.columns[len(EXPORT_COLUMNS) :]
    assert rest == [*CLASSIFICATION_EXPORT_COLUMNS, "explanation", "allocated"]
    assert frame.get_column("approach").to_list() == ["intervention", "response", "out-of-scope"]
    con = store.connect(db)
    try:
        assert con.execute("SELECT count(*) FROM classifications").fetchone() == (3,)
        assert con.execute("SELECT taxonomy_name FROM classification_runs").fetchone() == ("csec",)
    finally:
        con.close()
    again = run("classify", "--db", db, "-o", tmp_path / "again.csv")
    assert again.exit_code == 0, again.output


def test_classify_takes_the_ingest_options(tmp_path):
    out = tmp_path / "out.csv"
    options = ["--currency", "CAD", "--funder", "Harbor Fund", "--year", "2021"]
    result = run("classify", spreadsheet(tmp_path), "-o", out, *options, "--map", "title=Recipient")
    assert result.exit_code == 0, result.output
    frame = pl.read_csv(out, infer_schema=False)
    assert set(frame["currency"]) == {"CAD"} and set(frame["funder"]) == {"Harbor Fund"}
    assert set(frame["year"]) == {"2021"} and frame["title"].to_list()[0] == "Safe Home"


def test_classify_needs_input_and_output(tmp_path):
    result = run("classify", "-o", tmp_path / "x.csv")
    assert result.exit_code == 2 and "nothing to classify" in result.output
    result = run("classify", spreadsheet(tmp_path))
    assert result.exit_code == 2 and "nowhere to put the result" in result.output


def test_explain_text_highlights_and_escapes_markup():
    text = "Shelter for [bold]girls[/bold] rescued from trafficking"
    result = run("explain", "--text", text)
    assert result.exit_code == 0, result.output
    assert "[bold]girls[/bold]" in result.output
    assert "approach: intervention" in result.output
    assert "rules that fired" in result.output


def test_explain_json_equals_the_api(tmp_path):
    db = tmp_path / "p.duckdb"
    run("classify", spreadsheet(tmp_path), "--db", db)
    result = run("explain", "G-2", "--db", db, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(json.dumps(explain("G-2", db=db).to_dict()))
    shown = run("explain", "G-2", "--db", db)
    source = explain("G-2", db=db).source
    assert f"{source['currency']} {source['amount']} · " in shown.output
    assert f"{source['source_file']}, row {source['source_row']}" in shown.output
    missing = run("explain", "nope", "--db", db)
    assert missing.exit_code == 2 and "no grant" in missing.output


def test_taxonomy_check_reports_errors_with_lines_and_warnings():
    broken = run("taxonomy", "check", TAXONOMIES / "broken.yaml")
    assert broken.exit_code == 2
    output = " ".join(broken.output.split())  # the console wraps long lines
    assert "20 problems" in output and "broken.yaml, line 27, rules[0]" in output
    valid = run("taxonomy", "check", TAXONOMIES / "base.yaml")
    assert valid.exit_code == 0, valid.output
    assert "is valid" in valid.output and "warning" in valid.output


def test_taxonomy_test_exit_codes(tmp_path):
    assert run("taxonomy", "test", "prevention-levels").exit_code == 0
    failing = tmp_path / "failing.yaml"
    failing.write_text(
        (TAXONOMIES / "base.yaml")
        .read_text()
        .replace("approach: response}", "approach: intervention}")
    )
    result = run("taxonomy", "test", failing)
    assert result.exit_code == 1
    assert "FAIL" in result.output and "expected intervention, got response" in result.output


def test_taxonomy_list_shows_bundled_taxonomies():
    result = run("taxonomy", "list", "--json")
    assert result.exit_code == 0
    names = [item["name"] for item in json.loads(result.stdout)]
    assert {"csec", "prevention-levels"} <= set(names)


def test_evaluate_json_equals_the_api():
    gold = Path(__file__).parent / "data" / "dev_set.csv"
    result = run("evaluate", "--gold", gold, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(json.dumps(evaluate(gold).to_dict()))
    text = run("evaluate", "--gold", gold).output
    assert "accuracy" in text and "confusion" in text


def test_classify_with_overrides_warns_about_unknown_grants(tmp_path):
    ledger = tmp_path / "overrides.csv"
    ledger.write_text(
        "grant_id,category,reason\nG-3,structural-prevention,Parks are for kids\nG-9,response,x\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    result = run("classify", spreadsheet(tmp_path), "-o", out, "--overrides", ledger)
    assert result.exit_code == 0, result.output
    assert "1 override(s)" in result.output and "G-9" in result.output
    frame = pl.read_csv(out, infer_schema=False)
    assert frame.filter(pl.col("grant_id") == "G-3").row(0, named=True)["decided_by"] == "override"
