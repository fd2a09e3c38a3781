# expect_category: environment
"""A test module importing a third-party library that is not installed."""

import hypothesis_jsonschema_not_installed  # noqa: F401


def test_schema():
    assert True
