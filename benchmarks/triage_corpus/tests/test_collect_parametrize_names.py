# expect_category: test
"""A test module parametrizing an argument the test does not take."""

import pytest


@pytest.mark.parametrize("region", ["eu", "us"])
def test_tax():
    assert True
