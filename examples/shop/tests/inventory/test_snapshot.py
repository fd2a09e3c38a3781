"""Loading warehouse stock snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest
from shop.inventory import load_snapshot

DATA = Path(__file__).parent / "data"


def test_berlin_snapshot_loads() -> None:
    inventory = load_snapshot(DATA / "stock_snapshot.json")
    assert inventory.available("KB-101") == 12
    assert inventory.available("BK-007") == 40
    assert "MS-220" not in inventory.on_hand  # zero stock is not recorded


def test_hamburg_snapshot_loads() -> None:
    # DELIBERATE FAILURE (category: data): the fixture file
    # data/stock_snapshot_hamburg.json is truncated (a half-finished upload), so
    # json.loads raises JSONDecodeError. The loader and the test are fine.
    inventory = load_snapshot(DATA / "stock_snapshot_hamburg.json")
    assert inventory.available("MS-220") == 14


def test_negative_quantities_are_rejected(tmp_path: Path) -> None:
    snapshot = tmp_path / "bad.json"
    snapshot.write_text('{"stock": {"KB-101": -1}}', encoding="utf-8")
    with pytest.raises(ValueError, match="bad quantity"):
        load_snapshot(snapshot)
