"""The four sections every workflow may have: ``apps``, ``matrix``, ``gates`` and ``reports``.

Their schema nodes, with the checks that relate several keys (an app's
``depends_on`` names declared apps and makes no cycle; exclude rules name
declared dimensions and values). They are registered as built in by
:mod:`~pytest_orchestra.workflow.sections`; the typed model reads their
validated values in :mod:`~pytest_orchestra.workflow.model`.
"""

from __future__ import annotations

from typing import Any, Dict, Hashable, List, Mapping, Sequence, TypeVar

from .errors import SchemaViolation, index_path, key_path
from .schema import (
    AnyMapping,
    Bool,
    ByShape,
    Field,
    Int,
    ListOf,
    MapOf,
    Number,
    Record,
    Scalar,
    Str,
)

IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"


# --- apps -------------------------------------------------------------------

APP = Record(
    {
        "paths": Field(
            ListOf(
                Str(),
                "Glob patterns matched against rootdir-relative test file paths.",
                expected="a list of glob strings",
            ),
            default=(),
        ),
        "owner": Field(Str("Who owns the app, e.g. a team handle."), nullable=True),
        "description": Field(Str("What the app is."), nullable=True),
        "depends_on": Field(
            ListOf(
                Str(pattern=r"[A-Za-z0-9_.-]+", expected="an app name"),
                "Apps whose tests run first; when one of their tests fails, this app's tests"
                " are skipped (category dependency) unless ordering.on_dependency_failure is run.",
                expected="a list of app names",
                unique=True,
            ),
            default=(),
        ),
    },
    "One application of the system under test.",
)


def _check_app_dependencies(apps: Dict[str, Any], path: str) -> None:
    """``depends_on`` names declared apps and has no cycle."""
    for name, app in apps.items():
        for index, upstream in enumerate(app.get("depends_on", ())):
            if upstream not in apps:
                raise SchemaViolation(
                    index_path(key_path(key_path(path, name), "depends_on"), index),
                    f"unknown app {upstream!r} (apps: {', '.join(sorted(apps))})",
                )
            if upstream == name:
                raise SchemaViolation(
                    key_path(key_path(path, name), "depends_on"), f"app {name!r} cannot depend on itself"
                )
    cycle = find_cycle({name: tuple(app.get("depends_on", ())) for name, app in apps.items()})
    if cycle:
        raise SchemaViolation(path, "dependency cycle: " + " → ".join(cycle))


_Node = TypeVar("_Node", bound=Hashable)


def find_cycle(edges: Mapping[_Node, Sequence[_Node]]) -> List[_Node]:
    """One cycle of ``edges`` (name -> names it depends on) as ``[a, b, ..., a]``, or ``[]``.

    Deterministic: nodes are visited in the mapping's order.
    """
    state: Dict[_Node, int] = {}  # 1 = on the current path, 2 = done
    for start in edges:
        if state.get(start):
            continue
        path: List[_Node] = [start]
        iterators = [iter(edges.get(start, ()))]
        state[start] = 1
        while iterators:
            upstream = next(iterators[-1], None)
            if upstream is None:
                state[path.pop()] = 2
                iterators.pop()
            elif state.get(upstream) == 1:
                return path[path.index(upstream):] + [upstream]
            elif not state.get(upstream):
                state[upstream] = 1
                path.append(upstream)
                iterators.append(iter(edges.get(upstream, ())))
    return []


APPS = MapOf(
    Str(pattern=r"[A-Za-z0-9_.-]+", expected="an app name (letters, digits, '_', '.', '-')"),
    APP,
    "Applications of the system under test, by name; tests are attributed to an app by path.",
    check=_check_app_dependencies,
)

# --- matrix -----------------------------------------------------------------

DIMENSION_VALUES_EXPECTED = "a non-empty list of values or a mapping of value -> data"

DIMENSION_VALUES = ByShape(
    DIMENSION_VALUES_EXPECTED,
    "The values of a dimension: a list, or a mapping of value to data attached to it.",
    list_form=ListOf(Scalar(), expected=DIMENSION_VALUES_EXPECTED, min_items=1, unique=True),
    mapping_form=MapOf(
        Scalar(),
        AnyMapping("Data attached to this value (a mapping, may be empty)."),
        expected=DIMENSION_VALUES_EXPECTED,
        min_items=1,
    ),
)

EXCLUDE_VALUE_EXPECTED = "a value or a non-empty list of values"

EXCLUDE_VALUE = ByShape(
    EXCLUDE_VALUE_EXPECTED,
    "The excluded value(s) of this dimension.",
    list_form=ListOf(Scalar(), expected=EXCLUDE_VALUE_EXPECTED, min_items=1),
    scalar_form=Scalar(),
)


