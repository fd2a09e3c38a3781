"""End-to-end checkout: log in, reserve stock, invoice, ship.

This module lives outside every app's folder, so no ``apps.*.paths`` glob
claims it; the ``app`` marker assigns it to billing, which owns checkout.
"""

from __future__ import annotations

import pytest
from shop.auth import SessionStore, UserDirectory
from shop.billing import Invoice, LineItem, Money
from shop.inventory import Inventory, OutOfStock

pytestmark = pytest.mark.app("billing")


def checkout(
    sessions: SessionStore, token: str, inventory: Inventory, cart: dict[str, tuple[int, Money]]
) -> Invoice:
    """Reserve every line, then invoice; any shortage releases what was reserved."""
    customer = sessions.resolve(token)["sub"]
    reserved = []
    try:
        for sku, (quantity, _) in cart.items():
            reserved.append(inventory.reserve(sku, quantity))
    except OutOfStock:
        for reservation in reserved:
            inventory.release(reservation.reservation_id)
        raise
    invoice = Invoice(number=f"INV-{customer}", customer=customer, region="DE")
    for sku, (quantity, price) in cart.items():
        invoice.add(LineItem(sku, quantity, price))
    for reservation in reserved:
        inventory.confirm(reservation.reservation_id)
    return invoice


@pytest.mark.critical
def test_checkout_happy_path(directory: UserDirectory, sessions: SessionStore, inventory: Inventory) -> None:
    user = directory.register("frank@shop.example", "correct horse battery")
    token = sessions.open(user.user_id, user.claims)
    invoice = checkout(sessions, token, inventory, {"KB-101": (2, Money.of("49.90"))})
    assert invoice.total == Money.of("118.76")  # 99.80 + 19 % VAT
    assert inventory.on_hand["KB-101"] == 8


def test_checkout_shortage_releases_everything(sessions: SessionStore, inventory: Inventory) -> None:
    token = sessions.open("u00009", {})
    cart = {"KB-101": (2, Money.of("49.90")), "MS-220": (5, Money.of("19.99"))}
    with pytest.raises(OutOfStock):
        checkout(sessions, token, inventory, cart)
    assert inventory.available("KB-101") == 10
    assert inventory.available("MS-220") == 3
