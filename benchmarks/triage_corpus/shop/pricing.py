"""Prices, totals and discounts (with planted bugs)."""

from __future__ import annotations

from decimal import Decimal

TAX_RATES = {"eu": Decimal("0.20"), "us": Decimal("0.07")}


def total(items: list[tuple[str, int, Decimal]]) -> Decimal:
    # Bug: ignores quantities.
    return sum((price for _, _, price in items), Decimal("0"))


def apply_discount(price: Decimal, percent: int) -> Decimal:
    # Bug: multiplies by the percentage instead of subtracting it.
    return price * percent / 100


def parse_price(text: str) -> Decimal:
    # Bug: accepts negative prices instead of raising ValueError.
    return Decimal(text)


def average(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal("0")) / len(values)  # ZeroDivision-prone on empty input


def tax(amount: Decimal, region: str) -> Decimal:
    return amount * TAX_RATES[region]


def round_price(value: Decimal) -> Decimal:
    # Bug: truncates instead of rounding half up.
    return Decimal(int(value * 100)) / 100


def split_bill(amount: Decimal, people: int) -> list[Decimal]:
    share = amount / people
    return [share.quantize(Decimal("0.01"))] * people


def currency_label(code: str) -> str:
    labels = {"EUR": "euro", "USD": "dollar"}
    return labels.get(code).upper()  # None for unknown codes
