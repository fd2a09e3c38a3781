# expect_category: product
"""A test module importing a product module that has a syntax error."""

from shop.broken_module import discount_for


def test_discount():
    assert discount_for(None) == 0
