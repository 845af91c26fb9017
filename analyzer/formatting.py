"""Money and shares as people read them in a brief: "$4.2M", "97%", "<1%".

Display only: exact figures stay Decimal in the tables, the workbook and summary.json.
"""

from __future__ import annotations

from decimal import Decimal

#: Currencies written with a symbol before the number; others get their ISO code after it
#: (in the brief, and in the workbook's number formats).
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "JPY": "¥"}


def format_money(amount: Decimal | float | int | None, currency: str | None = None) -> str:
    """Short money: $950, $12.3K, $4.2M, $1.05B; negative as -$1.2M; None as "n/a"."""
    if amount is None:
        return "n/a"
    value = float(amount)
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1e9:
        number = f"{value / 1e9:.3g}B"
    elif value >= 1e6:
        number = f"{value / 1e6:.3g}M" if value < 1e8 else f"{value / 1e6:,.0f}M"
    elif value >= 1e4:
        number = f"{value / 1e3:.3g}K" if value < 1e5 else f"{value / 1e3:,.0f}K"
    else:
        number = f"{value:,.0f}"
    symbol = SYMBOLS.get(currency or "")
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {currency}" if currency else f"{sign}{number}"


def format_exact(amount: Decimal | None, currency: str | None = None) -> str:
    """Exact money with thousands separators and cents, e.g. "USD 1,234,567.89"."""
    if amount is None:
        return "n/a"
    text = f"{Decimal(amount):,.2f}"
    return f"{currency} {text}" if currency else text


def format_share(share: float | None) -> str:
    """A share as a whole percentage; tiny or near-total shares are not rounded to 0 or 100."""
    if share is None:
        return "n/a"
    percent = share * 100
    if 0 < percent < 0.5:
        return "<1%"
    if 99.5 <= percent < 100:
        return ">99%"
    return f"{percent:.0f}%"


def format_ratio(ratio: float | None) -> str:
    """The symptoms-to-causes ratio as "3.2 to 1"."""
    if ratio is None:
        return "n/a"
    digits = 1 if abs(ratio) < 100 else 0
    ratio = round(ratio, digits) + 0.0  # a tiny negative (a de-obligation) never shows "-0.0"
    return f"{ratio:,.{digits}f} to 1"


def plural(count: int, word: str, words: str | None = None) -> str:
    """ "1 grant", "2 grants"."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"
