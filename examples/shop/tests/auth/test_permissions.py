"""Permission checks, including the refund policy across the role x edition matrix."""

from __future__ import annotations

import pytest
from shop.auth import can_refund, has_permission

# The refund policy, as product wrote it down: who may refund on which kind of edition.
REFUND_POLICY = {
    # role: (with the refund workflow, without it)
    "Admin": (True, True),
    "CFO": (True, False),
    "Guest": (False, False),
}


@pytest.mark.security
@pytest.mark.matrix("role", "edition")
def test_refund_permission(orchestra_context) -> None:
    """Runs in every role x edition cell; the claims and flags come from orchestra.yaml.

    DELIBERATE FAILURE (category: product) in the Guest-lite cell: the
    ``_holds_all`` bug in shop/auth/permissions.py lets an anonymous guest
    refund on the lite edition. Guest-enterprise is excluded by the workflow.
    """
    with_workflow, without_workflow = REFUND_POLICY[orchestra_context.role]
    flags = orchestra_context["flags"]
    expected = with_workflow if flags["refunds"] else without_workflow
    assert can_refund(orchestra_context["claims"], flags) is expected, (
        f"{orchestra_context.role} on {orchestra_context['edition']}: refund allowed should be {expected}"
    )


@pytest.mark.parametrize(
    ("claims", "permission", "expected"),
    [
        ({}, "catalog.read", True),
        ({"finance": True}, "invoices.read", True),
        ({"admin": False, "finance": True}, "invoices.void", False),
    ],
)
def test_has_permission(claims: dict, permission: str, expected: bool) -> None:
    assert has_permission(claims, permission) is expected
