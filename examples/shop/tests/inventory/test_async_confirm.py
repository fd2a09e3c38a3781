"""Background confirmation of reservations by the warehouse."""

from __future__ import annotations

import random
import time

from shop.inventory import AsyncConfirmer, Inventory


def test_rejected_shipment_releases_the_reservation(inventory: Inventory) -> None:
    confirmer = AsyncConfirmer(inventory, acknowledge=lambda reservation_id: False)
    reservation = inventory.reserve("KB-101", 2)
    confirmer.submit(reservation.reservation_id)
    assert confirmer.wait(reservation.reservation_id, timeout=5)
    assert reservation.released
    assert inventory.available("KB-101") == 10


def test_confirmation_arrives_in_time(inventory: Inventory) -> None:
    # DELIBERATE FAILURE (category: flaky): a real race. The simulated
    # warehouse answers after 0-200 ms, but the test only waits 100 ms, so it
    # fails about half the time and passes on a rerun.
    def warehouse_acknowledges(reservation_id: int) -> bool:
        time.sleep(random.uniform(0.0, 0.2))
        return True

    confirmer = AsyncConfirmer(inventory, acknowledge=warehouse_acknowledges)
    reservation = inventory.reserve("KB-101", 2)
    confirmer.submit(reservation.reservation_id)
    confirmer.wait(reservation.reservation_id, timeout=0.1)
    assert reservation.confirmed, "the warehouse did not confirm within 100 ms"
