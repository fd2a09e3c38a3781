"""Stock levels per SKU and reservations held against them."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict


class OutOfStock(Exception):
    """Not enough unreserved stock to satisfy a reservation."""


@dataclass
class Reservation:
    reservation_id: int
    sku: str
    quantity: int
    confirmed: bool = False
    released: bool = False


@dataclass
class Inventory:
    """On-hand stock minus what open reservations hold back.

    A lock guards every mutation: the web workers and the warehouse
    acknowledgement thread touch the same levels.
    """

    on_hand: Dict[str, int] = field(default_factory=dict)
    reservations: Dict[int, Reservation] = field(default_factory=dict)
    _ids: "itertools.count[int]" = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def receive(self, sku: str, quantity: int) -> None:
        if quantity <= 0:
            raise ValueError("received quantity must be positive")
        with self._lock:
            self.on_hand[sku] = self.on_hand.get(sku, 0) + quantity

    def reserved(self, sku: str) -> int:
        return sum(
            r.quantity for r in self.reservations.values() if r.sku == sku and not r.released and not r.confirmed
        )

    def available(self, sku: str) -> int:
        return self.on_hand.get(sku, 0) - self.reserved(sku)

    def reserve(self, sku: str, quantity: int) -> Reservation:
        with self._lock:
            if quantity <= 0:
                raise ValueError("reserved quantity must be positive")
            if self.available(sku) < quantity:
                raise OutOfStock(f"{sku}: {self.available(sku)} available, {quantity} asked")
            reservation = Reservation(next(self._ids), sku, quantity)
            self.reservations[reservation.reservation_id] = reservation
            return reservation

    def confirm(self, reservation_id: int) -> None:
        """The goods left the warehouse: the reservation becomes a stock decrease."""
        with self._lock:
            reservation = self._open(reservation_id)
            reservation.confirmed = True
            self.on_hand[reservation.sku] -= reservation.quantity

    def release(self, reservation_id: int) -> None:
        with self._lock:
            self._open(reservation_id).released = True

    def _open(self, reservation_id: int) -> Reservation:
        reservation = self.reservations[reservation_id]
        if reservation.confirmed or reservation.released:
            raise ValueError(f"reservation {reservation_id} is already closed")
        return reservation


def load_snapshot(path: Path) -> Inventory:
    """An inventory from a warehouse snapshot file: ``{"stock": {"SKU": qty, ...}}``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    inventory = Inventory()
    for sku, quantity in data["stock"].items():
        if not isinstance(quantity, int) or quantity < 0:
            raise ValueError(f"bad quantity for {sku}: {quantity!r}")
        if quantity:
            inventory.receive(sku, quantity)
    return inventory
