"""Supplier stock feeds produced by the suppliers' exporter programs."""

from __future__ import annotations

import sys

import pytest
from shop.inventory import parse_feed, run_exporter


def test_parse_feed_sums_duplicates_and_skips_comments() -> None:
    feed = "# supplier 17\nKB-101,5\n\nMS-220, 2\nKB-101,3\n"
    assert parse_feed(feed) == {"KB-101": 8, "MS-220": 2}


def test_parse_feed_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_feed("KB-101,5\nthis is not a feed\n")


def test_exporter_output_is_parsed() -> None:
    exporter = [sys.executable, "-c", "print('KB-101,5'); print('BK-007,12')"]
    assert run_exporter(exporter, timeout=10) == {"KB-101": 5, "BK-007": 12}


def test_nordic_supplier_sync() -> None:
    # DELIBERATE FAILURE (category: timeout): this supplier's exporter hangs
    # (simulated by a 5 s sleep) and the sync's 0.5 s deadline fires, so
    # run_exporter raises subprocess.TimeoutExpired (the child is killed).
    hanging_exporter = [sys.executable, "-c", "import time; time.sleep(5)"]
    stock = run_exporter(hanging_exporter, timeout=0.5)
    assert stock
