"""Manifests: a YAML list of input files, each with options of its own."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.errors import InputFileError, ManifestError
from analyzer.ingest import read_files
from analyzer.manifest import load_manifest


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def portfolio(tmp_path: Path) -> Path:
    """A folder of two CSVs, neither with a funder or year column."""
    folder = tmp_path / "portfolio"
    folder.mkdir()
    write(folder, "council.csv", "Org,Amount\nA,100\nB,200\n")
    write(folder, "trust.csv", "Recipient,Grant (GBP)\nC,50\n")
    return folder


def test_each_file_gets_its_own_options_over_the_commands(portfolio: Path) -> None:
    manifest = write(portfolio, "portfolio.yaml", """\
files:
  - path: council.csv
    year: 2015
    funder: City Council
  - path: trust.csv
    currency: gbp
    map: {amount: "Grant (GBP)"}
""")  # fmt: skip
    result = read_files([manifest], funder="Everyone's Funder", year=2020)
    grants = result.grants.sort("record_id")
    by_file = {
        name: frame.select("funder", "year", "currency").unique().to_dicts()
        for (name,), frame in grants.group_by("source_file")
    }
    assert by_file["council.csv"] == [{"funder": "City Council", "year": 2015, "currency": "USD"}]
    # trust.csv keeps the command's funder and year, with its own currency and mapping.
    assert by_file["trust.csv"] == [
        {"funder": "Everyone's Funder", "year": 2020, "currency": "GBP"}
    ]
    council, trust = result.reports
    assert council.notes == [
        "no funder column; every grant's funder is 'City Council' (funder in portfolio.yaml)",
        "no year or date column; every grant's year is 2015 (year in portfolio.yaml)",
        "2 row(s) name no currency (no currency column, symbol or code); assumed USD - pass "
        "--currency to set the currency",
    ]
    assert "no funder column; every grant's funder is \"Everyone's Funder\" (--funder)" in (
        trust.notes
    )
    assert trust.totals == {"GBP": Decimal("50.00")}
    assert council.rows_loaded == 2 and trust.rows_loaded == 1


def test_a_manifest_mixes_with_files_and_plain_paths(portfolio: Path) -> None:
    manifest = write(portfolio, "m.yml", "files:\n  - council.csv\n")
    other = write(portfolio.parent, "other.csv", "Org,Amount\nZ,5\n")
    result = read_files([manifest, other])
    assert [r.file_name for r in result.reports] == ["council.csv", "other.csv"]
    assert result.grants.get_column("amount").sum() == Decimal("305")


def test_a_file_named_twice_is_refused(portfolio: Path) -> None:
    manifest = write(portfolio, "m.yaml", "files:\n  - council.csv\n")
    with pytest.raises(InputFileError, match="same name"):
        read_files([manifest, portfolio / "council.csv"])


def test_every_structural_problem_is_reported_with_its_line(portfolio: Path) -> None:
    manifest = write(portfolio, "bad.yaml", """\
files:
  - path: council.csv
    yeer: 2015
  - path: missing.csv
  - path: trust.csv
    map: {amout: "Grant (GBP)"}
    year: "2015"
  - 42
owner: me
""")  # fmt: skip
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest)
    problems = caught.value.problems
    assert 'bad.yaml, line 3, files[0].yeer: unknown key "yeer" (did you mean "year"?)' in problems
    assert any(p.startswith("bad.yaml, line 4, files[1].path: no such file: ") for p in problems)
    assert any(p.startswith('bad.yaml, line 6, files[2].map.amout: unknown field "amout"')
               for p in problems)  # fmt: skip
    assert 'bad.yaml, line 7, files[2].year: expected a whole number, got "2015"' in problems
    assert "bad.yaml, line 8, files[3]: expected a file path or a mapping with a path, got 42" in (
        problems
    )
    assert 'bad.yaml, line 9, owner: unknown key "owner" (a manifest has only "files")' in problems
    assert len(problems) == 6


@pytest.mark.parametrize(
    "text",
    ["", "files: []\n", "- council.csv\n", "files: [council.csv\n"],
    ids=["empty", "no files", "a bare list", "not yaml"],
)
def test_a_manifest_without_files_is_an_error(portfolio: Path, text: str) -> None:
    with pytest.raises(ManifestError, match="not a valid manifest"):
        load_manifest(write(portfolio, "m.yaml", text))


def test_a_manifest_that_is_not_utf8_is_named(portfolio: Path) -> None:
    path = portfolio / "m.yaml"
    path.write_bytes("files:\n  - path: caf\u00e9.csv\n".encode("cp1252"))
    with pytest.raises(InputFileError, match="not UTF-8"):
        load_manifest(path)


def test_values_are_checked_like_the_command_line_options(portfolio: Path) -> None:
    manifest = write(portfolio, "m.yaml", """\
files:
  - path: council.csv
    currency: dollars
  - path: trust.csv
    fiscal_year_start: 13
