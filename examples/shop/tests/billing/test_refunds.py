"""Refunds against invoices, for the staff roles on every edition."""

from __future__ import annotations

import pytest
from shop.billing import Invoice, Money, RefundError, issue_refund


@pytest.mark.critical
@pytest.mark.matrix(role=["Admin", "CFO"], edition=["pro", "enterprise"])
def test_staff_refund_on_editions_with_workflow(orchestra_context, invoice: Invoice) -> None:
    """An explicit subset of the matrix: staff roles on editions that have the refund workflow."""
    refund = issue_refund(
        invoice,
        Money.of("20.00"),
        reason="damaged in transit",
        approver=orchestra_context.role,
        claims=orchestra_context["claims"],
        flags=orchestra_context["flags"],
    )
    assert refund.approved_by == orchestra_context.role
    assert invoice.refundable == Money.of("162.68")


def test_refund_cannot_exceed_what_is_left(invoice: Invoice) -> None:
    admin = {"admin": True, "finance": True}
    flags = {"refunds": True}
    issue_refund(invoice, Money.of("100.00"), "partial", "Admin", admin, flags)
    with pytest.raises(RefundError, match="only 82.68 EUR left"):
        issue_refund(invoice, Money.of("100.00"), "again", "Admin", admin, flags)


@pytest.mark.matrix("edition")
def test_edition_seat_limits(orchestra_context) -> None:
    """Uses the data attached to the edition value itself (``ctx.attached``)."""
    edition = orchestra_context.attached["edition"]
    assert edition["seats"] >= 5
    # Single sign-on is an enterprise feature and needs the big seat count.
    if edition["flags"]["sso"]:
        assert edition["seats"] >= 1000


def test_refund_must_be_positive(invoice: Invoice) -> None:
    with pytest.raises(RefundError, match="positive"):
        issue_refund(invoice, Money.of("0"), "nothing", "Admin", {"admin": True}, {"refunds": True})
