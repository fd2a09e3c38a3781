"""The plans section: schema, specs, references to apps and the matrix."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from pytest_orchestra.plans.config import (
    PlanSpec,
    RequiredSpec,
    check_references,
    plans_section_node,
    plans_spec,
)
from pytest_orchestra.workflow import Workflow, WorkflowError
from pytest_orchestra.workflow.errors import SchemaViolation

ISSUE_EXAMPLE: Dict[str, Any] = {
    True: {"pull_request": "pre-merge", "schedule": "nightly"},  # YAML 1.1 reads `on` as true
    "pre-merge": {"changed": True, "markers": "not slow", "retries": {"max": 1}, "gates": {"min_success_rate": 1.0}},
    "nightly": {"markers": "regression or security", "matrix": "all", "retries": {"max": 2, "categories": "all"}},
    "release": {
        "matrix": "all",
        "required": {
            "matrix": {"role": ["Admin", "CFO", "Guest"], "edition": ["lite", "pro", "enterprise"]},
            "must_pass": ["tests/billing/test_refund.py::test_guest_cannot_refund"],
        },
    },
}


def test_the_issue_example_reads_into_specs() -> None:
    spec = plans_spec(plans_section_node().validate(ISSUE_EXAMPLE, "plans"))
    assert spec.on == {"pull_request": "pre-merge", "schedule": "nightly"}
    pre_merge = spec.plans["pre-merge"]
    assert pre_merge == PlanSpec(
        name="pre-merge",
        changed="",
        markers="not slow",
        retries={"max": 1},  # only what the plan says: the workflow's categories stay
        gates={"min_success_rate": 1.0},
    )
    assert spec.plans["nightly"].matrix is None
    assert spec.plans["nightly"].retries == {"max": 2, "categories": ("all",)}
    release = spec.plans["release"]
    assert release.required == RequiredSpec(
        matrix={"role": ("Admin", "CFO", "Guest"), "edition": ("lite", "pro", "enterprise")},
        must_pass=("tests/billing/test_refund.py::test_guest_cannot_refund",),
    )
    assert release.required_coverage is True and not release.selects


def test_specs_of_subsets_apps_refs_and_gate_switch() -> None:
    section = plans_section_node().validate(
        {
            "on": {"merge_request_event": "billing"},
            "billing": {
                "apps": ["billing"],
                "matrix": {"role": "Admin", "edition": ["lite", "pro"]},
                "changed": "origin/develop",
                "keyword": "refund",
                "description": "billing only",
                "gates": {"required_coverage": False, "max_failures": 0},
                "required": {"must_pass": ["t.py::test_a"]},
            },
            "off": {"changed": False},
        },
        "plans",
    )
    spec = plans_spec(section)
    plan = spec.plans["billing"]
    assert plan.apps == ("billing",) and plan.selects
    assert plan.matrix == {"role": ("Admin",), "edition": ("lite", "pro")}
    assert plan.changed == "origin/develop" and plan.keyword == "refund"
    assert plan.gates == {"max_failures": 0} and plan.required_coverage is False
    assert plan.required == RequiredSpec(matrix={}, must_pass=("t.py::test_a",))
    assert spec.plans["off"].changed is None
    assert plans_spec(None) == plans_spec({}) and plans_spec(None).plans == {}
    assert plans_section_node().validate(None, "plans") == {"on": {}, "plans": {}}


@pytest.mark.parametrize(
    ("plans", "message"),
    [
        ({"nightly": {"retries": {"max": -1}}}, "orchestra.yaml: plans.nightly.retries.max: expected an integer >= 0, got -1"),
        ({"nightly": {"markers": 3}}, "orchestra.yaml: plans.nightly.markers: expected a non-empty string, got 3"),
        ({"nightly": {"marker": "x"}}, "orchestra.yaml: plans.nightly.marker: unknown key; did you mean 'markers'?"),
        ({"nightly": {"gates": {"min_success_rate": "95%"}}}, "plans.nightly.gates.min_success_rate: expected a number"),
        ({"nightly": {"matrix": "some"}}, "plans.nightly.matrix: expected 'all' or a mapping of dimension -> values"),
        ({"nightly": {"changed": ""}}, "plans.nightly.changed: expected true, false or a git ref, got ''"),
        ({"nightly": {"required": {"must_pass": ["test_x"]}}},
         "plans.nightly.required.must_pass[0]: expected a test node id like tests/test_x.py::test_name, got 'test_x'"),
        ({"on": {"schedule": "nightly"}, "quick": {}}, "orchestra.yaml: plans.on.schedule: unknown plan 'nightly' (plans: quick)"),
        ({"on": ["x"]}, "plans.on: expected a mapping"),
        ({"bad name": {}}, "plans.bad name: expected a plan name"),
        (["nightly"], "orchestra.yaml: plans: expected a mapping of plan name -> plan (and 'on')"),
    ],
)
def test_malformed_plans_name_the_key_path(plans: Any, message: str) -> None:
    with pytest.raises(WorkflowError) as raised:
        Workflow.from_dict({"plans": plans}, source="orchestra.yaml")
    assert message in str(raised.value)


def test_references_to_apps_and_matrix_are_checked() -> None:
    node = plans_section_node()
    dims = {"role": ("Admin", "Guest"), "edition": ("lite", "pro")}

    def check(plan: Dict[str, Any]) -> None:
        check_references(plans_spec(node.validate({"p": plan}, "plans")), apps=["auth", "billing"], dimensions=dims)

    check({"apps": ["auth"], "matrix": {"role": "Admin"}, "required": {"matrix": {"edition": ["lite", "pro"]}}})
    for plan, path, message in [
        ({"apps": ["auth", "shop"]}, "plans.p.apps[1]", "unknown app 'shop' (apps: auth, billing)"),
        ({"matrix": {"region": ["eu"]}}, "plans.p.matrix.region", "unknown matrix dimension 'region' (declared: edition, role)"),
        ({"matrix": {"role": ["Admin", "CFO"]}}, "plans.p.matrix.role[1]", "unknown value 'CFO' for dimension 'role'"),
        ({"required": {"matrix": {"role": "CFO"}}}, "plans.p.required.matrix.role", "unknown value 'CFO'"),
    ]:
        with pytest.raises(SchemaViolation) as raised:
            check(plan)
        assert raised.value.path == path and message in raised.value.message


def test_json_schema_describes_on_and_plans() -> None:
    schema = plans_section_node().json_schema()
    assert "on" in schema["properties"]
    plan = schema["additionalProperties"]
    assert {"changed", "markers", "keyword", "apps", "matrix", "retries", "gates", "required"} <= set(plan["properties"])
    assert "required_coverage" in plan["properties"]["gates"]["properties"]
    # A plan's retries carry no defaults: the workflow's own values stay unless the plan sets them.
    assert "default" not in plan["properties"]["retries"]["properties"]["max"]
    assert plan["properties"]["changed"]["type"] == ["boolean", "string"]
