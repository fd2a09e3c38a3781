"""Billing: money arithmetic, tax, invoices and refunds."""

from __future__ import annotations

from shop.billing.invoices import Invoice, LineItem, Refund, RefundError, issue_refund
from shop.billing.money import Money
from shop.billing.tax import TAX_RATES, tax_for

__all__ = ["Invoice", "LineItem", "Money", "Refund", "RefundError", "TAX_RATES", "issue_refund", "tax_for"]
