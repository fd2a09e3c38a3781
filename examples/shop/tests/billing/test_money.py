"""Money arithmetic and VAT."""

from __future__ import annotations

from decimal import Decimal

import pytest
from shop.billing import Money, tax_for


@pytest.mark.parametrize(
    ("raw", "rounded"),
    [("2.675", "2.68"), ("-1.005", "-1.01")],
)
def test_amounts_round_half_up_to_the_cent(raw: str, rounded: str) -> None:
    assert Money.of(raw).amount == Decimal(rounded)


def test_floats_and_mixed_currencies_are_refused() -> None:
    with pytest.raises(TypeError, match="not float"):
        Money(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="currency mismatch"):
        Money.of("1", "EUR") + Money.of("1", "USD")


@pytest.mark.parametrize("parts", [3, 7])
def test_split_keeps_every_cent(parts: int) -> None:
    total = Money.of("100.00")
    shares = total.split(parts)
    assert len(shares) == parts
    assert sum((s.amount for s in shares), Decimal(0)) == total.amount
    assert max(s.amount for s in shares) - min(s.amount for s in shares) <= Decimal("0.01")


@pytest.mark.parametrize(
    ("region", "product_class", "expected"),
    [("DE", "books", "7.00"), ("FR", "food", "5.50"), ("NL", "general", "21.00")],
)
def test_vat_by_region_and_class(region: str, product_class: str, expected: str) -> None:
    assert tax_for(Money.of("100"), region, product_class) == Money.of(expected)
