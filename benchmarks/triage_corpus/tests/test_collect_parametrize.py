# expect_category: test
"""A test module with invalid parametrize arguments."""

import pytest


@pytest.mark.parametrize("sku, qty", [("A-1", 1, 3)])
def test_quantities(sku, qty):
    assert qty
