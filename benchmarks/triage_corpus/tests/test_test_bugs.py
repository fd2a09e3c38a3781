"""Failures because the test code itself is broken."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shop import inventory, pricing

bug = pytest.mark.expect_category("test")


@bug
def test_name_typo():
    items = [("A-1", 2, Decimal("3.00"))]
    assert pricing.total(itmes) == Decimal("6.00")  # noqa: F821


@bug
def test_undefined_helper():
    cart = make_cart()  # noqa: F821
    assert cart


@bug
def test_unbound_local():
    if False:
        expected = 3
    assert expected == 3  # noqa: F821


@bug
def test_attribute_typo_on_product_object():
    stock = inventory.Inventory()
    stock.add(inventory.Item("A-1", "mug", 3))
    assert stock.itmes["A-1"].stock == 3


@bug
def test_attribute_typo_on_module():
    assert pricing.totl([]) == 0


@bug
def test_unexpected_keyword():
    assert pricing.total([], discount=5) == 0


@bug
def test_missing_argument():
    assert pricing.apply_discount(Decimal("10")) == Decimal("9")


@bug
def test_too_many_arguments():
    assert pricing.tax(Decimal("1"), "eu", "extra") > 0


@bug
def test_fixture_not_found(shopping_cart):
    assert shopping_cart


@bug
def test_another_fixture_not_found(price_list_fixture):
    assert price_list_fixture


@pytest.fixture(scope="session")
def session_inventory(tmp_path):
    return tmp_path


@bug
def test_scope_mismatch(session_inventory):
    assert session_inventory


@bug
def test_fixture_setup_bug(broken_setup_fixture):
    assert broken_setup_fixture


@bug
def test_fixture_name_error(typo_fixture):
    assert typo_fixture


@bug
def test_fixture_teardown_bug(leaky_teardown):
    leaky_teardown.append("handle")


@bug
def test_fixture_teardown_key_error(teardown_key_error):
    assert teardown_key_error["opened"]


@bug
def test_missing_local_helper_module():
    from tests.helpers_missing import build_cart  # noqa: F401

    assert build_cart


@bug
def test_missing_product_submodule():
    from shop.discount_rules import best_discount  # noqa: F401

    assert best_discount


@bug
def test_calls_non_callable():
    rates = pricing.TAX_RATES
    assert rates("eu") > 0
