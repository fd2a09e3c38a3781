"""The workflow schema: validation messages, the typed model, gate overrides, JSON Schema."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any, Dict, Iterator

import jsonschema
import pytest

from pytest_orchestra.workflow import (
    RESERVED_SECTIONS,
    AppSpec,
    ExcludeRule,
    GatesSpec,
    GithubReportsSpec,
    MatrixSpec,
    ReportsSpec,
    Workflow,
    WorkflowError,
    available_sections,
    register_section,
    unregister_section,
    workflow_json_schema,
)
from pytest_orchestra.workflow.__main__ import SCHEMA_FILE, main, render_schema
from pytest_orchestra.workflow.builtin_sections import GATES, GITHUB, REPORTS
from pytest_orchestra.workflow.schema import Bool, Field, Int, Record, Str
from pytest_orchestra.workflow.sections import orchestra_version

VERSION = orchestra_version()
ROLES = {"role": ["Admin", "CFO", "Guest"]}


def error_of(data: Any, source: str = "orchestra.yaml") -> str:
    with pytest.raises(WorkflowError) as info:
        Workflow.from_dict(data, source=source)
    return str(info.value)


# --- error messages ---------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"gates": {"min_success_rate": "95%"}},
            "gates.min_success_rate: expected a number between 0 and 1, got '95%'",
        ),
        (
            {"gates": {"min_success_rate": 1.5}},
            "gates.min_success_rate: expected a number between 0 and 1, got 1.5",
        ),
        (
            {"gates": {"min_success_rate": True}},
            "gates.min_success_rate: expected a number between 0 and 1, got True",
        ),
        (
            {"gates": {"regression_tolerance": None}},
            "gates.regression_tolerance: expected a number between 0 and 1, got None",
        ),
        ({"gates": {"max_flaky": -1}}, "gates.max_flaky: expected an integer >= 0, got -1"),
        ({"gates": {"max_flaky": 1.0}}, "gates.max_flaky: expected an integer >= 0, got 1.0"),
        ({"gates": {"max_failures": False}}, "gates.max_failures: expected an integer >= 0, got False"),
        ({"gates": {"critical": "yes"}}, "gates.critical: expected true or false, got 'yes'"),
        ({"gates": {"critical": {"a": 1}}}, "gates.critical: expected true or false, got a mapping"),
        (
            {"gates": {"critical_markers": "critical"}},
            "gates.critical_markers: expected a list of marker names, got 'critical'",
        ),
        (
            {"gates": {"critical_markers": ["ok", "not ok"]}},
            "gates.critical_markers[1]: expected a marker name, got 'not ok'",
        ),
        ({"gates": [1]}, "gates: expected a mapping, got a list"),
        ({"reports": {"keep": 0}}, "reports.keep: expected an integer >= 1, got 0"),
        ({"reports": {"dir": ""}}, "reports.dir: expected a non-empty string, got ''"),
        (
            {"reports": {"github": {"max_annotations": "ten"}}},
            "reports.github.max_annotations: expected an integer >= 0, got 'ten'",
        ),
        (
            {"apps": {"auth": {"paths": ["tests/auth/**", 3]}}},
            "apps.auth.paths[1]: expected a string, got 3",
        ),
        ({"apps": {"auth": {"paths": "tests/**"}}}, "apps.auth.paths: expected a list of glob strings, got 'tests/**'"),
        ({"apps": {"auth": {"owner": []}}}, "apps.auth.owner: expected a string, got an empty list"),
        (
            {"apps": {"bad name": {}}},
            "apps.bad name: expected an app name (letters, digits, '_', '.', '-'), got 'bad name'",
        ),
        ({"apps": ["auth"]}, "apps: expected a mapping, got a list"),
        (
            {"matrix": {"dimensions": {"role": []}}},
            "matrix.dimensions.role: expected a non-empty list of values or a mapping of value -> data,"
            " got an empty list",
        ),
        (
            {"matrix": {"dimensions": {"role": "Admin"}}},
            "matrix.dimensions.role: expected a non-empty list of values or a mapping of value -> data,"
            " got 'Admin'",
        ),
        (
            {"matrix": {"dimensions": {"role": ["Admin", 1.5]}}},
            "matrix.dimensions.role[1]: expected a string, integer or boolean, got 1.5",
        ),
        ({"matrix": {"dimensions": {"role": [1, "1"]}}}, "matrix.dimensions.role[1]: duplicate value '1'"),
        (
            {"matrix": {"dimensions": {"edition": {"lite": [1]}}}},
            "matrix.dimensions.edition.lite: expected a mapping, got a list",
        ),
        (
            {"matrix": {"dimensions": {"2d": ["a"]}}},
            "matrix.dimensions.2d: expected a dimension name (letters, digits, '_'; not 'reason'), got '2d'",
        ),
        (
            {"matrix": {"dimensions": {"reason": ["a"]}}},
            "matrix.dimensions.reason: expected a dimension name (letters, digits, '_'; not 'reason'),"
            " got 'reason'",
        ),
        ({"matrix": {"exclude": {"role": "Guest"}}}, "matrix.exclude: expected a list of rules, got a mapping"),
        (
            {"matrix": {"dimensions": ROLES, "exclude": [{"role": "Guest"}, {}]}},
            "matrix.exclude[1]: an exclude rule needs at least one dimension besides 'reason'",
        ),
        (
            {"matrix": {"dimensions": ROLES, "exclude": [{"reason": "why"}]}},
            "matrix.exclude[0]: an exclude rule needs at least one dimension besides 'reason'",
        ),
        (
            {"matrix": {"dimensions": ROLES, "exclude": [{"role": []}]}},
            "matrix.exclude[0].role: expected a value or a non-empty list of values, got an empty list",
        ),
        (
            {"matrix": {"dimensions": ROLES, "exclude": [{"role": {"Guest": 1}}]}},
            "matrix.exclude[0].role: expected a value or a non-empty list of values, got a mapping",
        ),
        (
            {"matrix": {"dimensions": ROLES, "exclude": [{"role": "Guest", "reason": 3}]}},
            "matrix.exclude[0].reason: expected a string, got 3",
        ),
    ],
)
def test_wrong_value_names_file_path_and_expectation(data: Dict[str, Any], message: str) -> None:
    assert error_of(data) == f"orchestra.yaml: {message}"


def test_unknown_key_suggests_the_close_match_and_lists_allowed_keys() -> None:
    assert error_of({"gates": {"min_succes_rate": 0.9}}) == (
        "orchestra.yaml: gates.min_succes_rate: unknown key; did you mean 'min_success_rate'?"
        " (allowed: critical, critical_markers, max_failures, max_flaky, max_quarantined,"
        " max_retried, min_success_rate, no_regression, regression_tolerance)"
    )


def test_unknown_key_without_close_match_has_no_suggestion() -> None:
    assert error_of({"reports": {"colour": "red"}}) == (
        "orchestra.yaml: reports.colour: unknown key (allowed: dir, enabled, github, history_runs, keep, otel)"
    )


def test_unknown_top_level_section() -> None:
    assert error_of({"gate": {}}) == (
        "orchestra.yaml: gate: unknown key; did you mean 'gates'?"
        f" (allowed: {', '.join(available_sections())})"
    )


def test_non_string_key_is_an_unknown_key() -> None:
    assert error_of({"apps": {"auth": {1: "x"}}}) == (
        "orchestra.yaml: apps.auth.1: unknown key (allowed: depends_on, description, owner, paths)"
    )


@pytest.fixture
def future_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every capability has landed: these made-up names stand for sections still to come."""
    from pytest_orchestra.workflow import sections

    monkeypatch.setattr(sections, "RESERVED_SECTIONS", RESERVED_SECTIONS + ("forecasts", "futures"))