""")  # fmt: skip
    with pytest.raises(ManifestError) as caught:
        read_files([manifest])
    assert caught.value.problems == [
        "m.yaml, line 2, files[0]: currency 'DOLLARS' is not an ISO 4217 currency code",
        "m.yaml, line 4, files[1]: fiscal year start 13 is not a month",
    ]


def test_sheets_are_chosen_per_file(fixtures: Path, tmp_path: Path) -> None:
    manifest = write(tmp_path, "m.yaml", f"""\
files:
  - path: {fixtures / "messy_grants.xlsx"}
    sheet: FY2024 Grants
""")  # fmt: skip
    reports = read_files([manifest]).reports
    assert [r.sheet for r in reports] == ["FY2024 Grants"]


def test_cli_ingest_and_analyze_take_a_manifest(portfolio: Path, tmp_path: Path) -> None:
    manifest = write(portfolio, "portfolio.yaml", "files:\n  - path: council.csv\n    year: 2015\n")
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(manifest), "--db", str(tmp_path / "p.duckdb"),
                                 "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)
    assert report["file"] == "council.csv" and report["totals"] == {"USD": "300.00"}

    out = tmp_path / "classified.csv"
    result = runner.invoke(app, ["classify", str(manifest), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert pl.read_csv(out).get_column("year").to_list() == [2015, 2015]

    both = write(portfolio, "both.yaml", "files: [council.csv, {path: trust.csv, currency: GBP}]")
    result = runner.invoke(app, ["analyze", str(both), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert "3 grants from 2 file(s)" in result.output
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    totals = {code: c["total"] for code, c in summary["portfolio"]["currencies"].items()}
    assert totals == {"USD": "300.00", "GBP": "50.00"}

    bad = write(portfolio, "bad.yaml", "files:\n  - path: nowhere.csv\n")
    result = runner.invoke(app, ["ingest", str(bad), "--db", str(tmp_path / "p.duckdb")])
    assert result.exit_code == 2
    assert "bad.yaml, line 2, files[0].path: no such file" in result.output


def test_years_in_columns_per_file_and_from_the_command_line(portfolio: Path) -> None:
    write(portfolio, "wide.csv", "Program,FY2023,FY2024\nShelter,10,20\n")
    entries = "files:\n  - council.csv\n  - {path: wide.csv, years_in_columns: true}\n"
    manifest = write(portfolio, "m.yaml", entries)
    grants = read_files([manifest]).grants
    assert grants.filter(pl.col("source_file") == "wide.csv").get_column("year").to_list() == [
        2023, 2024,
    ]  # fmt: skip
    result = CliRunner().invoke(
        app, ["inspect", str(portfolio / "wide.csv"), "--years-in-columns", "--json"]
    )
    assert result.exit_code == 0, result.output
    (found,) = json.loads(result.stdout)
    assert [row["year"] for row in found["preview"]] == ["2023", "2024"]
    bad = write(
        portfolio, "bad.yaml", "files:\n  - {path: wide.csv, years_in_columns: yes please}\n"
    )
    with pytest.raises(ManifestError) as caught:
        load_manifest(bad)
    assert caught.value.problems == [
        'bad.yaml, line 2, files[0].years_in_columns: expected true or false, got "yes please"'
    ]


def test_inspect_shows_each_file_of_a_manifest_with_its_options(portfolio: Path) -> None:
    manifest = write(
        portfolio, "m.yaml", "files:\n  - council.csv\n  - {path: trust.csv, funder: Trust}\n"
    )
    result = CliRunner().invoke(app, ["inspect", str(manifest), "--json"])
    assert result.exit_code == 0, result.output
    council, trust = json.loads(result.stdout)
    assert council["file"] == "council.csv" and trust["file"] == "trust.csv"
    assert "no funder column; every grant's funder is 'Trust' (funder in m.yaml)" in trust["notes"]
    assert trust["preview"][0]["funder"] == "Trust" and council["preview"][0]["funder"] is None


def test_the_real_portfolio_in_one_command(realdata: Path, tmp_path: Path) -> None:
    """The four real files need different options: one manifest reads them all at once."""
    manifest = write(tmp_path, "real.yaml", f"""\
files:
  - path: {realdata / "nyc_council_discretionary_funding_FY2015.csv"}
    year: 2015
    funder: New York City Council
  - path: {realdata / "public_welfare_foundation_grants_2013-2019.csv"}
    funder: Public Welfare Foundation
  - path: {realdata / "usaspending_doj_ovc_anti_trafficking_awards_subset.csv"}
  - path: {realdata / "360giving_ab_charitable_trust_2013-2021.xlsx"}
""")  # fmt: skip
    grants = read_files([manifest]).grants
    nyc = grants.filter(pl.col("source_file").str.starts_with("nyc_"))
    assert nyc.height == 6291 and nyc.get_column("year").unique().to_list() == [2015]
    pwf = grants.filter(pl.col("source_file").str.starts_with("public_welfare"))
    assert pwf.height == 663
    assert pwf.get_column("funder").unique().to_list() == ["Public Welfare Foundation"]
    # Files that name their funder and years keep them.
    usa = grants.filter(pl.col("source_file").str.starts_with("usaspending"))
    assert usa.get_column("funder").null_count() == 0
    assert "Public Welfare Foundation" not in usa.get_column("funder").to_list()
    assert grants.height == 6291 + 663 + 56 + 783
