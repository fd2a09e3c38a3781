"""The test-data capability on a small shop schema (see orchestra.yaml)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings

from pytest_orchestra.data import edge_coverage, strategy


def revenue_by_status(dataset):
    """The 'product code' under test: revenue per order status."""
    totals = Counter()
    for order in dataset["orders"]:
        totals[order["status"]] += order["total"]
    return totals


@pytest.mark.dataset("shop", profile="small")
def test_every_order_has_a_customer(orchestra_dataset):
    customers = {c["id"] for c in orchestra_dataset["customers"]}
    assert all(o["customer_id"] in customers for o in orchestra_dataset["orders"])


@pytest.mark.dataset("shop", rows=5, profile="edge")
def test_edge_cases_are_all_there(orchestra_dataset):
    assert edge_coverage(orchestra_dataset).complete
    assert sum(revenue_by_status(orchestra_dataset).values()) >= 0


@settings(max_examples=30, deadline=None)
@given(dataset=strategy("shop"))
def test_revenue_matches_sql(orchestra_data, dataset):
    db = orchestra_data.load(dataset)  # the session's SQLite, reset for each example, foreign keys on
    rows = db.execute("SELECT status, total FROM orders").fetchall()
    assert len(rows) == len(dataset["orders"])
    assert sum(revenue_by_status(dataset).values()) == sum(
        (o["total"] for o in dataset["orders"]), start=0
    )
