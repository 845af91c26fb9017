"""Property tests of ingest's promise: every row below the header is loaded, excluded or
rejected, exactly once, and the totals are the sums of what was loaded."""

from __future__ import annotations

import csv
import io
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from analyzer.ingest import read_files

AMOUNTS = st.one_of(
    st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False).map(str),
    st.sampled_from(
        ["$1,200.00", "(15,000)", "1.2M", "15K", "USD 1,000", "£30,000", "€20", "-0.50", "0",
         "TBD", "n/a", "12.345", "1,2,3", "$", "", "   ", "=1+1", "1e5", "CAD 10", "10 GBP"]
    ),
)  # fmt: skip
TEXTS = st.one_of(
    # Control characters are left out: a NUL makes the file binary, refused as a whole.
    st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=30),
    st.sampled_from(["Total", "TOTAL:", "Subtotal", "Grand Total", "Amount", "", "=HYPERLINK()",
                     "line one\nline two", 'say "hi", twice', "Café Élan"]),
)  # fmt: skip
ROWS = st.lists(st.tuples(TEXTS, TEXTS, AMOUNTS), min_size=1, max_size=40)


def csv_bytes(rows: list[tuple[str, str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Recipient", "Purpose", "Amount"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ROWS)
def test_every_row_is_accounted_for_once_and_totals_add_up(rows) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "grants.csv"
        path.write_bytes(csv_bytes(rows))
        result = read_files([path])
    (report,) = result.reports
    loaded = result.grants.get_column("source_row").to_list()
    not_loaded = result.rejects.get_column("source_row").to_list()
    # CSV rows are record numbers, the header being record 1.
    assert sorted(loaded + not_loaded) == list(range(2, len(rows) + 2))
    assert report.rows_seen == len(rows)
    assert report.rows_loaded == len(loaded)
    assert report.rows_excluded + report.rows_rejected == len(not_loaded)
    sums: Counter = Counter()
    for currency, amount in result.grants.select("currency", "amount").iter_rows():
        sums[currency] += amount
    assert report.totals == {c: Decimal(v) for c, v in sums.items()}
    # A loaded amount is never guessed: its cell held a number.
    cells = {i + 2: row[2] for i, row in enumerate(rows)}
    for row, amount in result.grants.select("source_row", "amount").iter_rows():
        assert any(ch.isdigit() for ch in cells[row]), (cells[row], amount)
    reasons = result.rejects.filter(pl.col("reason").is_null())
    assert reasons.is_empty(), "every row not loaded has its reason"


XLSX_AMOUNTS = st.one_of(
    AMOUNTS,
    st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False).map(float),
    st.integers(min_value=-(10**9), max_value=10**9),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(TEXTS, TEXTS, XLSX_AMOUNTS), min_size=1, max_size=25))
def test_workbook_rows_are_accounted_for_once(rows) -> None:
    """The same promise for a workbook with numbers stored as numbers (rows are Excel rows)."""
    from openpyxl import Workbook

    # Empty cells are not saved: a sheet of them has a header only, an error of its own.
    assume(any(value != "" for row in rows for value in row))

    book = Workbook()
    sheet = book.active
    sheet.append(["Recipient", "Purpose", "Amount"])
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            cell = sheet.cell(number, column, value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula, as a person typed it
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "grants.xlsx"
        book.save(path)
        result = read_files([path])
    report = result.reports[0]
    rows_seen = result.grants.height + result.rejects.height
    numbers = sorted(result.grants.get_column("source_row").to_list()
                     + result.rejects.get_column("source_row").to_list())  # fmt: skip
    assert numbers == list(range(2, 2 + rows_seen)) and rows_seen == report.rows_seen
    # Trailing rows with nothing in them are not part of the sheet Excel saves.
    assert rows_seen <= len(rows)
    # A number stored as a number loads exactly, unless its row is not a grant (a total).
    for i, (_, _, amount) in enumerate(rows[:rows_seen]):
        if isinstance(amount, int | float):
            row = 2 + i
            loaded = result.grants.filter(pl.col("source_row") == row)
            if loaded.is_empty():
                (disposition,) = result.rejects.filter(pl.col("source_row") == row)["disposition"]
                assert disposition == "excluded"
            else:
                exact = Decimal(str(amount)).quantize(Decimal("0.01"))
                assert loaded.item(0, "amount") == exact
