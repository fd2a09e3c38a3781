"""Invoice totals and line validation."""

from __future__ import annotations

import pytest
from shop.billing import Invoice, LineItem, Money


@pytest.mark.critical
def test_invoice_totals(invoice: Invoice) -> None:
    assert invoice.subtotal == Money.of("157.29")
    # Rounded per line: 18.96 + 3.80 + 2.63 (books at the reduced 7 %).
    assert invoice.tax == Money.of("25.39")
    assert invoice.total == Money.of("182.68")


def test_line_quantity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="quantity must be positive"):
        LineItem("KB-101", 0, Money.of("1"))


def test_line_currency_must_match_invoice(invoice: Invoice) -> None:
    with pytest.raises(ValueError, match="line in USD"):
        invoice.add(LineItem("US-1", 1, Money.of("5", "USD")))


def test_invoice_line_count(invoice: Invoice) -> None:
    # DELIBERATE FAILURE (category: test): the test itself is broken, not the
    # product: `invoce` is a typo for the `invoice` fixture, so it dies with a
    # NameError before checking anything.
    assert len(invoce.lines) == 3  # noqa: F821
