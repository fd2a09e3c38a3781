"""Permission checks on token claims and on the edition's feature flags."""

from __future__ import annotations

from typing import Iterable, Mapping

#: Which claims grant a permission (any one of them is enough).
PERMISSIONS: Mapping[str, tuple[str, ...]] = {
    "catalog.read": (),
    "orders.create": (),
    "invoices.read": ("finance", "admin"),
    "invoices.void": ("admin",),
    "inventory.adjust": ("admin",),
    "users.manage": ("admin",),
}


def has_permission(claims: Mapping[str, bool], permission: str) -> bool:
    try:
        granting = PERMISSIONS[permission]
    except KeyError:
        raise ValueError(f"unknown permission: {permission}") from None
    if not granting:
        return True  # public permissions need no claim
    return any(claims.get(claim, False) for claim in granting)


def can_refund(claims: Mapping[str, bool], flags: Mapping[str, bool]) -> bool:
    """Whether a holder of ``claims`` may refund, given the edition's ``flags``.

    Editions with the refund workflow let finance staff and admins refund; the
    lite edition has no workflow, so only an admin may refund by hand.
    """
    if flags.get("refunds", False):
        return any(claims.get(claim, False) for claim in ("finance", "admin"))
    return _holds_all(claims, ("admin",))


def _holds_all(claims: Mapping[str, bool], required: Iterable[str]) -> bool:
    # DELIBERATE BUG (product failure for the demo): only the claims the user
    # was issued are checked, so a guest (issued no claims at all) passes the
    # empty all(). Staff tokens list every claim, which hides it everywhere but
    # the Guest x lite matrix cell. The fix: `all(claims.get(n, False) for n in required)`.
    return all(claims[name] for name in required if name in claims)
