"""Stock levels and reservations."""

from __future__ import annotations

import pytest
from shop.inventory import Inventory, OutOfStock


@pytest.mark.critical
def test_reservation_holds_stock_back(inventory: Inventory) -> None:
    inventory.reserve("KB-101", 4)
    assert inventory.available("KB-101") == 6
    assert inventory.on_hand["KB-101"] == 10


def test_cannot_reserve_more_than_available(inventory: Inventory) -> None:
    inventory.reserve("MS-220", 2)
    with pytest.raises(OutOfStock, match="1 available, 2 asked"):
        inventory.reserve("MS-220", 2)


def test_confirm_turns_reservation_into_a_decrease(inventory: Inventory) -> None:
    reservation = inventory.reserve("KB-101", 3)
    inventory.confirm(reservation.reservation_id)
    assert inventory.on_hand["KB-101"] == 7
    assert inventory.available("KB-101") == 7


def test_release_gives_stock_back(inventory: Inventory) -> None:
    reservation = inventory.reserve("MS-220", 3)
    assert inventory.available("MS-220") == 0
    inventory.release(reservation.reservation_id)
    assert inventory.available("MS-220") == 3


def test_closed_reservation_cannot_be_confirmed_twice(inventory: Inventory) -> None:
    reservation = inventory.reserve("KB-101", 1)
    inventory.confirm(reservation.reservation_id)
    with pytest.raises(ValueError, match="already closed"):
        inventory.confirm(reservation.reservation_id)


def test_non_positive_quantities_are_refused(inventory: Inventory) -> None:
    with pytest.raises(ValueError):
        inventory.reserve("KB-101", 0)
    with pytest.raises(ValueError):
        inventory.receive("KB-101", -3)