@pytest.mark.usefixtures("future_sections")
@pytest.mark.parametrize("section", ["forecasts", "futures"])
def test_reserved_section_is_not_available_yet(section: str) -> None:
    assert error_of({section: {}}) == (
        f"orchestra.yaml: {section}: this section is not available in pytest-orchestra {VERSION} yet"
        f" (available: {', '.join(available_sections())})"
    )


@pytest.mark.usefixtures("future_sections")
def test_version_falls_back_when_the_package_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    assert error_of({"futures": []}) == (
        "orchestra.yaml: futures: this section is not available in pytest-orchestra 0.1.0 yet"
        f" (available: {', '.join(available_sections())})"
    )


def test_unknown_matrix_dimension_in_exclude() -> None:
    data = {
        "matrix": {
            "dimensions": {"role": ["Admin", "CFO", "Guest"], "edition": ["lite", "pro"]},
            "exclude": [{"role": "Guest", "region": "eu"}],
        }
    }
    assert error_of(data) == (
        "orchestra.yaml: matrix.exclude[0].region: unknown matrix dimension 'region'"
        " (declared: edition, role)"
    )


def test_exclude_without_dimensions_names_no_declared_dimension() -> None:
    assert error_of({"matrix": {"exclude": [{"role": "Guest"}]}}) == (
        "orchestra.yaml: matrix.exclude[0].role: unknown matrix dimension 'role' (declared: none)"
    )


