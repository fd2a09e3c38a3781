"""Invoices with line items, and refunds against them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import List, Mapping

from shop.auth.permissions import can_refund
from shop.billing.money import Money
from shop.billing.tax import tax_for


class RefundError(Exception):
    """A refund was refused (not permitted, or more than what is left)."""


@dataclass(frozen=True)
class LineItem:
    sku: str
    quantity: int
    unit_price: Money
    product_class: str = "general"

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"quantity must be positive, got {self.quantity}")

    @property
    def net(self) -> Money:
        return self.unit_price.times(self.quantity)


@dataclass(frozen=True)
class Refund:
    amount: Money
    reason: str
    approved_by: str


@dataclass
class Invoice:
    number: str
    customer: str
    region: str
    lines: List[LineItem] = field(default_factory=list)
    refunds: List[Refund] = field(default_factory=list)
    currency: str = "EUR"

    def add(self, line: LineItem) -> None:
        if line.unit_price.currency != self.currency:
            raise ValueError(f"line in {line.unit_price.currency}, invoice in {self.currency}")
        self.lines.append(line)

    def _sum(self, amounts: List[Money]) -> Money:
        total = Money(Decimal(0), self.currency)
        for amount in amounts:
            total = total + amount
        return total

    @property
    def subtotal(self) -> Money:
        return self._sum([line.net for line in self.lines])

    @property
    def tax(self) -> Money:
        # Tax per line, rounded per line, as the tax office wants it itemised.
        return self._sum([tax_for(line.net, self.region, line.product_class) for line in self.lines])

    @property
    def total(self) -> Money:
        return self.subtotal + self.tax

    @property
    def refunded(self) -> Money:
        return self._sum([refund.amount for refund in self.refunds])

    @property
    def refundable(self) -> Money:
        return self.total - self.refunded


def issue_refund(
    invoice: Invoice,
    amount: Money,
    reason: str,
    approver: str,
    claims: Mapping[str, bool],
    flags: Mapping[str, bool],
) -> Refund:
    if not can_refund(claims, flags):
        raise RefundError(f"{approver} may not refund on this edition")
    if amount.amount <= 0:
        raise RefundError("refund must be positive")
    if amount > invoice.refundable:
        raise RefundError(f"only {invoice.refundable} left to refund, asked for {amount}")
    refund = Refund(amount, reason, approver)
    invoice.refunds.append(refund)
    return refund
