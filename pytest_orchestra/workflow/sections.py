"""The sections of the workflow file, their schemas, and the section registry.

The four sections of this version (apps, matrix, gates, reports) are declared
here. Later capabilities add theirs with one call, ``register_section(name,
node)``; names reserved for them are rejected with "not available yet" until
then. ``validate_document`` checks a whole document against the registry and
``workflow_json_schema`` renders the registry as JSON Schema.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .schema import (
    AnyMapping,
    Bool,
    ByShape,
    Field,
    Int,
    JsonSchema,
    ListOf,
    MapOf,
    Node,
    Number,
    Record,
    Scalar,
    SchemaViolation,
    Str,
    describe_value,
    index_path,
    key_path,
    unknown_key_error,
)

#: Sections later versions will bring; named here so a user gets a clear message.
RESERVED_SECTIONS: Tuple[str, ...] = (
    "environments",
    "datasets",
    "selection",
    "triage",
    "retries",
    "quarantine",
    "sharding",
    "plans",
    "runners",
)

BUILTIN_SECTIONS: Tuple[str, ...] = ("apps", "matrix", "gates", "reports")

IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"

FALLBACK_VERSION = "0.1.0"


def orchestra_version() -> str:
    """The installed version, for "not available in pytest-orchestra X yet"."""
    from importlib import metadata  # only needed on this error path

    try:
        return metadata.version("pytest-orchestra")
    except metadata.PackageNotFoundError:
        return FALLBACK_VERSION


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


def find_cycle(edges: Mapping[str, Sequence[str]]) -> List[str]:
    """One cycle of ``edges`` (name -> names it depends on) as ``[a, b, ..., a]``, or ``[]``.

    Deterministic: nodes are visited in the mapping's order.
    """
    state: Dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in edges:
        if state.get(start):
            continue
        path: List[str] = [start]
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

# --- the registry -----------------------------------------------------------

_sections: Dict[str, Node] = {
    "apps": APPS,
    "matrix": MATRIX,
    "gates": GATES,
    "reports": REPORTS,
}


#: Sections whose node is built on first need: name -> "module:function" returning the node.
#: A run whose workflow does not use a capability never imports that capability's schema.
_lazy_sections: Dict[str, str] = {}

#: Every section in the order it was first registered, lazily or not: the JSON Schema lists
#: them in this order, whatever order earlier code in the process happened to build them in.
_registration_order: Dict[str, None] = dict.fromkeys(_sections)


def register_section(name: str, node: Node) -> None:
    """Make a top-level section available; its validated value lands in ``Workflow.sections``.

    Registering again replaces the node (plugins may be loaded more than once
    in one process, e.g. under pytester).
    """
    if name in BUILTIN_SECTIONS:
        raise ValueError(f"section {name!r} is built in and cannot be replaced")
    _lazy_sections.pop(name, None)
    _sections[name] = node
    _registration_order.setdefault(name, None)


def register_lazy_section(name: str, target: str) -> None:
    """Like :func:`register_section`, with the node built by ``"module:function"`` when first needed."""
    if name in BUILTIN_SECTIONS:
        raise ValueError(f"section {name!r} is built in and cannot be replaced")
    _sections.pop(name, None)
    _lazy_sections[name] = target
    _registration_order.setdefault(name, None)


def section_node(name: str) -> Optional[Node]:
    """The schema node of a registered section (built now if it was registered lazily), or None.

    How one capability's schema reuses another's section (a plan's ``retries``)
    without importing that capability.
    """
    node = _sections.get(name)
    if node is None and name in _lazy_sections:
        from importlib import import_module

        module, function = _lazy_sections[name].split(":")
        node = getattr(import_module(module), function)()
        register_section(name, node)
    return node


def unregister_section(name: str) -> None:
    if name in BUILTIN_SECTIONS:
        raise ValueError(f"section {name!r} is built in and cannot be removed")
    _sections.pop(name, None)
    _lazy_sections.pop(name, None)
    _registration_order.pop(name, None)


def available_sections() -> List[str]:
    return sorted(set(_sections) | set(_lazy_sections))


def validate_document(data: Any) -> Dict[str, Any]:
    """Validate a whole workflow document; returns validated sections by name.

    Raises :class:`SchemaViolation` for the first problem in document order.
    """
    if not isinstance(data, Mapping):
        raise SchemaViolation(
            "", f"expected a mapping of sections at the top level, got {describe_value(data)}"
        )
    result: Dict[str, Any] = {}
    for raw_name, value in data.items():
        name = str(raw_name)
        node = section_node(name) if isinstance(raw_name, str) else None
        if node is not None:
            result[name] = node.validate(value, name)
        elif name in RESERVED_SECTIONS:
            raise SchemaViolation(
                name,
                f"this section is not available in pytest-orchestra {orchestra_version()} yet"
                f" (available: {', '.join(available_sections())})",
            )
        else:
            raise unknown_key_error("", name, available_sections())
    return result


def workflow_json_schema() -> JsonSchema:
    """The registry as a Draft 2020-12 JSON Schema document."""
    for name in list(_lazy_sections):
        section_node(name)
    properties: JsonSchema = {name: _sections[name].json_schema() for name in _registration_order}
    for name in RESERVED_SECTIONS:
        if name not in properties:
            properties[name] = {
                "description": "Reserved for a later version: not available in pytest-orchestra yet.",
                "not": {},
            }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "pytest-orchestra workflow",
        "description": "orchestra.yaml, or [tool.orchestra] in pyproject.toml.",
        "type": ["object", "null"],
        "properties": properties,
        "additionalProperties": False,
    }