def test_unknown_value_in_exclude() -> None:
    data = {"matrix": {"dimensions": {"role": ["Guest", "CFO", "Admin"]}, "exclude": [{"role": "Gest"}]}}
    assert error_of(data) == (
        "orchestra.yaml: matrix.exclude[0].role: unknown value 'Gest' for dimension 'role'"
        " (declared: Admin, CFO, Guest)"
    )


def test_unknown_value_in_exclude_list_names_its_index() -> None:
    data = {"matrix": {"dimensions": ROLES, "exclude": [{"reason": None, "role": ["Guest", "Root"]}]}}
    assert error_of(data) == (
        "orchestra.yaml: matrix.exclude[0].role[1]: unknown value 'Root' for dimension 'role'"
        " (declared: Admin, CFO, Guest)"
    )


def test_top_level_must_be_a_mapping() -> None:
    assert error_of(["gates"]) == (
        "orchestra.yaml: expected a mapping of sections at the top level, got a list"
    )
    assert error_of("gates") == (
        "orchestra.yaml: expected a mapping of sections at the top level, got 'gates'"
    )


def test_first_error_in_document_order_is_reported() -> None:
    data = {"reports": {"keep": 0}, "gates": {"max_flaky": -1}}
    assert error_of(data) == "orchestra.yaml: reports.keep: expected an integer >= 1, got 0"


def test_error_attributes() -> None:
    with pytest.raises(WorkflowError) as info:
        Workflow.from_dict({"gates": {"max_flaky": "x"}}, source="conftest.py")
    err = info.value
    assert (err.source, err.path, err.message) == (
        "conftest.py",
        "gates.max_flaky",
        "expected an integer >= 0, got 'x'",
    )
    assert err.line is None
    assert str(err) == "conftest.py: gates.max_flaky: expected an integer >= 0, got 'x'"


def test_default_source_is_python() -> None:
    assert error_of({"gates": 3}, source="<python>") == "<python>: gates: expected a mapping, got 3"


# --- the model ---------------------------------------------------------------

FULL_DOCUMENT: Dict[str, Any] = {
    "apps": {
        "auth": {
            "paths": ["tests/auth/**", "src/shop/auth/**"],
            "owner": "@team-auth",
            "description": "Login and sessions",
        },
        "shop.cart": None,
    },
    "matrix": {
        "dimensions": {
            "role": ["Admin", "CFO", "Guest"],
            "edition": {"lite": {"flags": {"refunds": False}}, "pro": None, "enterprise": {}},
            "tier": [1, True],
        },
        "exclude": [
            {"role": "Guest", "edition": ["enterprise"], "reason": "guests have no enterprise seat"},
            {"role": "CFO", "edition": ["lite", "pro"]},
        ],
    },
    "gates": {
        "min_success_rate": 1,
        "critical_markers": ["critical", "smoke"],
        "critical": False,
        "max_failures": 10,
        "max_flaky": 0,
        "max_retried": 5,
        "max_quarantined": None,
        "no_regression": True,
        "regression_tolerance": 0.02,
    },
    "reports": {
        "enabled": False,
        "dir": "out/orchestra",
        "keep": 3,
        "github": {"annotations": False, "max_annotations": 0, "step_summary": False},
        "otel": False,
    },
}


