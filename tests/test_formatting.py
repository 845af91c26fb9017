"""How figures read in the brief and the headline sentences."""

from __future__ import annotations

from decimal import Decimal

import pytest

from analyzer.formatting import format_exact, format_money, format_ratio, format_share


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("950"), "USD", "$950"),
        (Decimal("12345"), "USD", "$12.3K"),
        (Decimal("4200000"), "GBP", "£4.2M"),
        (Decimal("-1250000"), "USD", "-$1.25M"),
        (Decimal("5000"), "SEK", "5,000 SEK"),
        (None, "USD", "n/a"),
    ],
)
def test_money(amount, currency, shown) -> None:
    assert format_money(amount, currency) == shown


def test_exact_money_keeps_every_cent() -> None:
    assert format_exact(Decimal("1234567.89"), "USD") == "USD 1,234,567.89"


@pytest.mark.parametrize(
    ("share", "shown"), [(0.004, "<1%"), (0.996, ">99%"), (0.31, "31%"), (None, "n/a")]
)
def test_share_is_never_rounded_to_zero_or_all(share, shown) -> None:
    assert format_share(share) == shown


@pytest.mark.parametrize(
    ("ratio", "shown"),
    [(2.25, "2.2 to 1"), (-0.04, "0.0 to 1"), (-0.0, "0.0 to 1"), (-1.26, "-1.3 to 1"),
     (1234.5, "1,234 to 1"), (None, "n/a")],
)  # fmt: skip
def test_ratio_never_shows_negative_zero(ratio, shown) -> None:
    assert format_ratio(ratio) == shown
