"""Amounts, currencies, dates, years and states: text in, exact values out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analyzer.money import (
    AMOUNT_EMPTY,
    AMOUNT_FRACTION_OF_CENT,
    AMOUNT_NOT_A_NUMBER,
    AMOUNT_UNKNOWN_CURRENCY,
    CURRENCY_CONFLICT,
    CURRENCY_INVALID,
    amount_unit,
    day_first,
    day_number_dates,
    decimal_comma,
    excel_day_numbers,
    fiscal_year,
    in_unit,
    normalise_currency_column,
    normalise_state,
    parse_amounts,
    parse_dates,
    parse_years,
    resolve_currency,
    title_unit,
)


def amounts(*texts: str | None) -> list[tuple]:
    frame = parse_amounts(pl.DataFrame({"a": list(texts)}, schema={"a": pl.String}), "a")
    return frame.select("__amount", "__amount_currency", "__amount_problem").rows()


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("$1,200,000.00", "1200000.00", "$"),
        ("(15,000)", "-15000.00", None),
        ("-15,000", "-15000.00", None),
        ("15,000-", "-15000.00", None),
        ("$(15,000)", "-15000.00", "$"),
        ("(15,000) €", "-15000.00", "EUR"),
        ("(USD 15,000)", "-15000.00", "USD"),
        ("-$5", "-5.00", "$"),
        ("1.2M", "1200000.00", None),
        ("1.23456789M", "1234567.89", None),
        ("15K", "15000.00", None),
        ("2.5 million", "2500000.00", None),
        ("5 mm", "5000000.00", None),
        ("3bn", "3000000000.00", None),
        ("USD 1,000", "1000.00", "USD"),
        ("1,000 EUR", "1000.00", "EUR"),
        ("GBP100", "100.00", "GBP"),
        ("£30,000", "30000.00", "GBP"),
        ("€ 5", "5.00", "EUR"),
        ("C$ 50", "50.00", "CAD"),
        ("US$ 7", "7.00", "USD"),
        ("  30000  ", "30000.00", None),
        ("\u00a030000", "30000.00", None),
        ("30000", "30000.00", None),
        ("1234.5", "1234.50", None),
        (".75", "0.75", None),
        ("0", "0.00", None),
        ("1234.5600", "1234.56", None),
        # Excel float cells as calamine writes them: binary noise past 15 digits.
        ("694867473.870000005", "694867473.87", None),
        ("-731271511.779999971", "-731271511.78", None),
        ("99999999999.99001", "99999999999.99", None),
    ],
)
def test_amount_forms(text: str, value: str, currency: str | None) -> None:
    assert amounts(text) == [(Decimal(value), currency, None)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("TBD", AMOUNT_NOT_A_NUMBER),
        ("1,23", AMOUNT_NOT_A_NUMBER),  # not a thousands separator: never read as 123
        ("1.234,56", AMOUNT_NOT_A_NUMBER),  # decimal comma: refused, not guessed
        ("12.3.4", AMOUNT_NOT_A_NUMBER),
        ("(100", AMOUNT_NOT_A_NUMBER),
        ("1e5", AMOUNT_NOT_A_NUMBER),
        ("USD 5 EUR", AMOUNT_NOT_A_NUMBER),
        ("1234.565", AMOUNT_FRACTION_OF_CENT),
        ("12.345", AMOUNT_FRACTION_OF_CENT),
        ("1.234567891M", AMOUNT_FRACTION_OF_CENT),
        ("0.001", AMOUNT_FRACTION_OF_CENT),
        ("XYZ 100", AMOUNT_UNKNOWN_CURRENCY),
        ("", AMOUNT_EMPTY),
        ("   ", AMOUNT_EMPTY),
        (None, AMOUNT_EMPTY),
    ],
)
def test_amounts_that_are_rejected(text: str | None, problem: str) -> None:
    assert amounts(text) == [(None, None, problem)]


def test_fast_and_full_paths_keep_row_order() -> None:
    texts = ["100", "(5)", "2,000.50", "TBD", "1.5K", "$3"]
    got = [row[0] for row in amounts(*texts)]
    assert got == [Decimal("100"), Decimal("-5"), Decimal("2000.50"), None, Decimal(1500), 3]


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False))
def test_a_formatted_amount_reads_back_exactly(value: Decimal) -> None:
    written = f"${abs(value):,.2f}"
    written = f"({written})" if value < 0 else written
    assert amounts(written)[0][0] == value


def resolve(column: list[str | None] | None, amount_cur: list[str | None], default=None):
    frame = pl.DataFrame(
        {"col": column or [None] * len(amount_cur), "amt": amount_cur},
        schema={"col": pl.String, "amt": pl.String},
    )
    col_expr = normalise_currency_column("col") if column is not None else None
    currency, assumed, problem = resolve_currency(col_expr, pl.col("amt"), default)
    return frame.select(currency.alias("c"), assumed.alias("a"), problem.alias("p")).rows()


def test_currency_comes_from_column_then_amount_then_option_then_usd() -> None:
    rows = resolve(["GBP", None, None, " eur ", "£"], [None, "EUR", None, "$", None])
    assert [r[0] for r in rows] == ["GBP", "EUR", "USD", "EUR", "GBP"]
    assert [r[1] for r in rows] == [False, False, True, False, False]


def test_bare_dollar_means_the_given_currency() -> None:
    assert resolve(None, ["$", None], default="CAD") == [("CAD", False, None)] * 2
    assert resolve(None, ["$"]) == [("USD", False, None)]


def test_currency_conflicts_and_invalid_codes_are_problems() -> None:
    rows = resolve(["GBP", "dollars", "USD"], ["EUR", None, "$"])
    assert [r[2] for r in rows] == [CURRENCY_CONFLICT, CURRENCY_INVALID, None]


def dates(texts: list[str | None], *, first: bool = False) -> list[date | None]:
    return parse_dates(pl.Series("d", texts, dtype=pl.String), day_first=first).to_list()


def test_date_layouts() -> None:
    texts = [
        "2021-01-26 00:00:00",  # an Excel date as calamine writes it
        "2024-03-01",
        "2024-3-1",
        "2024/03/01",
        "3/1/2024",
        "03/01/2024",
        "3/1/2024 0:00",
        "12/31/24",
        "5.3.2024",
        "March 1, 2024",
        "Mar 1st, 2024",
        "1 March 2024",
    ]
    got = dates(texts)
    assert got[0] == date(2021, 1, 26)
    assert got[7] == date(2024, 12, 31)  # two-digit year is 2024, never year 24
    assert got[8] == date(2024, 5, 3)
    assert all(d == date(2024, 3, 1) for i, d in enumerate(got) if i not in (0, 7, 8))


def test_unreadable_dates_are_null_for_the_caller_to_flag() -> None:
    assert dates(["TBD", "2/30/2024", "", None, "2024"]) == [None] * 5


def test_rare_layouts_after_the_sample_still_read() -> None:
    texts = ["2024-01-01"] * 600 + ["July 4, 2024"]
    assert dates(texts)[-1] == date(2024, 7, 4)


def test_day_first_is_decided_per_column() -> None:
    uk = pl.DataFrame({"d": ["31/12/2024", "01/02/2024"]})
    us = pl.DataFrame({"d": ["12/31/2024", "01/02/2024"]})
    assert day_first(uk, "d") and not day_first(us, "d")
    assert dates(["31/12/2024", "01/02/2024"], first=True) == [date(2024, 12, 31), date(2024, 2, 1)]


def test_years() -> None:
    cells = ["2019", "2019.0", "FY2020", "fy 21", "FY19", "1850", "SFY 2019", "Fiscal Year 2019",
             "2019/20", "FY 2019-20", "State Fiscal Year 2019-2020", "1999-00",
             "2019-2021", "19-20", "TBD", None]  # fmt: skip
    frame = pl.DataFrame({"y": cells})
    assert frame.select(parse_years("y")).to_series().to_list() == [
        2019, 2019, 2020, 2021, 2019, None, 2019, 2019,
        2020, 2020, 2020, 2000,  # two years: the one the fiscal year ends in
        None, None, None, None,  # not two consecutive years; no century; not a year
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("start_month", "day", "year"),
    [
        (None, date(2024, 10, 1), 2024),
        (10, date(2024, 10, 1), 2025),  # federal FY2025 starts 1 October 2024
        (10, date(2024, 9, 30), 2024),
        (7, date(2024, 7, 1), 2025),
        (7, date(2024, 6, 30), 2024),
    ],
)
def test_fiscal_year(start_month: int | None, day: date, year: int) -> None:
    frame = pl.DataFrame({"d": [day]})
    assert frame.select(fiscal_year(pl.col("d"), start_month)).item() == year


def test_states() -> None:
    frame = pl.DataFrame(
        {"s": ["ny", "New York", " minnesota ", "Washington, DC", "Rockville, MD", "PR",
               "UK Wide", "District of Columbia", "", None, "Miami, Florida",
               "Washington, D.C.", "Santa Fe, New Mexico", "Springfield, Ill."]}
    )  # fmt: skip
    assert frame.select(normalise_state("s")).to_series().to_list() == [
        "NY", "NY", "MN", "DC", "MD", "PR", "UK Wide", "DC", None, None, "FL", "DC", "NM",
        "Springfield, Ill.",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("cells", "comma"),
    [
        (["1.234,50", "12,5", "€ 2.000"], True),
        (["(1.234,50)", "EUR 2.000,00", "-3,5", None], True),
        (["1.200", "15.000"], True),  # thousands dots: only a decimal comma writes these
        (["1,234.50", "12.5"], False),
        (["1,200", "15,000"], False),  # thousands commas
        (["1.5M", "2 million", "TBD", "300"], False),  # nothing tells: a decimal point
        (["1.234,50", "1,234.50"], False),  # both: the default, never a guess per row
    ],
)
def test_decimal_comma_is_decided_per_column(cells: list, comma: bool) -> None:
    assert decimal_comma(pl.DataFrame({"a": cells}, schema={"a": pl.String}), "a") is comma


@pytest.mark.parametrize(
    ("header", "unit"),
    [
        ("Award ($000s)", "thousand"),
        ("Allocation (000's)", "thousand"),
        ("FY24 Award ($ in thousands)", "thousand"),
        ("Amount (K)", "thousand"),
        ("Award (£000)", "thousand"),
        ("Funding ($M)", "million"),
        ("Total ($000,000)", "million"),
        ("Amount (in millions)", "million"),
        ("Amount ($)", None),
        ("Amount (USD)", None),
        ("Grants over $1,000", None),
        ("Amount Awarded", None),
    ],
)
def test_a_header_that_states_a_unit(header: str, unit: str | None) -> None:
    assert amount_unit(header) == unit


def test_amounts_in_thousands_read_exactly() -> None:
    frame = pl.DataFrame({"a": ["1,200", "(1,234.5)", "$1.2345", "USD 5", "0.000001", "TBD", ""]})
    parsed = parse_amounts(frame.with_columns(in_unit("a", "thousand").alias("t")), "t")
    assert parsed.get_column("__amount").to_list() == [
        Decimal("1200000"), Decimal("-1234500"), Decimal("1234.50"), Decimal("5000"),
        None, None, None,
    ]  # fmt: skip
    assert parsed.get_column("__amount_problem").to_list()[4:] == [
        "amount has a fraction of a cent", "amount is not a number", "amount is empty",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("title", "unit"),
    [
        ("(Dollars in Thousands)", "thousand"),
        ("($ in thousands)", "thousand"),
        ("All amounts in millions of dollars", "million"),
        ("Budget (in thousands of dollars)", "thousand"),
        ("Figures shown in USD thousands", "thousand"),
        ("Amounts are expressed in US dollars millions", "million"),
        ("($ thousands)", "thousand"),
        ("FY2025 allocations ($000s)", "thousand"),
        ("Capital plan ($M)", "million"),
        ("Grants of $1 million and above", None),
        ("Top 5 of 1,000 grants (2024)", None),
        ("Thousands of children served", None),
        ("(Population in thousands)", None),
        ("FY2024 grants, amounts in USD", None),
    ],
)
def test_a_title_that_states_the_unit_of_the_table(title: str, unit: str | None) -> None:
    assert title_unit(title) == unit


@pytest.mark.parametrize(
    ("cells", "serials"),
    [
        (["45292", "45300.0", "", None], True),
        (["45292", "2024-01-09"], False),  # a date among them: not a column of day numbers
        (["12345", "45292"], False),  # 1933: not a plausible grant date
        (["", None], False),
        (["450000"], False),
    ],
)
def test_excel_day_numbers_are_decided_per_column(cells: list, serials: bool) -> None:
    frame = pl.DataFrame({"d": cells}, schema={"d": pl.String})
    assert excel_day_numbers(frame, "d") is serials


def test_day_number_dates() -> None:
    days = pl.Series(["45292", "45300.0", "36526", None])
    assert day_number_dates(days).to_list() == [
        date(2024, 1, 1), date(2024, 1, 9), date(2000, 1, 1), None,
    ]  # fmt: skip
