# expect_category: test
"""A test module that uses an undefined name at import time."""

CASES = build_cases()  # noqa: F821


def test_cases():
    assert CASES
