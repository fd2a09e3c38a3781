"""Asynchronous confirmation of reservations once the warehouse acknowledges them."""

from __future__ import annotations

import threading
from typing import Callable

from shop.inventory.stock import Inventory


class AsyncConfirmer:
    """Asks the warehouse to ship a reservation on a background thread.

    The web request must not block on the warehouse, so ``submit`` returns at
    once and ``wait`` lets a caller that does care give it a bounded time.
    """

    def __init__(self, inventory: Inventory, acknowledge: Callable[[int], bool]) -> None:
        self.inventory = inventory
        self.acknowledge = acknowledge
        self._threads: dict[int, threading.Thread] = {}

    def submit(self, reservation_id: int) -> None:
        thread = threading.Thread(target=self._confirm, args=(reservation_id,), daemon=True)
        self._threads[reservation_id] = thread
        thread.start()

    def wait(self, reservation_id: int, timeout: float) -> bool:
        """True when the confirmation finished within ``timeout`` seconds."""
        thread = self._threads[reservation_id]
        thread.join(timeout)
        return not thread.is_alive()

    def _confirm(self, reservation_id: int) -> None:
        if self.acknowledge(reservation_id):
            self.inventory.confirm(reservation_id)
        else:
            self.inventory.release(reservation_id)
