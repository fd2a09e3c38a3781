"""Inventory: stock levels, reservations, snapshots and supplier feeds."""

from __future__ import annotations

from shop.inventory.reservations import AsyncConfirmer
from shop.inventory.stock import Inventory, OutOfStock, Reservation, load_snapshot
from shop.inventory.sync import parse_feed, run_exporter

__all__ = ["AsyncConfirmer", "Inventory", "OutOfStock", "Reservation", "load_snapshot", "parse_feed", "run_exporter"]
