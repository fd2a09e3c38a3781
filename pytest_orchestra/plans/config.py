"""The ``plans`` section of the workflow file.

```yaml
plans:
  on: {pull_request: pre-merge, schedule: nightly}      # CI event -> plan
  pre-merge: {changed: true, markers: "not slow", retries: {max: 1}, gates: {min_success_rate: 1.0}}
  release:
    matrix: all
    required:
      matrix: {role: [Admin, CFO, Guest], edition: [lite, pro, enterprise]}
      must_pass: ["tests/billing/test_refund.py::test_guest_cannot_refund"]
```

``on`` is the one reserved key: every other key names a plan. (YAML 1.1 reads
a bare ``on`` as the boolean true, as in GitHub workflow files; that key is read
back as ``on``.) Schema nodes built with the workflow DSL plus the frozen specs
the rest of the capability reads. References to other sections (apps, matrix
dimensions and values) are checked by :func:`check_references`, which sees the
whole workflow. Pure logic: no pytest import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from pytest_orchestra.workflow.schema import (
    Bool,
    ByShape,
    Field,
    JsonSchema,
    ListOf,
    MapOf,
    Node,
    Record,
    Scalar,
    SchemaViolation,
    Str,
    expected_error,
    index_path,
    key_path,
)

#: The reserved key of the section: CI event name -> plan name.
ON_KEY = "on"
PLAN_NAME = r"[A-Za-z0-9_.-]+"
EVENT_NAME = r"[A-Za-z0-9_.-]+"
DIMENSION = r"[A-Za-z_][A-Za-z0-9_]*"
#: ``path::name`` (parameters and classes allowed after the first ``::``).
NODEID = r"[^\s:][^:]*::\S.*"
ALL = "all"


@dataclass(frozen=True)
class RequiredSpec:
    """What a plan must have covered: matrix cells (a cross product) and tests that must pass."""

    #: Dimension -> values whose cross product, minus ``matrix.exclude``, are the required cells.
    matrix: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    #: Node ids; one without ``[...]`` stands for all its parametrized variants.
    must_pass: Tuple[str, ...] = ()


@dataclass(frozen=True)
class PlanSpec:
    name: str
    description: Optional[str] = None
    #: Change-based selection: None off, ``""`` on against the default ref, else the ref.
    changed: Optional[str] = None
    #: A ``-m`` expression, used when the command line gives none.
    markers: Optional[str] = None
    #: A ``-k`` expression, used when the command line gives none.
    keyword: Optional[str] = None
    #: Apps whose tests run (empty: every app, and tests of no app).
    apps: Tuple[str, ...] = ()
    #: Dimension -> values kept (None: every cell).
    matrix: Optional[Dict[str, Tuple[str, ...]]] = None
    #: ``retries`` keys the plan sets, validated, laid over the workflow's section.
    retries: Dict[str, Any] = field(default_factory=dict)
    #: ``gates`` keys the plan sets, validated, laid over the workflow's gates.
    gates: Dict[str, Any] = field(default_factory=dict)
    #: Whether missing or failing required coverage fails the gate.
    required_coverage: bool = True
    required: Optional[RequiredSpec] = None

    @property
    def selects(self) -> bool:
        """Whether the plan deselects tests itself (apps or a matrix subset)."""
        return bool(self.apps) or self.matrix is not None


@dataclass(frozen=True)
class PlansSpec:
    plans: Dict[str, PlanSpec] = field(default_factory=dict)
    #: CI event (native or normalized name) -> plan name.
    on: Dict[str, str] = field(default_factory=dict)


class _Given(Node):
    """A record validated in full, of which only the keys the user wrote are kept.

    A plan's ``retries`` and ``gates`` are laid over the workflow's own: the
    defaults the full record fills in must not override them.
    """

    def __init__(self, record: Record) -> None:
        self.record = record
        self.description = record.description
        self.expected = record.expected

    def validate(self, value: Any, path: str) -> Dict[str, Any]:
        validated = self.record.validate(value, path)
        given = value if isinstance(value, Mapping) else {}
        return {name: validated[name] for name in given if name in validated}

    def json_schema(self) -> JsonSchema:
        schema = self.record.json_schema()
        for prop in schema.get("properties", {}).values():
            prop.pop("default", None)
        return schema


class _Changed(Node):
    """``true`` (default ref), ``false`` (off) or a git ref."""

    expected = "true, false or a git ref"
    description = "Change-based selection (--orchestra-changed): true, false, or the git ref to diff against."

    def validate(self, value: Any, path: str) -> Optional[str]:
        if value is True:
            return ""
        if value is False:
            return None
        if isinstance(value, str) and value.strip():
            return value.strip()
        raise expected_error(path, self.expected, value)

    def json_schema(self) -> JsonSchema:
        return self.described({"type": ["boolean", "string"], "minLength": 1})


def _values_node(description: str) -> ByShape:
    expected = "a value or a non-empty list of values"
    return ByShape(
        expected,
        description,
        list_form=ListOf(Scalar(), expected=expected, min_items=1, unique=True),
        scalar_form=Scalar(),
    )


def _dimension_map(description: str) -> MapOf:
    return MapOf(
        Str(pattern=DIMENSION, expected="a matrix dimension name"),
        _values_node("Values of this dimension."),
        description,
        expected="a mapping of dimension -> values",
        min_items=1,
    )


def _gates_node() -> Record:
    from pytest_orchestra.workflow.sections import GATES

    fields = dict(GATES.fields)
    fields["required_coverage"] = Field(
        Bool("Fail the gate when a required cell or must-pass test is missing or failing (default true)."),
    )
    return Record(fields, "Gate rules of this plan, laid over the workflow's gates; turns the gate on.")


def plan_node() -> Record:
    from pytest_orchestra.workflow.sections import section_node

    retries = section_node("retries")
    assert isinstance(retries, Record), "the retries section (a record) is registered by the capabilities table"

    return Record(
        {
            "description": Field(Str("What the plan is for."), nullable=True),
            "changed": Field(_Changed()),
            "markers": Field(
                Str("A -m expression selecting the plan's tests (a -m on the command line wins).", non_empty=True)
            ),
            "keyword": Field(
                Str("A -k expression selecting the plan's tests (a -k on the command line wins).", non_empty=True)
            ),
            "apps": Field(
                ListOf(
                    Str(pattern=PLAN_NAME, expected="an app name"),
                    "Apps whose tests run; tests of other apps are deselected.",
                    expected="a non-empty list of app names",
                    min_items=1,
                    unique=True,
                )
            ),
            "matrix": Field(
                ByShape(
                    "'all' or a mapping of dimension -> values",
                    "Matrix cells that run: 'all', or values per dimension (other cells are deselected).",
                    mapping_form=_dimension_map("Values kept per dimension."),
                    scalar_form=Str(pattern=ALL, expected="'all' or a mapping of dimension -> values"),
                )
            ),
            "retries": Field(_Given(retries)),
            "gates": Field(_Given(_gates_node())),
            "required": Field(
                Record(
                    {
                        "matrix": Field(
                            _dimension_map(
                                "Values per dimension whose cross product (minus matrix.exclude) must be"
                                " covered: at least one test executed in each cell."
                            )
                        ),
                        "must_pass": Field(
                            ListOf(
                                Str(pattern=NODEID, expected="a test node id like tests/test_x.py::test_name"),
                                "Tests that must run and pass (without [params]: every variant).",
                                expected="a list of test node ids",
                                unique=True,
                            ),
                            default=(),
                        ),
                    },
                    "Coverage this plan must reach; compared with what ran in report.md and summary.json.",
                )
            ),
        },
        "A named pipeline context: selection, retries, gates and required coverage.",
    )


class PlansNode(Node):
    """The section: ``on`` plus plans by name."""

    expected = "a mapping of plan name -> plan (and 'on')"
    description = "Named plans chosen with --orchestra-plan or from the CI event (plans.on)."

    def __init__(self) -> None:
        self.plan = plan_node()
        self.on = MapOf(
            Str(pattern=EVENT_NAME, expected="a CI event name"),
            Str(pattern=PLAN_NAME, expected="a plan name"),
            "CI event (pull_request, push, schedule, manual, or the CI system's own name) -> plan.",
        )
        self.name = Str(pattern=rf"(?!{ON_KEY}$){PLAN_NAME}", expected="a plan name (letters, digits, '_', '.', '-')")

    def validate(self, value: Any, path: str) -> Dict[str, Any]:
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise expected_error(path, self.expected, value)
        on: Dict[str, str] = {}
        plans: Dict[str, Any] = {}
        for raw_key, raw_value in value.items():
            if raw_key is True or raw_key == ON_KEY:  # YAML 1.1 reads a bare `on` as true
                on = self.on.validate(raw_value, key_path(path, ON_KEY))
                continue
            name = self.name.validate(raw_key, key_path(path, raw_key))
            plans[name] = self.plan.validate(raw_value, key_path(path, name))
        for event, plan in on.items():
            if plan not in plans:
                raise SchemaViolation(
                    key_path(key_path(path, ON_KEY), event),
                    f"unknown plan {plan!r} (plans: {', '.join(sorted(plans)) or 'none'})",
                )
        return {"on": on, "plans": plans}

    def json_schema(self) -> JsonSchema:
        return self.described(
            {
                "type": ["object", "null"],
                "properties": {ON_KEY: self.on.json_schema()},
                "propertyNames": {"pattern": f"^{PLAN_NAME}$"},
                "additionalProperties": self.plan.json_schema(),
            }
        )


def plans_section_node() -> Node:
    return PlansNode()


# --- specs -----------------------------------------------------------------


def _as_values(value: Any) -> Tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _plan_spec(name: str, values: Mapping[str, Any]) -> PlanSpec:
    matrix = values.get("matrix")
    required = values.get("required")
    gates = dict(values.get("gates") or {})
    required_coverage = gates.pop("required_coverage", True)
    return PlanSpec(
        name=name,
        description=values.get("description"),
        changed=values.get("changed"),
        markers=values.get("markers"),
        keyword=values.get("keyword"),
        apps=tuple(values.get("apps") or ()),
        matrix=None if matrix in (None, ALL) else {dim: _as_values(v) for dim, v in matrix.items()},
        retries=dict(values.get("retries") or {}),
        gates=gates,
        required_coverage=required_coverage,
        required=None
        if required is None
        else RequiredSpec(
            matrix={dim: _as_values(v) for dim, v in (required.get("matrix") or {}).items()},
            must_pass=tuple(required.get("must_pass") or ()),
        ),
    )


def plans_spec(section: Optional[Mapping[str, Any]]) -> PlansSpec:
    if not section:
        return PlansSpec()
    return PlansSpec(
        plans={name: _plan_spec(name, values) for name, values in section["plans"].items()},
        on=dict(section["on"]),
    )


def check_references(
    spec: PlansSpec, *, apps: Sequence[str], dimensions: Mapping[str, Sequence[str]]
) -> None:
    """Plans may only name declared apps and matrix dimensions and values.

    Raises :class:`SchemaViolation` with the key path (``plans.nightly.apps[0]``).
    """
    for plan in spec.plans.values():
        base = key_path("plans", plan.name)
        for index, app in enumerate(plan.apps):
            if app not in apps:
                raise SchemaViolation(
                    index_path(key_path(base, "apps"), index),
                    f"unknown app {app!r} (apps: {', '.join(sorted(apps)) or 'none declared'})",
                )
        if plan.matrix is not None:
            _check_cells(plan.matrix, key_path(base, "matrix"), dimensions)
        if plan.required is not None and plan.required.matrix:
            _check_cells(plan.required.matrix, key_path(key_path(base, "required"), "matrix"), dimensions)


def _check_cells(chosen: Mapping[str, Sequence[str]], path: str, dimensions: Mapping[str, Sequence[str]]) -> None:
    for name, values in chosen.items():
        name_path = key_path(path, name)
        if name not in dimensions:
            declared = ", ".join(sorted(dimensions)) or "none"
            raise SchemaViolation(name_path, f"unknown matrix dimension {name!r} (declared: {declared})")
        for index, value in enumerate(values):
            if value not in dimensions[name]:
                raise SchemaViolation(
                    index_path(name_path, index) if len(values) > 1 else name_path,
                    f"unknown value {value!r} for dimension {name!r} (declared: {', '.join(dimensions[name])})",
                )
