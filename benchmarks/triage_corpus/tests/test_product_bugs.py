"""Failures because the code under test behaves wrongly."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest

from shop import inventory, pricing, storage

product = pytest.mark.expect_category("product")


@pytest.fixture
def stock() -> inventory.Inventory:
    shelf = inventory.Inventory()
    shelf.add(inventory.Item("A-1", "mug", 3))
    shelf.add(inventory.Item("B-2", "plate", 1))
    return shelf


@product
@pytest.mark.parametrize(
    "items, expected",
    [
        ([("A-1", 2, Decimal("3.00"))], Decimal("6.00")),
        ([("A-1", 3, Decimal("1.50")), ("B-2", 2, Decimal("2.00"))], Decimal("8.50")),
        ([("C-3", 10, Decimal("0.99"))], Decimal("9.90")),
        ([("D-4", 4, Decimal("2.50"))], Decimal("10.00")),
    ],
)
def test_total_counts_quantities(items, expected):
    assert pricing.total(items) == expected


@product
@pytest.mark.parametrize("price, percent, expected", [
    (Decimal("100"), 10, Decimal("90")),
    (Decimal("50"), 20, Decimal("40")),
    (Decimal("80"), 25, Decimal("60")),
])
def test_discount(price, percent, expected):
    assert pricing.apply_discount(price, percent) == expected


@product
@pytest.mark.parametrize("value, expected", [
    (Decimal("1.005"), Decimal("1.01")),
    (Decimal("2.675"), Decimal("2.68")),
    (Decimal("0.125"), Decimal("0.13")),
])
def test_rounding(value, expected):
    assert pricing.round_price(value) == expected


@product
@pytest.mark.parametrize("text", ["-1", "-0.01", "-100"])
def test_negative_price_rejected(text):
    with pytest.raises(ValueError):
        pricing.parse_price(text)


@product
def test_reserve_more_than_stock_rejected(stock):
    with pytest.raises(ValueError, match="not enough stock"):
        stock.reserve("B-2", 5)


@product
def test_reserve_keeps_stock_non_negative(stock):
    stock.reserve("B-2", 5)
    assert stock.find("B-2").stock >= 0


@product
def test_split_bill_adds_up():
    shares = pricing.split_bill(Decimal("100"), 3)
    assert sum(shares) == Decimal("100")


@product
def test_average_of_no_values():
    assert pricing.average([]) == 0


@product
def test_tax_for_unknown_region():
    assert pricing.tax(Decimal("10"), "ch") == Decimal("0")


@product
def test_last_change_of_new_inventory():
    assert inventory.Inventory().last_change() == ""


@product
def test_restock(stock):
    stock.restock("A-1", 2)
    assert stock.find("A-1").stock == 5


@product
def test_currency_label_unknown_code():
    assert pricing.currency_label("CHF") == "CHF"


@product
def test_names_sorted(stock):
    assert sorted(stock.names()) == ["mug", "plate"]


@product
def test_order_total_without_orders():
    conn = storage.connect()
    storage.add_customer(conn, 1, "ann@example.com")
    assert storage.order_total(conn, 1) == 0.0


@product
def test_find_missing_item_name(stock):
    assert stock.find("Z-9").name == ""


@product
def test_summary_has_total(stock):
    assert stock.summary()["total"] == 4


@product
def test_summary_lists_skus(stock):
    assert list(stock.summary()) == ["A-1", "B-2", "total"]


@product
def test_product_module_has_syntax_error():
    module = importlib.import_module("shop.broken_module")
    assert module.discount_for(None) == 0


@product
def test_discount_message():
    result = pricing.apply_discount(Decimal("10"), 20)
    if result != Decimal("8"):
        pytest.fail(f"discounted price was {result}, expected 8")


@product
def test_total_is_decimal_string():
    assert str(pricing.total([("A-1", 1, Decimal("2.50"))])) == "2.5"


@product
def test_reserve_records_history(stock):
    stock.reserve("A-1", 1)
    assert stock.history == ["reserve A-1 1"]
