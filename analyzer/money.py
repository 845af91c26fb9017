"""Amounts, currencies, years, dates and states: cell text -> exact typed values, vectorised.

Every function here builds polars expressions over whole columns; nothing loops over rows.
Each conversion yields a value and, where the text does not convert, a problem that the caller
turns into a rejected row (amounts) or a flag (optional fields) -- never a silent null.

Amounts are exact ``Decimal(38, 2)``. Accepted forms: ``1200000``, ``$1,200,000.00``,
``(15,000)``, ``-15,000``, ``15,000-``, ``1.2M``, ``15K``, ``2.5 million``, ``USD 1,000``,
``1,000 EUR``, ``£30,000``, ``€5``. Fractions of a cent are rejected, not rounded. Like Excel,
a number is read to 15 significant digits: longer digit strings are the noise of binary
floating point (``694867473.870000005`` for 694,867,473.87) and are rounded to 15 digits first.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from importlib import resources

import polars as pl

from .schema import MONEY

# --- Amounts -----------------------------------------------------------------------------------

#: ISO 4217 codes accepted inside an amount ("USD 1,000") or in a currency column.
_ISO_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP
    MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR
    RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT
    TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW
    ZWL
"""
ISO_CURRENCIES = frozenset(_ISO_CODES.split())

#: Currency symbols; a bare "$" is "dollars of the file's currency" (see resolve_currency).
SYMBOLS = {
    "$": "$",
    "US$": "USD",
    "C$": "CAD",
    "CA$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "S$": "SGD",
    "R$": "BRL",
    "£": "GBP",
    "€": "EUR",
    "¥": "JPY",
    "₹": "INR",
}

MULTIPLIER_DIGITS = {
    "k": 3,
    "thousand": 3,
    "m": 6,
    "mm": 6,
    "mn": 6,
    "million": 6,
    "b": 9,
    "bn": 9,
    "billion": 9,
}

_SYMBOL = r"[A-Za-z]{1,2}\$|[$£€¥₹]"
_AMOUNT_PATTERN = (
    r"^(?<neg1>[-−])?\s*(?<open>\()?\s*(?<neg2>[-−])?\s*"
    rf"(?<cur1>{_SYMBOL}|[A-Za-z]{{3}})?\s*(?<open2>\()?\s*(?<neg3>[-−])?\s*"
    r"(?<num>\d[\d,]*(?:\.\d*)?|\.\d+)\s*"
    r"(?<mult>(?i:thousand|million|billion|mm|mn|bn|k|m|b)\b)?\s*(?<close1>\))?\s*"
    rf"(?<cur2>{_SYMBOL}|[A-Za-z]{{3}})?\s*(?<close>\))?\s*(?<neg4>-)?$"
)

#: Reasons a row is rejected for its amount (SheetReport.rejected_reasons keys).
AMOUNT_EMPTY = "amount is empty"
AMOUNT_NOT_A_NUMBER = "amount is not a number"
AMOUNT_FRACTION_OF_CENT = "amount has a fraction of a cent"
AMOUNT_UNKNOWN_CURRENCY = "amount names an unknown currency"
CURRENCY_CONFLICT = "amount and currency column disagree"
CURRENCY_INVALID = "currency is not an ISO currency code"


def _blank(expr: pl.Expr) -> pl.Expr:
    return expr.is_null() | ~expr.str.contains(r"\S")


def _denoise(text: pl.Expr) -> pl.Expr:
    """Round plain numbers with more than 15 significant digits (float noise) to 15."""
    digits = text.str.replace_all(r"[-.]", "").str.strip_chars_start("0").str.len_chars()
    noisy = text.str.contains(r"^-?\d+\.\d+$") & (digits > 15)
    rounded = text.cast(pl.Float64, strict=False).round_sig_figs(15).cast(pl.String)
    return pl.when(noisy).then(rounded).otherwise(text)


#: "1234.5", "-15000", "$1,200,000.00": most cells of most files, parsed without the big regex.
_SIMPLE_AMOUNT = r"^-?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?$"
AMOUNT_COLUMNS = ("__amount", "__amount_currency", "__amount_problem")


#: The number in an amount cell, without currency, sign, brackets or spaces.
_NUMBER_CORE = r"[\s()\-−$£€¥₹]|\b[A-Za-z]{3}\b"
#: Numbers only a decimal comma can write: "1.234,50", "12,5", "1.200.000".
_DECIMAL_COMMA_ONLY = r"^\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?$|^\d+,\d{1,2}$"
#: Numbers only a decimal point can write: "1,234.50", "12.5", "1,200,000".
_DECIMAL_POINT_ONLY = r"^\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?$|^\d+\.\d{1,2}$"


