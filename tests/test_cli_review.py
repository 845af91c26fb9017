"""`analyzer review apply` through the command line."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner
from workbook_support import fill, make_analysis

from analyzer.cli import app
from analyzer.workbook import write_workbook

runner = CliRunner()


@pytest.fixture
def workbook(tmp_path):
    return write_workbook(tmp_path / "workbook.xlsx", make_analysis())


def test_apply_writes_the_ledger(workbook, tmp_path):
    fill(
        workbook,
        {
            "grants.csv:4": {
                "Your category": "response",
                "Reason": "hotline",
                "Reviewer": "ana",
                "Date": "2024-05-02",
            }
        },
    )
    ledger = tmp_path / "overrides.csv"
    result = runner.invoke(app, ["review", "apply", str(workbook), "-o", str(ledger)])
    assert result.exit_code == 0, result.output
    assert "1 decision(s) from workbook.xlsx" in result.output
    assert "--overrides" in result.output
    assert pl.read_csv(ledger, infer_schema=False).row(0) == (
        "grants.csv:4",
        "response",
        None,
        "hotline",
        "ana",
        "2024-05-02",
    )


def test_default_ledger_is_overrides_csv_in_the_current_folder(workbook, tmp_path, monkeypatch):
    fill(workbook, {"grants.csv:4": {"Your category": "response", "Reason": "hotline"}})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["review", "apply", str(workbook)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "overrides.csv").is_file()


def test_json_output(workbook, tmp_path):
    fill(workbook, {"grants.csv:3": {"Your category": "intervention", "Reason": "survivors"}})
    ledger = tmp_path / "o.csv"
    result = runner.invoke(app, ["review", "apply", str(workbook), "-o", str(ledger), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ledger"] == str(ledger)
    assert [d["category"] for d in data["decisions"]] == ["intervention"]


def test_invalid_choices_exit_2_with_locations(workbook, tmp_path):
    fill(workbook, {"grants.csv:3": {"Your category": "responce", "Reason": "typo"}})
    ledger = tmp_path / "o.csv"
    result = runner.invoke(app, ["review", "apply", str(workbook), "-o", str(ledger)])
    assert result.exit_code == 2
    assert "sheet 'Review', row 3, column 'Your category'" in result.output
    assert "Traceback" not in result.output
    assert not ledger.exists()


def test_nothing_filled_in_says_so(workbook, tmp_path):
    ledger = tmp_path / "o.csv"
    result = runner.invoke(app, ["review", "apply", str(workbook), "-o", str(ledger)])
    assert result.exit_code == 0, result.output
    assert "No decisions" in result.output
    assert not ledger.exists()


def test_missing_workbook_exit_2(tmp_path):
    result = runner.invoke(app, ["review", "apply", str(tmp_path / "nope.xlsx")])
    assert result.exit_code == 2
    assert "workbook not found" in result.output


def test_review_help_lists_apply():
    result = runner.invoke(app, ["review", "--help"])
    assert result.exit_code == 0
    assert "apply" in result.output