def test_full_document_builds_the_typed_model() -> None:
    workflow = Workflow.from_dict(FULL_DOCUMENT, source="orchestra.yaml")
    assert workflow.source == "orchestra.yaml"
    assert workflow.apps == {
        "auth": AppSpec("auth", ("tests/auth/**", "src/shop/auth/**"), "@team-auth", "Login and sessions"),
        "shop.cart": AppSpec("shop.cart"),
    }
    assert workflow.matrix.dimensions == {
        "role": ("Admin", "CFO", "Guest"),
        "edition": ("lite", "pro", "enterprise"),
        "tier": ("1", "true"),
    }
    assert list(workflow.matrix.dimensions) == ["role", "edition", "tier"]
    assert workflow.matrix.attached["edition"] == {
        "lite": {"flags": {"refunds": False}},
        "pro": {},
        "enterprise": {},
    }
    assert workflow.matrix.attached["role"] == {"Admin": {}, "CFO": {}, "Guest": {}}
    assert workflow.matrix.exclude == (
        ExcludeRule(0, {"role": ("Guest",), "edition": ("enterprise",)}, "guests have no enterprise seat"),
        ExcludeRule(1, {"role": ("CFO",), "edition": ("lite", "pro")}, None),
    )
    assert workflow.gates == GatesSpec(
        min_success_rate=1.0,
        critical_markers=("critical", "smoke"),
        critical=False,
        max_failures=10,
        max_flaky=0,
        max_retried=5,
        max_quarantined=None,
        no_regression=True,
        regression_tolerance=0.02,
    )
    assert isinstance(workflow.gates.min_success_rate, float)
    assert workflow.reports == ReportsSpec(
        enabled=False,
        dir="out/orchestra",
        keep=3,
        github=GithubReportsSpec(annotations=False, max_annotations=0, step_summary=False),
        otel=False,
    )
    assert workflow.raw == FULL_DOCUMENT
    assert workflow.sections == {}


def test_empty_document_gives_defaults_and_no_gate() -> None:
    workflow = Workflow.from_dict({}, source="orchestra.yaml")
    assert workflow.apps == {}
    assert workflow.matrix == MatrixSpec()
    assert workflow.gates is None
    assert workflow.reports == ReportsSpec(True, ".orchestra", 20, 500, GithubReportsSpec(True, 10, True), True)
    assert Workflow.empty() == Workflow(source=None)


def test_null_sections_mean_all_defaults() -> None:
    workflow = Workflow.from_dict({"gates": None, "reports": None, "matrix": None, "apps": None})
    assert workflow.gates == GatesSpec(None, ("critical",), True, None, None, None, None, False, 0.0)
    assert workflow.reports == ReportsSpec()
    assert workflow.matrix == MatrixSpec()
    assert workflow.apps == {}


def test_partial_reports_keeps_github_defaults() -> None:
    workflow = Workflow.from_dict({"reports": {"github": {"max_annotations": 3}}})
    assert workflow.reports.github == GithubReportsSpec(True, 3, True)
    assert workflow.reports.dir == ".orchestra"


@pytest.mark.parametrize(
    ("kind", "node"), [(GatesSpec, GATES), (ReportsSpec, REPORTS), (GithubReportsSpec, GITHUB)]
)
def test_dataclass_defaults_agree_with_schema_defaults(kind: Any, node: Record) -> None:
    schema_defaults = node.validate({}, "")
    for spec_field in fields(kind):
        value = schema_defaults.get(spec_field.name)
        default = getattr(kind(), spec_field.name)
        if isinstance(default, GithubReportsSpec):
            default = {f.name: getattr(default, f.name) for f in fields(default)}
        assert default == value, spec_field.name


