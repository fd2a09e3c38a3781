"""Routing: every given filter must match; sinks are unioned in route order."""

from __future__ import annotations

import json

import pytest

from pytest_orchestra.triage.routing import RoutedFailure, path_matches, route
from pytest_orchestra.triage.specs import RouteSpec


def failure(**changes: object) -> RoutedFailure:
    values: dict[str, object] = dict(
        nodeid="tests/billing/test_invoice.py::test_vat",
        category="product",
        confidence=0.9,
        rule="assertion-in-product",
        reason="AssertionError raised in shop/billing",
        fingerprint="abc123def456",
        cluster_id="c1",
        phase="call",
        app="billing",
        owners=("@acme/billing",),
        markers=("slow",),
        message="assert 19 == 20",
        location=("shop/billing/vat.py", 12),
    )
    values.update(changes)
    return RoutedFailure(**values)  # type: ignore[arg-type]


ROUTES = (
    RouteSpec(sinks=("team-hook",), categories=("infrastructure", "environment")),
    RouteSpec(sinks=("issues", "failures-log"), categories=("product",), apps=("billing",)),
    RouteSpec(sinks=("failures-log", "slack"), markers=("slow",)),
    RouteSpec(sinks=("billing-owners",), owners=("@acme/billing",)),
    RouteSpec(sinks=("api-tests",), paths=("tests/api/",)),
    RouteSpec(sinks=("everything",)),
)


def test_union_of_matching_routes_in_order_without_duplicates() -> None:
    assert route(failure(), ROUTES) == ["issues", "failures-log", "slack", "billing-owners", "everything"]


def test_every_given_filter_must_match() -> None:
    # product but not billing: the second route needs both.
    routed = route(failure(app="catalog", owners=(), markers=()), ROUTES)
    assert routed == ["everything"]


def test_category_route() -> None:
    routed = route(failure(category="infrastructure", app=None, owners=(), markers=()), ROUTES)
    assert routed == ["team-hook", "everything"]


def test_path_and_marker_arguments_override_the_failure() -> None:
    routed = route(failure(app=None, owners=()), ROUTES, file_path="tests/api/test_x.py", markers=())
    assert routed == ["api-tests", "everything"]


def test_no_routes_no_sinks() -> None:
    assert route(failure(), ()) == []


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("tests/billing/test_a.py", "tests/billing/*", True),
        ("tests/billing/deep/test_a.py", "tests/*/test_*.py", True),  # * crosses directories
        ("tests/billing/test_a.py", "tests/billing/", True),
        ("tests/billing/test_a.py", "./tests/billing/", True),
        ("tests/catalog/test_a.py", "tests/billing/", False),
        ("tests/catalog/test_a.py", "*billing*", False),
    ],
)
def test_path_globs(path: str, pattern: str, expected: bool) -> None:
    assert path_matches(path, pattern) is expected


def test_to_dict_is_json_ready() -> None:
    data = failure().to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["location"] == ["shop/billing/vat.py", 12]
    assert data["owners"] == ["@acme/billing"]
    assert data["fingerprint"] == "abc123def456"
    assert failure(location=None).to_dict()["location"] is None
