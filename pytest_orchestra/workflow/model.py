"""The validated workflow as typed, frozen records.

``Workflow.from_dict`` is the one door in: it validates with the section
schemas, then builds these records from the validated (defaults filled) data.
"""

from __future__ import annotations

from dataclasses import field, fields, replace
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple, Type, TypeVar

from pytest_orchestra.core.plainclass import plainclass

from .builtin_sections import GATES
from .errors import SchemaViolation, WorkflowError
from .sections import BUILTIN_SECTIONS, validate_document

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

GATE_OVERRIDE_SOURCE = "--orchestra-gate"

#: One of the records below, built from its section's validated mapping.
_Record = TypeVar("_Record", bound="DataclassInstance")


@plainclass(frozen=True)
class AppSpec:
    name: str
    paths: Tuple[str, ...] = ()
    owner: Optional[str] = None
    description: Optional[str] = None
    depends_on: Tuple[str, ...] = ()


@plainclass(frozen=True)
class ExcludeRule:
    """One ``matrix.exclude`` entry; ``index`` is its position, for messages."""

    index: int
    values: Dict[str, Tuple[str, ...]]
    reason: Optional[str] = None

    def matches(self, cell: Mapping[str, str]) -> bool:
        return all(cell.get(name) in chosen for name, chosen in self.values.items())

    def describe(self) -> str:
        detail = self.reason or ", ".join(
            f"{name}={'|'.join(chosen)}" for name, chosen in self.values.items()
        )
        return f"excluded by matrix.exclude[{self.index}]: {detail}"


@plainclass(frozen=True)
class MatrixSpec:
    #: Dimension -> values, both in declaration order.
    dimensions: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    #: Dimension -> value -> attached data (``{}`` for values declared as a list).
    attached: Dict[str, Dict[str, Dict[str, Any]]] = field(default_factory=dict)
    exclude: Tuple[ExcludeRule, ...] = ()

    def excluded_by(self, cell: Mapping[str, str]) -> Optional[ExcludeRule]:
        """The first rule removing ``cell``, or None when the cell runs."""
        return next((rule for rule in self.exclude if rule.matches(cell)), None)


@plainclass(frozen=True)
class GatesSpec:
    min_success_rate: Optional[float] = None
    critical_markers: Tuple[str, ...] = ("critical",)
    critical: bool = True
    max_failures: Optional[int] = None
    max_flaky: Optional[int] = None
    max_retried: Optional[int] = None
    max_quarantined: Optional[int] = None
    no_regression: bool = False
    regression_tolerance: float = 0.0

    @classmethod
    def from_overrides(cls, text: str, base: Optional[GatesSpec] = None) -> GatesSpec:
        """Apply ``key=value,key=value`` from the command line over ``base`` (or defaults).

        Values are read as YAML (``0.9``, ``true``, ``[a, b]``) and go through the
        same validators as the file's gates section.
        """
        start = base if base is not None else cls()
        overrides = _parse_overrides(text)
        if not overrides:
            return start
        try:
            validated = GATES.validate(overrides, "")
        except SchemaViolation as violation:
            raise violation.at(GATE_OVERRIDE_SOURCE) from None
        return replace(start, **{name: validated[name] for name in overrides})


def _split_outside_brackets(text: str) -> List[str]:
    parts: List[str] = []
    depth = 0
    current = ""
    for char in text:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(depth - 1, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _parse_overrides(text: str) -> Dict[str, Any]:
    import yaml  # only when overrides are given; keeps plain startup free of PyYAML

    overrides: Dict[str, Any] = {}
    for item in _split_outside_brackets(text):
        item = item.strip()
        if not item:
            continue
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise WorkflowError(
                GATE_OVERRIDE_SOURCE, "", f"expected key=value, got {item!r}"
            )
        try:
            overrides[name] = yaml.safe_load(raw)
        except yaml.YAMLError:
            # Not YAML at all: let the validator say what it expected instead.
            overrides[name] = raw.strip()
    return overrides


@plainclass(frozen=True)
class GithubReportsSpec:
    annotations: bool = True
    max_annotations: int = 10
    step_summary: bool = True


@plainclass(frozen=True)
class ReportsSpec:
    enabled: bool = True
    dir: str = ".orchestra"
    keep: int = 20
    history_runs: int = 500
    github: GithubReportsSpec = field(default_factory=GithubReportsSpec)
    otel: bool = True


@plainclass(frozen=True)
class Workflow:
    """The user's QA workflow; ``source`` is None for the empty workflow (no file)."""

    source: Optional[str] = None
    apps: Dict[str, AppSpec] = field(default_factory=dict)
    matrix: MatrixSpec = field(default_factory=MatrixSpec)
    #: None when the file has no gates section (no gate asked for).
    gates: Optional[GatesSpec] = None
    reports: ReportsSpec = field(default_factory=ReportsSpec)
    #: The document as read, before validation.
    raw: Dict[str, Any] = field(default_factory=dict)
    #: Validated values of sections registered by later capabilities.
    sections: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> Workflow:
        return cls()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<python>") -> Workflow:
        """Validate ``data`` and build the workflow; raises :class:`WorkflowError`."""
        try:
            validated = validate_document(data)
        except SchemaViolation as violation:
            raise violation.at(source) from None
        return cls(
            source=source,
            apps=_build_apps(validated.get("apps", {})),
            matrix=_build_matrix(validated.get("matrix")),
            gates=_build_record(GatesSpec, validated["gates"]) if "gates" in validated else None,
            reports=_build_reports(validated.get("reports")),
            raw=dict(data),
            sections={k: v for k, v in validated.items() if k not in BUILTIN_SECTIONS},
        )


def _build_record(kind: Type[_Record], values: Mapping[str, Any]) -> _Record:
    return kind(**{f.name: values[f.name] for f in fields(kind) if f.name in values})


def _build_apps(apps: Mapping[str, Mapping[str, Any]]) -> Dict[str, AppSpec]:
    return {name: AppSpec(name=name, **spec) for name, spec in apps.items()}


def _build_matrix(matrix: Optional[Mapping[str, Any]]) -> MatrixSpec:
    if matrix is None:
        return MatrixSpec()
    dimensions: Dict[str, Tuple[str, ...]] = {}
    attached: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for name, values in matrix["dimensions"].items():
        data = values if isinstance(values, dict) else {value: {} for value in values}
        dimensions[name] = tuple(data)
        attached[name] = data
    rules = []
    for index, rule in enumerate(matrix["exclude"]):
        chosen = {
            name: (value,) if isinstance(value, str) else tuple(value)
            for name, value in rule.items()
            if name != "reason"
        }
        rules.append(ExcludeRule(index=index, values=chosen, reason=rule.get("reason")))
    return MatrixSpec(dimensions=dimensions, attached=attached, exclude=tuple(rules))


def _build_reports(reports: Optional[Mapping[str, Any]]) -> ReportsSpec:
    if reports is None:
        return ReportsSpec()
    github = _build_record(GithubReportsSpec, reports["github"])
    return _build_record(ReportsSpec, {**reports, "github": github})
