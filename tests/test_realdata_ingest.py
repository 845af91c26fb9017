"""The team's real public grant files ingest with the counts and totals a person computes by
hand. Every expected figure is computed here independently (csv module + Decimal, openpyxl),
never copied from the tool's output."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from analyzer.ingest import ingest, read_files, summary

pytestmark = pytest.mark.realdata

NYC = "nyc_council_discretionary_funding_FY2015.csv"
PWF = "public_welfare_foundation_grants_2013-2019.csv"
USA = "usaspending_doj_ovc_anti_trafficking_awards_subset.csv"
GIVING = "360giving_ab_charitable_trust_2013-2021.xlsx"


def csv_records(path: Path, encoding: str) -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle))


def dollars(text: str) -> Decimal:
    return Decimal(text.strip().replace("$", "").replace(",", ""))


def one_file(path: Path):
    result = read_files([path])
    assert len(result.reports) == 1
    report = result.reports[0]
    assert report.rows_seen == report.rows_loaded + report.rows_excluded + report.rows_rejected
    return result, report


def test_nyc_mac_roman_cr_only(realdata: Path) -> None:
    """SOURCES.md calls this file latin-1, but its CR-only line endings are classic Mac OS and
    so is its encoding: byte 0xD5 is "’" in Mac Roman ("today’s"), "Õ" in cp1252."""
    path = realdata / NYC
    raw = path.read_bytes()
    assert b"\r\n" not in raw[:100_000] and b"\r" in raw[:1000]  # the quirk is real
    records = csv_records(path, "mac_roman")
    expected = sum(dollars(r["Amount ($"]) for r in records)
    result, report = one_file(path)
    assert len(records) == 6291 and expected == Decimal("290430654.22")
    assert report.encoding == "mac_roman"
    assert (report.rows_seen, report.rows_loaded) == (len(records), len(records))
    assert report.totals == {"USD": expected}
    assert report.mapping["amount"] == "Amount ($"
    # source_row is the record number: record n of the file (header = 1) is data row n - 2.
    grants = result.grants
    for n in (2, 500, 6292):
        row = grants.filter(pl.col("source_row") == n).row(0, named=True)
        assert row["recipient"] == records[n - 2]["Legal Name of Organization"].strip()
        assert row["amount"] == dollars(records[n - 2]["Amount ($"])
    assert any("--year" in note for note in report.notes)  # no year column in this file
    # Mac Roman characters (curly quotes, dashes, ®) come through as the same characters
    non_ascii = {c for r in records for v in r.values() if v for c in v if ord(c) > 127}
    originals = grants["original"].str.json_decode()
    kept = {c for cells in originals.to_list() for v in cells.values() if v for c in v}
    assert non_ascii and non_ascii <= kept
    assert "’" in non_ascii and "Õ" not in non_ascii


def test_public_welfare_foundation(realdata: Path) -> None:
    records = csv_records(realdata / PWF, "utf-8")
    result, report = one_file(realdata / PWF)
    assert len(records) == 663 == report.rows_loaded
    assert report.totals == {"USD": sum(dollars(r["amount"]) for r in records)}
    assert result.grants["year"].to_list() == [int(r["year"]) for r in records]
    per_year = Counter(int(r["year"]) for r in records)
    assert dict(Counter(result.grants["year"].to_list())) == per_year
    assert result.grants["state"][0] == "MD"  # "Rockville, MD"


def test_usaspending_subset(realdata: Path) -> None:
    records = csv_records(realdata / USA, "utf-8")
    amounts = [Decimal(r["Award Amount"]) for r in records]
    result, report = one_file(realdata / USA)
    assert len(records) == 56 == report.rows_loaded
    assert sum(amounts) == Decimal("63995630.38") == report.totals["USD"]
    assert report.preset == "usaspending-awards-search"
    grants = result.grants
    assert grants.filter(pl.col("amount") == 0).height == sum(a == 0 for a in amounts) == 14
    negatives = grants.filter(pl.col("amount") < 0)
    assert negatives["amount"].to_list() == [Decimal("-12257.57")]
    assert negatives["flags"].to_list() == ["negative"]
    assert grants.filter(pl.col("flags") == "zero").height == 14
    multiline = [r["Description"] for r in records if "\n" in r["Description"]]
    assert multiline and set(multiline) <= set(grants["description"].to_list())

    # Federal fiscal year (October-September) of the start date, computed by hand.
    def federal_fy(text: str) -> int:
        day = datetime.strptime(text, "%Y-%m-%d")
        return day.year + (day.month >= 10)

    assert grants["year"].to_list() == [federal_fy(r["Start Date"]) for r in records]
    assert grants["grant_id"].to_list() == [r["Award ID"] for r in records]
    assert set(grants["state"].drop_nulls()) <= {
        r["Place of Performance State Code"] for r in records
    }


def test_360giving_workbook(realdata: Path) -> None:
    book = openpyxl.load_workbook(realdata / GIVING, read_only=True)
    sheet = book[book.sheetnames[0]]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    data = [dict(zip(header, r, strict=False)) for r in rows[1:] if any(v is not None for v in r)]
    expected = sum(Decimal(str(r["Amount Awarded"])) for r in data)
    result, report = one_file(realdata / GIVING)
    assert len(data) == 783 == report.rows_loaded
    assert expected == Decimal("12785625")
    assert report.totals == {"GBP": expected}
    assert report.preset == "360giving" and report.sheet == book.sheetnames[0]
    assert result.grants["year"].to_list() == [r["Award Date"].year for r in data]
    programmes = Counter(r["Grant Programme:Title"] for r in data)
    assert dict(Counter(result.grants["program"].to_list())) == programmes


def test_all_real_files_in_one_store(realdata: Path, tmp_path: Path) -> None:
    db = tmp_path / "real.duckdb"
    result = ingest(sorted(realdata.glob("*.csv")) + sorted(realdata.glob("*.xlsx")), db=db)
    assert result.grants.height == 6291 + 663 + 56 + 783
    assert result.rejects.height == 0
    facts = summary(db)
    usd = (
        Decimal("290430654.22")
        + sum(dollars(r["amount"]) for r in csv_records(realdata / PWF, "utf-8"))
        + Decimal("63995630.38")
    )
    assert facts["totals"] == {"GBP": Decimal("12785625.00"), "USD": usd}
    assert result.grants["record_id"].n_unique() == result.grants.height
