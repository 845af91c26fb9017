"""The ingest commands: thin over the API, JSON equal to what the API returns."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.ingest import read_files

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_ingest_json_equals_the_api_reports(fixtures: Path, tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    files = [fixtures / "messy_grants.xlsx", fixtures / "cp1252_accents.csv"]
    result = run("ingest", *files, "--db", db, "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    expected = [r.to_dict() for r in read_files(files).reports]
    assert printed == expected
    first = printed[0]
    assert (
        first["rows_seen"] == first["rows_loaded"] + first["rows_excluded"] + first["rows_rejected"]
    )
    assert first["totals"] == {"USD": "2432234.50"}
    again = json.loads(run("ingest", *files, "--db", db, "--json").stdout)
    assert all(r["already_loaded"] for r in again if not r["skipped"])


def test_ingest_prints_counts_totals_and_notes(fixtures: Path, tmp_path: Path) -> None:
    result = run("ingest", fixtures / "messy_grants.xlsx", "--db", tmp_path / "p.duckdb")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "FY2024 Grants" in text and "USD 2,432,234.50" in text
    assert "GBP 72,500.00" in text and "EUR 12,000.00" in text
    assert "skipped" in text  # the notes sheet
    assert "excluded: 2 total or subtotal row" in text
    assert "rejected: 1 amount is not a number" in text


def test_ingest_options_reach_the_api(fixtures: Path, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("Org,Sum Paid\nA,100\n")
    result = run("ingest", path, "--db", tmp_path / "p.duckdb", "--map", 'amount="Sum Paid"',
                 "--currency", "CAD", "--year", "2020", "--funder", "Ford", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)[0]
    assert report["totals"] == {"CAD": "100.00"} and report["mapping"]["amount"] == "Sum Paid"
    assert "no funder column; every grant's funder is 'Ford' (--funder)" in report["notes"]


def test_errors_exit_2_with_location_and_hint(fixtures: Path, tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    result = run("ingest", fixtures / "no_amount.csv", "--db", db)
    assert result.exit_code == 2
    assert "no_amount.csv" in result.output and "--map amount=" in result.output
    assert not db.exists()
    result = run("ingest", fixtures / "messy_grants.xlsx", "--db", db, "--sheet", "Nope")
    assert result.exit_code == 2 and "'Notes'" in result.output


def test_summary_and_export(fixtures: Path, tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    run("ingest", fixtures / "messy_grants.xlsx", fixtures / "cp1252_accents.csv", "--db", db)
    facts = json.loads(run("summary", "--db", db, "--json").stdout)
    assert facts["totals"] == {"EUR": "14000.00", "GBP": "72500.00", "USD": "2437335.50"}
    assert facts["grants"] == 17
    text = run("summary", "--db", db).output
    assert "total USD 2,437,335.50" in text and "17 grants" in text
    out = tmp_path / "grants.csv"
    result = run("export", "--db", db, "-o", out)
    assert result.exit_code == 0 and "17 grants" in result.output
    assert out.read_text(encoding="utf-8-sig").count("\n") == 18
    missing = run("summary", "--db", tmp_path / "none.duckdb")
    assert missing.exit_code == 2 and "analyzer ingest" in missing.output


def test_inspect(fixtures: Path) -> None:
    result = run("inspect", fixtures / "messy_grants.xlsx", "--sheet", "FY2024 Grants")
    assert result.exit_code == 0, result.output
    assert "header row: 4" in result.output and "Award Date" in result.output
    assert "not found: funder" in result.output
    data = json.loads(run("inspect", fixtures / "no_amount.csv", "--json").stdout)
    assert data[0]["problem"] and "amount" in data[0]["missing"]


def test_every_command_has_help() -> None:
    for command in ("ingest", "inspect", "summary", "export"):
        result = run(command, "--help")
        assert (result.exit_code == 0 and "--db" in result.output) or command == "inspect"