def test_exclude_rule_matches_and_describes() -> None:
    rule = ExcludeRule(0, {"role": ("Guest",), "edition": ("enterprise", "pro")}, "guests have no enterprise seat")
    assert rule.matches({"role": "Guest", "edition": "pro"})
    assert not rule.matches({"role": "Guest", "edition": "lite"})
    assert not rule.matches({"role": "Admin", "edition": "pro"})
    assert not rule.matches({"edition": "pro"})
    assert rule.describe() == "excluded by matrix.exclude[0]: guests have no enterprise seat"
    plain = ExcludeRule(2, {"role": ("Guest",), "edition": ("enterprise",)})
    assert plain.describe() == "excluded by matrix.exclude[2]: role=Guest, edition=enterprise"
    several = ExcludeRule(1, {"edition": ("lite", "pro")})
    assert several.describe() == "excluded by matrix.exclude[1]: edition=lite|pro"


def test_matrix_excluded_by_returns_the_first_matching_rule() -> None:
    matrix = Workflow.from_dict(FULL_DOCUMENT).matrix
    assert matrix.excluded_by({"role": "CFO", "edition": "pro", "tier": "1"}) == matrix.exclude[1]
    assert matrix.excluded_by({"role": "Admin", "edition": "pro", "tier": "1"}) is None


# --- gate overrides -------------------------------------------------------------


def test_overrides_parse_yaml_values_over_defaults() -> None:
    gates = GatesSpec.from_overrides("min_success_rate=0.9, max_flaky=0,no_regression=true,critical_markers=[a, b]")
    assert gates == GatesSpec(
        min_success_rate=0.9, max_flaky=0, no_regression=True, critical_markers=("a", "b")
    )


def test_overrides_apply_over_the_base() -> None:
    base = GatesSpec(min_success_rate=0.5, max_failures=3)
    gates = GatesSpec.from_overrides("max_failures=1,", base)
    assert gates == GatesSpec(min_success_rate=0.5, max_failures=1)
    assert GatesSpec.from_overrides("max_failures=", base).max_failures is None


def test_empty_override_is_the_base_or_defaults() -> None:
    base = GatesSpec(max_flaky=2)
    assert GatesSpec.from_overrides("", base) is base
    assert GatesSpec.from_overrides("  ", None) == GatesSpec()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("min_success_rate=95%", "min_success_rate: expected a number between 0 and 1, got '95%'"),
        ("max_flaky=0,max_retried=-2", "max_retried: expected an integer >= 0, got -2"),
        ("critical_markers=[a, 'b c']", "critical_markers[1]: expected a marker name, got 'b c'"),
        ("critical_markers=[a", "critical_markers: expected a list of marker names, got '[a'"),
        (
            "min_succes_rate=1",
            "min_succes_rate: unknown key; did you mean 'min_success_rate'? (allowed: critical,"
            " critical_markers, max_failures, max_flaky, max_quarantined, max_retried,"
            " min_success_rate, no_regression, regression_tolerance)",
        ),
        ("max_flaky", "expected key=value, got 'max_flaky'"),
        ("=1", "expected key=value, got '=1'"),
    ],
)
def test_override_errors_are_sourced_as_the_option(text: str, message: str) -> None:
    with pytest.raises(WorkflowError) as info:
        GatesSpec.from_overrides(text)
    assert str(info.value) == f"--orchestra-gate: {message}"
    assert info.value.source == "--orchestra-gate"


# --- registering sections ----------------------------------------------------------


@pytest.fixture
def forecasts_section() -> Iterator[None]:
    register_section(
        "forecasts",
        Record({"count": Field(Int(0, "Times a failed test is retried."), default=0)}, "Retries."),
    )
    yield
    unregister_section("forecasts")


