"""`analyzer analyze`: a thin layer over analyze(): headline sentences and output paths."""

from __future__ import annotations

import json

from report_support import FIXTURE
from typer.testing import CliRunner

from analyzer.cli import app

runner = CliRunner()


def test_analyze_prints_the_headline_and_the_output_paths(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["analyze", str(FIXTURE), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("- Of $") and "classified" in lines[0]
    for kind, name in (
        ("brief", "brief.html"),
        ("workbook", "workbook.xlsx"),
        ("summary", "summary.json"),
        ("classified", "classified.csv"),
    ):
        assert f"{kind:<11} {out / name}" in lines
    assert json.loads((out / "summary.json").read_text())["policy"] == "primary"


def test_analyze_passes_policy_and_ingest_options(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "analyze",
            str(FIXTURE),
            "-o",
            str(out),
            "-q",
            "--policy",
            "split",
            "--map",
            "year=Fiscal Year",
            "--currency",
            "USD",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["policy"] == "split"
    assert {y["year"] for y in summary["years"]} >= {2019, 2020, 2021, 2022}


def test_analyze_reports_errors_without_a_traceback(tmp_path):
    missing = runner.invoke(app, ["analyze", str(tmp_path / "nope.csv"), "-o", str(tmp_path)])
    assert missing.exit_code == 2
    assert "nope.csv" in missing.output and "Traceback" not in missing.output
    policy = runner.invoke(app, ["analyze", str(FIXTURE), "-o", str(tmp_path), "--policy", "x"])
    assert policy.exit_code == 2 and "policy" in policy.output
    mapping = runner.invoke(app, ["analyze", str(FIXTURE), "-o", str(tmp_path), "--map", "amount"])
    assert mapping.exit_code == 2 and "FIELD=HEADER" in mapping.output


def test_a_changed_file_needs_replace_in_a_store(tmp_path):
    db = tmp_path / "portfolio.duckdb"
    grants = tmp_path / "grants.csv"
    grants.write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    first = runner.invoke(
        app, ["analyze", str(grants), "--db", str(db), "-o", str(tmp_path / "a"), "-q"]
    )
    assert first.exit_code == 0, first.output
    lines = grants.read_text(encoding="utf-8").splitlines()
    grants.write_text("\n".join(lines[:5]) + "\n", encoding="utf-8")  # a new version: 4 grants
    refused = runner.invoke(
        app, ["analyze", str(grants), "--db", str(db), "-o", str(tmp_path / "b"), "-q"]
    )
    assert refused.exit_code == 2 and "--replace" in refused.output
    replaced = runner.invoke(
        app, ["analyze", str(grants), "--db", str(db), "-o", str(tmp_path / "c"), "-q", "--replace"]
    )
    assert replaced.exit_code == 0, replaced.output
    summary = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert summary["portfolio"]["currencies"]["USD"]["grants"] == 4
