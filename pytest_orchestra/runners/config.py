"""The ``runners`` section of the workflow file: suites run by other tools.

A schema node built with the workflow DSL and :class:`RunnerSpec`, the frozen
spec the rest of the package reads, plus the ``{placeholder}`` rules shared by
validation and execution. Pure logic: no pytest import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple

from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.workflow.schema import (
    ByShape,
    Field,
    ListOf,
    MapOf,
    Node,
    Number,
    Record,
    Scalar,
    SchemaViolation,
    Str,
    index_path,
    key_path,
)

#: Report formats a runner can write, and the extension its report file gets.
FORMATS: Dict[str, str] = {"junit": "xml", "trx": "trx", "tap": "tap", "go-json": "json"}

#: Placeholders every command knows; a runner's matrix dimensions add theirs.
COMMAND_PLACEHOLDERS: Tuple[str, ...] = ("report", "python", "cwd", "rootdir", "runner")
#: The listing command runs once, outside any cell and before any report exists.
LIST_PLACEHOLDERS: Tuple[str, ...] = ("python", "cwd", "rootdir", "runner")

RUNNER_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")

#: A week: longer is a typo, not a test suite.
MAX_TIMEOUT = 7 * 24 * 3600.0


class PlaceholderError(OrchestraError, ValueError):
    """A ``{name}`` the command cannot fill; the message names it and the known ones."""


def placeholders(text: str) -> Tuple[str, ...]:
    """The ``{names}`` in ``text`` (``{{`` and ``}}`` are literal braces)."""
    return tuple(match.group(1) for match in PLACEHOLDER.finditer(text) if match.group(1) is not None)


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``{name}`` replaced by ``values[name]``; ``{{``/``}}`` become braces."""

    def replace(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        if name not in values:
            raise PlaceholderError(f"unknown placeholder {{{name}}} (known: {_known(values)})")
        return values[name]

    return PLACEHOLDER.sub(replace, text)


def _known(names: Iterable[str]) -> str:
    return ", ".join("{" + name + "}" for name in names)


@dataclass(frozen=True)
class RunnerSpec:
    """One declared foreign suite (``runners.<name>``)."""

    name: str
    command: Tuple[str, ...]
    format: str
    cwd: str = "."
    app: Optional[str] = None
    #: A command printing the suite's test names, one a line (items before the first run).
    list: Optional[Tuple[str, ...]] = None
    #: Where the tool writes its report when ``{report}`` cannot tell it (globs, under ``cwd``).
    report: Optional[str] = None
    #: Extra environment variables for the command (values take placeholders).
    env: Mapping[str, str] = field(default_factory=dict)
    #: Names of workflow environments provisioned for the suite (their variables are injected).
    environments: Tuple[str, ...] = ()
    #: Markers put on every item of the suite (``critical``, ``security``...).
    markers: Tuple[str, ...] = ()
    #: Matrix dimensions: names (values from the workflow) or explicit values.
    matrix: Mapping[str, Optional[Tuple[str, ...]]] = field(default_factory=dict)
    timeout: Optional[float] = None

    @property
    def where(self) -> str:
        return f"runners.{self.name}"

    @property
    def report_extension(self) -> str:
        return FORMATS[self.format]

    @property
    def writes_report_file(self) -> bool:
        """False when the report is what the command prints on stdout."""
        return self.report is not None or any("report" in placeholders(arg) for arg in self.command)


def _command(description: str) -> Node:
    return ListOf(
        Str(non_empty=True),
        description,
        expected="a non-empty list of strings (the program and its arguments)",
        min_items=1,
    )


MATRIX_EXPECTED = "a list of matrix dimension names or a mapping of dimension -> values"

RUNNER = Record(
    {
        "command": Field(_command(
            "The command running the suite; placeholders: {report} (the report file to write),"
            " {python}, {cwd}, {rootdir}, {runner} and the runner's matrix dimensions ({role}).")),
        "format": Field(Str(
            "The report format: JUnit XML, TRX, TAP or go test -json.",
            pattern="|".join(re.escape(name) for name in FORMATS),
            expected=" or ".join(repr(name) for name in FORMATS),
        )),
        "cwd": Field(Str("The folder the command runs in, relative to the rootdir.", non_empty=True), default="."),
        "app": Field(Str("The app the suite's tests belong to.", pattern=r"[A-Za-z0-9_.-]+",
                         expected="an app name"), nullable=True),
        "list": Field(_command("A command printing the suite's test names, one a line (dotnet test"
                               " --list-tests, pytest --collect-only -q...)."), nullable=True),
        "report": Field(Str("Where the tool writes its report when {report} cannot tell it: a path"
                            " or glob under cwd (files older than the run are ignored).", non_empty=True),
                        nullable=True),
        "env": Field(MapOf(Str(pattern=IDENTIFIER, expected="an environment variable name"),
                           Scalar("A value; placeholders as in command."),
                           "Extra environment variables for the command."), default={}),
        "environments": Field(ListOf(Str(pattern=IDENTIFIER, expected="an environment name"),
                                     "Workflow environments provisioned for the suite; their connection"
                                     " variables reach the command.", unique=True), default=()),
        "markers": Field(ListOf(Str(pattern=IDENTIFIER, expected="a marker name"),
                                "Markers on every test of the suite (critical, security...).", unique=True),
                         default=()),
        "matrix": Field(ByShape(
            MATRIX_EXPECTED,
            "Run the suite once per cell: dimension names (values from matrix.dimensions) or explicit"
            " values. Each cell's values reach the command as {dimension} and ORCHESTRA_<DIMENSION>.",
            list_form=ListOf(Str(pattern=IDENTIFIER, expected="a dimension name"), expected=MATRIX_EXPECTED,
                             min_items=1, unique=True),
            mapping_form=MapOf(Str(pattern=IDENTIFIER, expected="a dimension name"),
                               ListOf(Scalar(), expected="a non-empty list of values", min_items=1, unique=True),
                               expected=MATRIX_EXPECTED, min_items=1),
        )),
        "timeout": Field(Number(0, MAX_TIMEOUT, "Seconds the suite may run before it is stopped."), nullable=True),
    },
    "A suite run by another tool; each of its test cases becomes a pytest item.",
)


def _check_runner(runner: Dict[str, Any], path: str) -> None:
    for required in ("command", "format"):
        if required not in runner:
            raise SchemaViolation(key_path(path, required), "missing (a runner needs command and format)")
    dims = _matrix_dims(runner.get("matrix"))
    command_names = COMMAND_PLACEHOLDERS + tuple(dims)
    for index, arg in enumerate(runner["command"]):
        _check_placeholders(arg, command_names, index_path(key_path(path, "command"), index))
    for index, arg in enumerate(runner.get("list") or ()):
        _check_placeholders(arg, LIST_PLACEHOLDERS, index_path(key_path(path, "list"), index))
    for name, value in runner.get("env", {}).items():
        _check_placeholders(value, command_names, key_path(key_path(path, "env"), name))
    timeout = runner.get("timeout")
    if timeout is not None and timeout <= 0:
        raise SchemaViolation(key_path(path, "timeout"), f"expected a number of seconds > 0, got {timeout:g}")
    if runner.get("report") and any("report" in placeholders(arg) for arg in runner["command"]):
        raise SchemaViolation(key_path(path, "report"), "give either {report} in command or report, not both")


def _check_placeholders(text: str, known: Sequence[str], path: str) -> None:
    for name in placeholders(text):
        if name not in known:
            raise SchemaViolation(path, f"unknown placeholder {{{name}}} (known: {_known(known)})")


def _matrix_dims(matrix: Any) -> Tuple[str, ...]:
    return tuple(matrix) if matrix else ()


RUNNERS = MapOf(
    Str(pattern=RUNNER_NAME, expected="a runner name (letters, digits, '_', '.', '-')"),
    Record(RUNNER.fields, RUNNER.description, check=_check_runner, json_extra={"required": ["command", "format"]}),
    "Suites run by other tools (node --test, dotnet test, prove, go test...), by name.",
)


def runners_section_node() -> Node:
    return RUNNERS


def runner_specs(section: Optional[Mapping[str, Any]]) -> Dict[str, RunnerSpec]:
    """The validated section as specs, in declaration order."""
    specs: Dict[str, RunnerSpec] = {}
    for name, raw in (section or {}).items():
        matrix = raw.get("matrix")
        if isinstance(matrix, Mapping):
            dims: Dict[str, Optional[Tuple[str, ...]]] = {k: tuple(v) for k, v in matrix.items()}
        else:
            dims = {dim: None for dim in matrix or ()}
        specs[name] = RunnerSpec(
            name=name,
            command=tuple(raw["command"]),
            format=raw["format"],
            cwd=raw.get("cwd", "."),
            app=raw.get("app"),
            list=tuple(raw["list"]) if raw.get("list") else None,
            report=raw.get("report"),
            env=dict(raw.get("env", {})),
            environments=tuple(raw.get("environments", ())),
            markers=tuple(raw.get("markers", ())),
            matrix=dims,
            timeout=raw.get("timeout"),
        )
    return specs