@pytest.mark.usefixtures("future_sections", "forecasts_section")
def test_registered_section_is_validated_and_kept_in_sections() -> None:
    workflow = Workflow.from_dict({"forecasts": {"count": 2}, "gates": {}})
    assert workflow.sections == {"forecasts": {"count": 2}}
    assert "forecasts" in available_sections()
    assert error_of({"forecasts": {"count": -1}}) == (
        "orchestra.yaml: forecasts.count: expected an integer >= 0, got -1"
    )
    assert error_of({"futures": {}}) == (
        f"orchestra.yaml: futures: this section is not available in pytest-orchestra {VERSION} yet"
        f" (available: {', '.join(available_sections())})"
    )
    schema = workflow_json_schema()["properties"]["forecasts"]
    assert schema["properties"]["count"] == {
        "description": "Times a failed test is retried.",
        "type": "integer",
        "minimum": 0,
        "default": 0,
    }


@pytest.mark.usefixtures("future_sections")
def test_unregistering_restores_not_available() -> None:
    register_section("forecasts", Bool("Plans."))
    assert Workflow.from_dict({"forecasts": True}).sections == {"forecasts": True}
    unregister_section("forecasts")
    assert "forecasts: this section is not available" in error_of({"forecasts": True})


def test_builtin_sections_cannot_be_replaced_or_removed() -> None:
    with pytest.raises(ValueError, match="section 'gates' is built in and cannot be replaced"):
        register_section("gates", Bool())
    with pytest.raises(ValueError, match="section 'apps' is built in and cannot be removed"):
        unregister_section("apps")


# --- JSON Schema --------------------------------------------------------------------


def test_shipped_json_schema_is_up_to_date() -> None:
    shipped = SCHEMA_FILE.read_text(encoding="utf-8")
    assert shipped == render_schema(), (
        "pytest_orchestra/workflow/workflow.schema.json is stale;"
        " regenerate it with: python -m pytest_orchestra.workflow"
    )