def _check_exclude_rule(rule: Dict[str, Any], path: str) -> None:
    if not any(name != "reason" for name in rule):
        raise SchemaViolation(path, "an exclude rule needs at least one dimension besides 'reason'")


EXCLUDE_RULE = Record(
    {"reason": Field(Str("Why these cells are excluded; shown in reports."), nullable=True)},
    "Cells to leave out: every named dimension's value is among the listed ones.",
    extra=EXCLUDE_VALUE,
    check=_check_exclude_rule,
    # The JSON Schema twin of _check_exclude_rule.
    json_extra={"minProperties": 1, "if": {"required": ["reason"]}, "then": {"minProperties": 2}},
)


def _check_matrix_references(matrix: Dict[str, Any], path: str) -> None:
    """Exclude rules may only name declared dimensions and values."""
    dimensions: Dict[str, Any] = matrix.get("dimensions", {})
    for index, rule in enumerate(matrix.get("exclude", ())):
        rule_path = index_path(key_path(path, "exclude"), index)
        for name, chosen in rule.items():
            if name == "reason":
                continue
            name_path = key_path(rule_path, name)
            if name not in dimensions:
                declared = ", ".join(sorted(dimensions)) or "none"
                raise SchemaViolation(
                    name_path, f"unknown matrix dimension {name!r} (declared: {declared})"
                )
            values = list(dimensions[name])
            picked = [(name_path, chosen)] if isinstance(chosen, str) else [
                (index_path(name_path, i), value) for i, value in enumerate(chosen)
            ]
            for value_path, value in picked:
                if value not in values:
                    raise SchemaViolation(
                        value_path,
                        f"unknown value {value!r} for dimension {name!r}"
                        f" (declared: {', '.join(sorted(values))})",
                    )


MATRIX = Record(
    {
        "dimensions": Field(
            MapOf(
                # "reason" would be ambiguous in exclude rules.
                Str(
                    pattern=rf"(?!reason$){IDENTIFIER}",
                    expected="a dimension name (letters, digits, '_'; not 'reason')",
                ),
                DIMENSION_VALUES,
                "Matrix dimensions by name, in the order cells are listed.",
            ),
            default={},
        ),
        "exclude": Field(
            ListOf(EXCLUDE_RULE, "Rules removing cells from the matrix.", expected="a list of rules"),
            default=(),
        ),
    },
    "Run the suite once per cell of role x edition x ... dimensions.",
    check=_check_matrix_references,
)

# --- gates ------------------------------------------------------------------

GATES = Record(
    {
        "min_success_rate": Field(
            Number(0, 1, "Lowest acceptable share of passing tests, 0 to 1."), nullable=True
        ),
        "critical_markers": Field(
            ListOf(
                Str(pattern=IDENTIFIER, expected="a marker name"),
                "Markers that make a test critical.",
                expected="a list of marker names",
            ),
            default=("critical",),
        ),
        "critical": Field(
            Bool("Zero failures allowed among tests carrying a critical marker."), default=True
        ),
        "max_failures": Field(Int(0, "Most failed or errored tests allowed."), nullable=True),
        "max_flaky": Field(Int(0, "Most flaky tests allowed."), nullable=True),
        "max_retried": Field(Int(0, "Most retried tests allowed."), nullable=True),
        "max_quarantined": Field(Int(0, "Most quarantined tests allowed."), nullable=True),
        "no_regression": Field(
            Bool(
                "The success rate must not drop below the last complete run on the same branch."
            ),
            default=False,
        ),
        "regression_tolerance": Field(
            Number(0, 1, "How far the success rate may drop before no_regression fails."),
            default=0.0,
        ),
    },
    "The quality gate: rules the run must meet, else pytest exits non-zero.",
)

# --- reports ----------------------------------------------------------------

GITHUB = Record(
    {
        "annotations": Field(Bool("Emit ::error annotations for failures."), default=True),
        "max_annotations": Field(Int(0, "Most annotations emitted."), default=10),
        "step_summary": Field(Bool("Write a summary to GITHUB_STEP_SUMMARY."), default=True),
    },
    "GitHub Actions output, used when running under GitHub Actions.",
)

REPORTS = Record(
    {
        "enabled": Field(Bool("False turns run records and reports off."), default=True),
        "dir": Field(
            Str("Folder holding history.db and reports/, relative to the rootdir.", non_empty=True),
            default=".orchestra",
        ),
        "keep": Field(Int(1, "Report folders kept under <dir>/reports."), default=20),
        "history_runs": Field(
            Int(1, "Runs kept in history.db; older runs and their tests are deleted."), default=500
        ),
        # A missing github table means "all defaults", as an empty one does.
        "github": Field(GITHUB, default=GITHUB.validate({}, "")),
        "otel": Field(
            Bool(
                "Export spans via OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set"
                " and the otel extra is installed."
            ),
            default=True,
        ),
    },
    "Run records, report files and CI outputs.",
)