def decimal_comma(frame: pl.DataFrame, column: str) -> bool:
    """Whether a column writes amounts with a decimal comma (European style, 1.234,50): some
    number in it can only be read that way and none only the other way. Decided per column,
    never per row; a column that says neither is read with a decimal point."""
    core = pl.col(column).str.replace_all(_NUMBER_CORE, "")
    # Most columns show a decimal point within their first rows: no need to read them all.
    if frame.head(DATE_SAMPLE).select(core.str.contains(_DECIMAL_POINT_ONLY).any()).item():
        return False
    found = frame.select(
        comma=core.str.contains(_DECIMAL_COMMA_ONLY).any(),
        point=core.str.contains(_DECIMAL_POINT_ONLY).any(),
    ).row(0)
    return bool(found[0]) and not bool(found[1])


def with_decimal_point(column: str) -> pl.Expr:
    """A decimal-comma column's text written with a decimal point ("1.234,50" -> "1234.50")."""
    return (
        pl.col(column)
        .str.replace_all(".", "", literal=True)
        .str.replace_all(",", ".", literal=True)
    )


#: Headers that state the amounts' unit: "Award ($000s)", "Budget ($ in thousands)",
#: "Allocation (000's)", "Funding ($M)", "Amount (in millions)". The word after the number is
#: what the amount parser already reads ("1.5 thousand").
_UNIT_SIGN = r"\(\s*[$£€]?\s*"
AMOUNT_UNITS = (  # millions first: "($000,000)" also starts like thousands
    ("million", rf"(?i)\bmillions\b|{_UNIT_SIGN}mm?\s*\)|[$£€]\s*mm?\b|{_UNIT_SIGN}000,?000\s*\)"),
    ("thousand", rf"(?i)\bthousands\b|{_UNIT_SIGN}(?:000'?s?|k)\s*\)|[$£€]\s*000'?s?\b"),
)


#: A title above the table that states the unit of all its amounts, as budget documents do:
#: "(Dollars in Thousands)", "All amounts in millions of dollars", "($ in thousands)",
#: "Figures shown in USD thousands", "($ thousands)", "($000s)".
_CURRENCY_WORD = r"(?:[$£€]|usd|gbp|eur|us\s+dollars|dollars|pounds|euros)"
TITLE_UNIT = (
    r"(?i)(?:\b(?:dollars|amounts?|figures)|[$£€])\s+(?:are\s+)?(?:(?:shown|expressed)\s+)?"
    rf"in\s+(?:{_CURRENCY_WORD}\s+)?(?P<a>thousands|millions)\b"
    rf"|\(\s*(?:in\s+)?(?:{_CURRENCY_WORD}\s*)?(?P<b>thousands|millions)"
    r"(?:\s+of\s+(?:dollars|pounds|euros))?\s*\)"
)
#: In a title only bracketed forms count: "($000s)", "($M)"; a bare "millions" may be anything.
_TITLE_BRACKETS = (
    ("million", rf"{_UNIT_SIGN}(?:mm?|000,?000)\s*\)"),
    ("thousand", rf"{_UNIT_SIGN}(?:000'?s?|k)\s*\)"),
)


def amount_unit(header: str) -> str | None:
    """The unit ("thousand", "million") the amount column's header gives its amounts (a budget
    table's "$000s" column holds 1,200 for $1.2M), or None."""
    for word, pattern in AMOUNT_UNITS:
        if re.search(pattern, header):
            return word
    return None


def title_unit(title: str) -> str | None:
    """The unit ("thousand", "million") a title row above the table gives all its amounts."""
    if found := re.search(TITLE_UNIT, title):
        return (found.group("a") or found.group("b")).lower()[:-1]
    for word, pattern in _TITLE_BRACKETS:
        if re.search("(?i)" + pattern, title):
            return word
    return None


def in_unit(column: str, unit: str) -> pl.Expr:
    """The text of amounts in ``unit`` with the unit written after the number, so the parser
    reads them exactly: "(1,234.5)" -> "(1,234.5 thousand)" = -1,234,500.00."""
    return pl.col(column).str.replace(r"(\d)([^\d]*)$", f"${{1}} {unit}${{2}}")