def _walk_properties(schema: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            yield f"{path}.{name}", sub
        for key, sub in schema.items():
            yield from _walk_properties(sub, f"{path}/{key}")
    elif isinstance(schema, list):
        for sub in schema:
            yield from _walk_properties(sub, path)


@pytest.mark.usefixtures("future_sections")
def test_json_schema_describes_every_key_and_closes_every_record() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    undescribed = [path for path, sub in _walk_properties(schema) if "description" not in sub]
    assert undescribed == []
    assert schema["properties"]["gates"]["additionalProperties"] is False
    reserved = workflow_json_schema()["properties"]["futures"]
    assert reserved["description"] == "Reserved for a later version: not available in pytest-orchestra yet."


GOOD_DOCUMENTS = [
    {},
    FULL_DOCUMENT,
    {"gates": None, "reports": {"github": None}},
    {"matrix": {"dimensions": {"role": ["a"]}, "exclude": [{"role": "a", "reason": "r"}]}},
]

BAD_DOCUMENTS = [
    {"gates": {"min_success_rate": "95%"}},
    {"gates": {"min_succes_rate": 0.9}},
    {"gates": {"max_flaky": True}},
    {"futures": {}},
    {"apps": {"bad name": {}}},
    {"apps": {"auth": {"paths": [1]}}},
    {"matrix": {"dimensions": {"role": []}}},
    {"matrix": {"dimensions": {"role": {}}}},
    {"matrix": {"dimensions": {"role": ["a", "a"]}}},
    {"matrix": {"dimensions": {"reason": ["a"]}}},
    {"matrix": {"dimensions": {"role": ["a"]}, "exclude": [{}]}},
    {"matrix": {"dimensions": {"role": ["a"]}, "exclude": [{"reason": "only"}]}},
    {"matrix": {"dimensions": {"role": ["a"]}, "exclude": [{"role": []}]}},
    {"reports": {"keep": 0}},
    {"reports": {"github": {"extra": 1}}},
    ["gates"],
]


@pytest.mark.parametrize("document", GOOD_DOCUMENTS)
def test_json_schema_accepts_what_the_validator_accepts(document: Any) -> None:
    Workflow.from_dict(document)
    jsonschema.validate(document, workflow_json_schema(), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("document", BAD_DOCUMENTS)
def test_json_schema_rejects_what_the_validator_rejects(document: Any) -> None:
    with pytest.raises(WorkflowError):
        Workflow.from_dict(document)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, workflow_json_schema(), cls=jsonschema.Draft202012Validator)


def test_main_writes_and_checks_the_schema_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "schema.json"
    assert main(["--output", str(target), "--check"]) == 1
    assert "is out of date; run: python -m pytest_orchestra.workflow" in capsys.readouterr().out
    assert main(["--output", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == workflow_json_schema()
    assert main(["--output", str(target), "--check"]) == 0
    assert capsys.readouterr().out.endswith("is up to date\n")


def test_str_node_json_schema_carries_pattern_and_length() -> None:
    assert Str("Name.", pattern="[a-z]+", non_empty=True).json_schema() == {
        "description": "Name.",
        "type": "string",
        "minLength": 1,
        "pattern": "^[a-z]+$",
    }


@pytest.mark.parametrize(
    "apps, message",
    [
        ({"auth": {"depends_on": ["billing"]}}, "orchestra.yaml: apps.auth.depends_on[0]: unknown app 'billing' (apps: auth)"),
        ({"auth": {"depends_on": ["auth"]}}, "orchestra.yaml: apps.auth.depends_on: app 'auth' cannot depend on itself"),
        ({"a": {"depends_on": ["c"]}, "b": {"depends_on": ["a"]}, "c": {"depends_on": ["b"]}},
         "orchestra.yaml: apps: dependency cycle: a → c → b → a"),
        ({"a": {"depends_on": "b"}, "b": {}}, "orchestra.yaml: apps.a.depends_on: expected a list of app names, got 'b'"),
    ],
)
def test_app_dependencies_are_checked(apps: dict, message: str) -> None:
    from pytest_orchestra.workflow import Workflow, WorkflowError

    with pytest.raises(WorkflowError) as error:
        Workflow.from_dict({"apps": apps}, source="orchestra.yaml")
    assert str(error.value) == message


def test_ordering_and_sharding_sections_validate() -> None:
    from pytest_orchestra.ordering.config import ordering_spec, sharding_spec
    from pytest_orchestra.workflow import Workflow, WorkflowError

    workflow = Workflow.from_dict({"ordering": {"on_dependency_failure": "run"}, "sharding": {"history_runs": 5}})
    assert ordering_spec(workflow.sections["ordering"]).on_dependency_failure == "run"
    assert sharding_spec(workflow.sections["sharding"]).history_runs == 5
    assert ordering_spec(None).deselected_dependency == "include" and sharding_spec(None).durations_file is None
    with pytest.raises(WorkflowError, match="ordering.on_dependency_failure: expected 'skip' or 'run', got 'maybe'"):
        Workflow.from_dict({"ordering": {"on_dependency_failure": "maybe"}})


def test_lazy_sections_are_built_only_when_a_document_uses_them() -> None:
    import sys

    from pytest_orchestra.workflow import register_lazy_section

    register_lazy_section("forecasts", "tests.unit.lazy_section_fixture:plans_node")
    try:
        assert "forecasts" in available_sections()
        assert "tests.unit.lazy_section_fixture" not in sys.modules
        Workflow.from_dict({"gates": {}})
        assert "tests.unit.lazy_section_fixture" not in sys.modules  # not used: not imported
        assert Workflow.from_dict({"forecasts": {"count": 3}}).sections == {"forecasts": {"count": 3}}
        assert "tests.unit.lazy_section_fixture" in sys.modules
    finally:
        unregister_section("forecasts")
        sys.modules.pop("tests.unit.lazy_section_fixture", None)
    assert "forecasts" not in available_sections()
    with pytest.raises(ValueError, match="built in"):
        register_lazy_section("gates", "x:y")
