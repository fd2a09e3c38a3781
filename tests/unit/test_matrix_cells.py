"""Matrix expansion and the context a test sees, without pytest."""

from __future__ import annotations

import pytest

from pytest_orchestra.matrix import MatrixContext, MatrixError, expand_cells, marker_dimensions
from pytest_orchestra.workflow import Workflow

SPEC = Workflow.from_dict(
    {
        "matrix": {
            "dimensions": {
                "role": {"Admin": {"claims": {"admin": True}}, "Guest": None},
                "edition": {"lite": {"flags": {"sso": False}}, "pro": {"flags": {"sso": True}}},
            },
            "exclude": [{"role": "Guest", "edition": "pro", "reason": "no guest seats"}],
        }
    }
).matrix


def test_cells_follow_the_marker_order_and_carry_exclusions() -> None:
    dims = marker_dimensions(("edition", "role"), {}, SPEC, where="t::x")
    cells = expand_cells(dims, SPEC)
    assert [c.id for c in cells] == ["lite-Admin", "lite-Guest", "pro-Admin", "pro-Guest"]
    assert [c.skip_reason for c in cells] == [None, None, None, "excluded by matrix.exclude[0]: no guest seats"]


def test_explicit_values_may_subset_or_extend_the_workflow() -> None:
    dims = marker_dimensions((), {"role": ["Admin", "Auditor"], "region": "eu"}, SPEC, where="t::x")
    cells = expand_cells(dims, SPEC)
    assert [c.values for c in cells] == [
        {"role": "Admin", "region": "eu"},
        {"role": "Auditor", "region": "eu"},
    ]
    assert cells[0].attached["role"] == {"claims": {"admin": True}}
    assert cells[1].attached["role"] == {}


def test_an_exclusion_on_a_dimension_the_test_does_not_use_does_not_apply() -> None:
    cells = expand_cells({"role": ("Guest",)}, SPEC)
    assert cells[0].skip_reason is None


def test_marker_errors_name_the_test() -> None:
    with pytest.raises(MatrixError, match=r"^t\.py::test_x: @pytest\.mark\.matrix: positional arguments"):
        marker_dimensions((3,), {}, SPEC, where="t.py::test_x")
    with pytest.raises(MatrixError, match="dimension 'role' is given twice"):
        marker_dimensions(("role",), {"role": ["A"]}, SPEC, where="t")
    with pytest.raises(MatrixError, match="role must be a list of values, got 5j"):
        marker_dimensions((), {"role": 5j}, SPEC, where="t")


def test_context_merges_attached_data_in_dimension_order() -> None:
    cell = expand_cells({"role": ("Admin",), "edition": ("pro",)}, SPEC)[0]
    ctx = MatrixContext(cell)
    assert ctx.role == "Admin" and ctx["edition"] == "pro"
    assert ctx["claims"] == {"admin": True} and ctx.flags == {"sso": True}
    assert "flags" in ctx and "nothing" not in ctx
    assert ctx.get("nothing", 1) == 1
    with pytest.raises(KeyError, match=r"has no 'tenant' \(it has: claims, edition, flags, role\)"):
        ctx["tenant"]
    with pytest.raises(AttributeError):
        ctx._private  # noqa: B018 -- the attribute access is what raises
    assert repr(ctx) == "MatrixContext({'role': 'Admin', 'edition': 'pro'})"