def parse_amounts(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Add ``__amount`` (Decimal(38,2)), ``__amount_currency`` (ISO code, "$" for a bare dollar
    sign, or null) and ``__amount_problem`` (a rejection reason, or null) for one text column.

    Plain numbers take a fast path; only the other cells go through the full parser.
    """
    text = pl.col(column)
    simple = frame.select(text.str.contains(_SIMPLE_AMOUNT).fill_null(False)).to_series()
    fast = frame.select(
        __amount=pl.when(simple)
        .then(text.str.replace_all(r"[$,]", "").str.to_decimal(scale=2))
        .cast(MONEY),
        __amount_currency=pl.when(simple & text.str.contains("$", literal=True)).then(pl.lit("$")),
        __amount_problem=pl.lit(None, dtype=pl.String),
    )
    if not simple.all():
        rest = (~simple).arg_true()
        slow = _parse_amounts_fully(frame.select(column)[rest], column)
        fast = fast.with_columns(
            fast.get_column(name).scatter(rest, slow.get_column(name)) for name in AMOUNT_COLUMNS
        )
    return frame.hstack(fast)


def _parse_amounts_fully(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Every accepted form, through one regex with named parts (the slow path)."""
    text = pl.col(column).str.replace_all(r"[\u00a0\u2007\u2009\u202f]", " ").str.strip_chars()
    parts = _denoise(text).str.extract_groups(_AMOUNT_PATTERN)
    staged = frame.with_columns(__parts=parts)
    p = pl.col("__parts").struct
    num = p.field("num").str.replace_all(",", "")
    commas_ok = p.field("num").str.contains(r"^(\d{1,3}(,\d{3})*|\d+)(\.\d*)?$|^\.\d+$")
    opened = p.field("open").is_not_null() | p.field("open2").is_not_null()
    both_open = p.field("open").is_not_null() & p.field("open2").is_not_null()
    # "(15,000)", "(USD 15,000)", "(15,000 USD)" and "(15.000,00) €": one pair of brackets.
    closed = p.field("close").is_not_null() | p.field("close1").is_not_null()
    both_closed = p.field("close").is_not_null() & p.field("close1").is_not_null()
    brackets_ok = (opened == closed) & ~both_open & ~both_closed
    negative = (
        opened
        | p.field("neg1").is_not_null()
        | p.field("neg2").is_not_null()
        | p.field("neg3").is_not_null()
        | p.field("neg4").is_not_null()
    )
    cur_raw = pl.coalesce(p.field("cur1"), p.field("cur2")).str.strip_chars()
    both_currencies = p.field("cur1").is_not_null() & p.field("cur2").is_not_null()
    currency = _currency_token(cur_raw)
    shift = (
        p.field("mult")
        .str.to_lowercase()
        .replace_strict(MULTIPLIER_DIGITS, default=0, return_dtype=pl.Int8)
    )
    int_part = num.str.extract(r"^(\d*)", 1)
    frac_part = num.str.extract(r"\.(\d*)$", 1).fill_null("")
    staged = staged.with_columns(
        __num_ok=commas_ok & brackets_ok & ~both_currencies,
        __negative=negative,
        __cur=currency,
        __cur_raw=cur_raw,
        __shift=shift,
        __int=int_part,
        __frac=frac_part,
    )
    whole, rest = _shift_decimal_point(pl.col("__int"), pl.col("__frac"), pl.col("__shift"))
    staged = staged.with_columns(__whole=whole, __rest=rest)
    cents_ok = pl.col("__rest").str.contains(r"^\d{0,2}0*$")
    magnitude = (
        (
            pl.col("__whole").str.strip_chars_start("0").replace("", "0")
            + "."
            + pl.col("__rest").str.slice(0, 2).str.pad_end(2, "0")
        )
        .str.to_decimal(scale=2)
        .cast(MONEY)
    )
    matched = pl.col("__parts").struct.field("num").is_not_null()
    problem = (
        pl.when(_blank(pl.col(column)))
        .then(pl.lit(AMOUNT_EMPTY))
        .when(~matched | ~pl.col("__num_ok"))
        .then(pl.lit(AMOUNT_NOT_A_NUMBER))
        .when(pl.col("__cur_raw").is_not_null() & pl.col("__cur").is_null())
        .then(pl.lit(AMOUNT_UNKNOWN_CURRENCY))
        .when(~cents_ok)
        .then(pl.lit(AMOUNT_FRACTION_OF_CENT))
    )
    value = pl.when(pl.col("__negative")).then(-magnitude).otherwise(magnitude)
    return staged.with_columns(
        __amount=pl.when(problem.is_null()).then(value),
        __amount_currency=pl.when(problem.is_null()).then(pl.col("__cur")),
        __amount_problem=problem,
    ).drop(
        "__parts", "__num_ok", "__negative", "__cur", "__cur_raw", "__shift", "__int",
        "__frac", "__whole", "__rest",
    )  # fmt: skip


def _currency_token(token: pl.Expr) -> pl.Expr:
    """A symbol or code found in an amount -> ISO code ("$" kept as is); unknown -> null."""
    upper = token.str.to_uppercase()
    symbols = {k.upper(): v for k, v in SYMBOLS.items()}
    symbol = upper.replace_strict(symbols, default=None, return_dtype=pl.String)
    code = pl.when(upper.is_in(list(ISO_CURRENCIES))).then(upper)
    return pl.coalesce(symbol, code)


def _shift_decimal_point(whole: pl.Expr, frac: pl.Expr, shift: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Multiply a decimal written as whole.frac by 10**shift, exactly, as text."""
    new_whole, new_frac = whole, frac
    for digits in sorted(set(MULTIPLIER_DIGITS.values())):
        moved = frac.str.pad_end(digits, "0").str.slice(0, digits)
        new_whole = pl.when(shift == digits).then(whole + moved).otherwise(new_whole)
        new_frac = pl.when(shift == digits).then(frac.str.slice(digits)).otherwise(new_frac)
    return new_whole, new_frac


def normalise_currency_column(column: str) -> pl.Expr:
    """A currency column's text -> upper-case ISO code (symbols understood); keeps other text
    as written so that the caller can reject it as invalid."""
    text = pl.col(column).str.strip_chars()
    symbol = text.replace_strict(SYMBOLS, default=None, return_dtype=pl.String)
    symbol = pl.when(symbol != "$").then(symbol)
    return (
        pl.when(_blank(pl.col(column)))
        .then(None)
        .otherwise(pl.coalesce(symbol, text.str.to_uppercase()))
    )


def resolve_currency(
    column_currency: pl.Expr | None,
    amount_currency: pl.Expr,
    default: str | None,
) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Per row: the currency, whether it was assumed (nothing said), and a problem.

    Order: the currency column, then a code or symbol in the amount, then ``default``
    (``--currency`` or the preset's), then USD, assumed. A bare "$" means the default
    currency when one is set (CAD for ``--currency CAD``), else USD.
    """
    dollar = pl.lit(default or "USD")
    from_amount = pl.when(amount_currency == "$").then(dollar).otherwise(amount_currency)
    fallback = pl.lit(default or "USD")
    if column_currency is None:
        currency = pl.coalesce(from_amount, fallback)
        problem = pl.lit(None, dtype=pl.String)
    else:
        currency = pl.coalesce(column_currency, from_amount, fallback)
        explicit = pl.when(amount_currency != "$").then(amount_currency)
        problem = (
            pl.when(column_currency.is_not_null() & ~column_currency.is_in(list(ISO_CURRENCIES)))
            .then(pl.lit(CURRENCY_INVALID))
            .when(explicit.is_not_null() & column_currency.is_not_null()
                  & (explicit != column_currency))
            .then(pl.lit(CURRENCY_CONFLICT))
        )  # fmt: skip
    assumed = amount_currency.is_null() if default is None else pl.lit(False)
    if column_currency is not None and default is None:
        assumed = assumed & column_currency.is_null()
    return currency, assumed, problem


# --- Years and dates ---------------------------------------------------------------------------

DATE_FORMATS_WORDS = ("%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y")
DATE_SAMPLE = 500

_DAY_FIRST_EVIDENCE = r"^(?:1[3-9]|2\d|3[01])[/.-]\d{1,2}[/.-]\d{2,4}\b"
_MONTH_FIRST_EVIDENCE = r"^\d{1,2}[/.-](?:1[3-9]|2\d|3[01])[/.-]\d{2,4}\b"


def day_first(frame: pl.DataFrame, column: str) -> bool:
    """Whether a column writes dates day-first (31/12/2024): some first part is above 12 and
    no second part is. Decided per column, never per row."""
    text = pl.col(column).str.strip_chars_start()
    found = frame.select(
        day=text.str.contains(_DAY_FIRST_EVIDENCE).any(),
        month=text.str.contains(_MONTH_FIRST_EVIDENCE).any(),
    ).row(0)
    return bool(found[0]) and not bool(found[1])


def _date_readers(day_first: bool) -> list[pl.Expr]:
    """One expression per date layout, each reading only the texts of its own shape (so that
    "%m/%d/%Y" never reads "12/31/24" as the year 24)."""
    t = pl.col("t")
    numeric = "%d/%m" if day_first else "%m/%d"
    slashed = t.str.replace_all(r"[.-]", "/")

    def guarded(shape: str, text: pl.Expr, fmt: str) -> pl.Expr:
        return pl.when(t.str.contains(shape)).then(text.str.to_date(fmt, strict=False))

    words = t.str.replace_all(r"\s+", " ").str.replace(r"(\d)(st|nd|rd|th)\b", "$1")
    return [
        guarded(r"^\d{4}-\d{2}-\d{2}(?:$|[ T])", t.str.slice(0, 10), "%Y-%m-%d"),
        guarded(r"^\d{1,2}/\d{1,2}/\d{4}$", t, f"{numeric}/%Y"),
        guarded(r"^\d{1,2}/\d{1,2}/\d{4}[ T]", t.str.extract(r"^(\S+)", 1), f"{numeric}/%Y"),
        guarded(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2}$", slashed, f"{numeric}/%y"),
        guarded(r"^\d{1,2}[.-]\d{1,2}[.-]\d{4}$", slashed, f"{numeric}/%Y"),
        guarded(r"^\d{4}-\d{1,2}-\d{1,2}\b", t.str.extract(r"^(\S+)", 1), "%Y-%m-%d"),
        guarded(r"^\d{4}/\d{1,2}/\d{1,2}$", t, "%Y/%m/%d"),
        *(guarded(r"[A-Za-z]", words, fmt) for fmt in DATE_FORMATS_WORDS),
    ]


def parse_dates(text: pl.Series, *, day_first: bool = False) -> pl.Series:
    """Text -> Date: Excel dates (as calamine writes them: "2024-03-01 00:00:00"), ISO, US
    numeric (or day-first when the column is), "March 1, 2024" and "1 March 2024". Text that
    is none of these -> null, for the caller to flag.

    The layouts are ranked by how many of a sample they read; the best one reads the whole
    column and the others only the cells still unread, so a column costs about one parse.
    """
    frame = pl.DataFrame({"t": text.str.strip_chars()})
    present = frame.select(pl.col("t").str.len_bytes().fill_null(0) > 0).to_series()
    readers = _date_readers(day_first)
    sample = frame.filter(present).head(DATE_SAMPLE)
    hits = sample.select(r.is_not_null().sum().alias(str(i)) for i, r in enumerate(readers))
    ranked = sorted(range(len(readers)), key=lambda i: -hits.item(0, i))
    result = frame.select(readers[ranked[0]]).to_series()
    for i in ranked[1:]:
        todo = (present & result.is_null()).arg_true()
        if todo.is_empty():
            break
        more = frame[todo].select(readers[i]).to_series()
        result = result.scatter(todo, more)
    return result.alias(text.name)


#: Excel's day numbers: day 1 is 1900-01-01, counted from 1899-12-30 (Excel's leap-year bug).
EXCEL_EPOCH = date(1899, 12, 30)
_SERIAL = r"^\d{5}(?:\.0+)?$"
#: 1954-10-04 to 2099-12-31: day numbers a grant date can plausibly be.
_SERIAL_RANGE = (20_000, 73_050)


def excel_day_numbers(frame: pl.DataFrame, column: str) -> bool:
    """Whether a date column holds Excel day numbers (45292 for 2024-01-01: a date cell
    formatted as a number): every filled cell is one, in a plausible range. Per column."""
    text = pl.col(column).str.strip_chars()
    filled = text.str.len_bytes() > 0
    number = text.str.extract(r"^(\d{5})", 1).cast(pl.Int32, strict=False)
    serial = text.str.contains(_SERIAL) & number.is_between(*_SERIAL_RANGE)
    not_serial = (filled & ~serial).fill_null(False).any()
    if frame.head(DATE_SAMPLE).select(not_serial).item():  # most columns tell at once
        return False
    found = frame.select(
        any_filled=filled.any(), all_serial=(serial | ~filled.fill_null(False)).all()
    ).row(0)
    return bool(found[0]) and bool(found[1])


def day_number_dates(text: pl.Series) -> pl.Series:
    """Excel day numbers -> dates."""
    days = text.str.strip_chars().str.extract(r"^(\d{5})", 1).cast(pl.Int64, strict=False)
    epoch = pl.lit(EXCEL_EPOCH, dtype=pl.Date)
    return pl.select((epoch + pl.duration(days=pl.lit(days))).alias(text.name)).to_series()


_FISCAL = r"^(?:(?:S|F|STATE\s+|FEDERAL\s+)?(?:FY|FISCAL\s+YEAR)\s*)?"
_YEAR_SPAN = r"(?<start>\d{4})\s*[-/–]\s*(?<end>\d{2}|\d{4})$"


def is_year_span(column: str) -> pl.Expr:
    """Whether a year cell writes a fiscal year as its two calendar years ("2018-19")."""
    return pl.col(column).str.strip_chars().str.to_uppercase().str.contains(_FISCAL + _YEAR_SPAN)


def parse_years(column: str) -> pl.Expr:
    """Year column text -> Int32: "2019", "2019.0" (an Excel number), "FY2019", "FY 19",
    "SFY2019", "Fiscal Year 2019"; a fiscal year written as its two calendar years ("2018-19",
    "FY 2018/2019") is named by the year it ends in, as ``fiscal_year`` names them."""
    text = pl.col(column).str.strip_chars().str.to_uppercase()
    four = text.str.extract(_FISCAL + r"(\d{4})(?:\.0+)?$", 1).cast(pl.Int32, strict=False)
    two = text.str.extract(r"^(?:S|F)?FY\s*(\d{2})$", 1).cast(pl.Int32, strict=False) + 2000
    span = text.str.extract_groups(_FISCAL + _YEAR_SPAN)
    start = span.struct.field("start").cast(pl.Int32, strict=False)
    end = span.struct.field("end").cast(pl.Int32, strict=False)
    end = pl.when(end < 100).then(start // 100 * 100 + end).otherwise(end)
    end = pl.when(end < start).then(end + 100).otherwise(end)  # "1999-00"
    ending = pl.when(end == start + 1).then(end)  # two consecutive years, nothing else
    year = pl.coalesce(four, two, ending)
    return pl.when((year >= 1900) & (year <= 2100)).then(year).cast(pl.Int32)


def read_years(text: pl.Series) -> pl.Series:
    """``parse_years`` of a Series."""
    return pl.DataFrame({"y": text}).select(parse_years("y")).to_series()


def header_years(headers: list[str]) -> list[int | None]:
    """The year each header names, if it is one ("2024", "FY2024", "FY 2023-24"): the columns
    of a table with one amount column per year."""
    return read_years(pl.Series(headers, dtype=pl.String)).to_list()


def fiscal_year(date: pl.Expr, start_month: int | None) -> pl.Expr:
    """The fiscal year of a date, named by the calendar year it ends in (US convention:
    FY2025 is October 2024 - September 2025 when ``start_month`` is 10)."""
    if not start_month or start_month == 1:
        return date.dt.year().cast(pl.Int32)
    return (date.dt.year() + (date.dt.month() >= start_month).cast(pl.Int32)).cast(pl.Int32)


# --- US states ---------------------------------------------------------------------------------

STATE_ALIASES = {
    "washington dc": "DC",
    "washington d.c.": "DC",
    "d.c.": "DC",
    "d.c": "DC",
    "northern mariana islands": "MP",
    "virgin islands": "VI",
    "us virgin islands": "VI",
    "u.s. virgin islands": "VI",
}


@cache
def state_codes() -> dict[str, str]:
    """lower-case USPS code or state/territory name -> USPS code."""
    text = resources.files("analyzer.data").joinpath("us-states.csv").read_text(encoding="utf-8")
    lookup = dict(STATE_ALIASES)
    for line in text.splitlines()[1:]:
        _, usps, name = line.split(",", 2)
        lookup[usps.lower()] = usps
        lookup[name.strip().lower()] = usps
    return lookup


def normalise_state(column: str) -> pl.Expr:
    """A US state or territory (code or name, any case, or "City, ST" / "City, State name")
    -> USPS code; anything else kept as written (stripped)."""
    text = pl.col(column).str.strip_chars()
    key = text.str.to_lowercase().str.replace_all(r"\s+", " ")
    direct = key.replace_strict(state_codes(), default=None, return_dtype=pl.String)
    trailing = key.str.extract(r",\s*([a-z][a-z .]*?)\.?$", 1).replace_strict(
        state_codes(), default=None, return_dtype=pl.String
    )
    return pl.when(_blank(pl.col(column))).then(None).otherwise(pl.coalesce(direct, trailing, text))
