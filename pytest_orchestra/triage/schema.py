"""The workflow schema of triage's sections: ``triage``, ``retries`` and ``quarantine``.

Each section is a schema node built with the workflow DSL, so the JSON Schema
stays in step with validation. The capability table names the three
``*_section_node`` functions; the workflow builds a node only when a document
has its section (and a plan's ``retries`` reuses the retries node). The sink
types and the keys each needs come from the sink registry. What a validated
section turns into is ``specs``. Pure logic: no pytest import.
"""

from __future__ import annotations

import re
from typing import Any

from pytest_orchestra.core.categories import CATEGORIES
from pytest_orchestra.triage.sinks.registry import sink_type, sink_type_names
from pytest_orchestra.triage.specs import DEFAULT_LABELS_FILE
from pytest_orchestra.workflow.schema import (
    Bool,
    ByShape,
    Field,
    Int,
    ListOf,
    MapOf,
    Node,
    Number,
    Record,
    SchemaViolation,
    Str,
    expected_error,
    index_path,
    key_path,
)

PHASES: tuple[str, ...] = ("collect", "setup", "call", "teardown", "crash")

NAME_PATTERN = r"[A-Za-z0-9_.-]+"
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"


def _choice(values: tuple[str, ...], description: str = "") -> Str:
    alternatives = "|".join(re.escape(value) for value in values)
    return Str(description, pattern=f"(?:{alternatives})", expected=f"one of {', '.join(values)}")


class Regex(Str):
    """A string that must compile as a Python regular expression."""

    def __init__(self, description: str = "") -> None:
        super().__init__(description, non_empty=True, expected="a regular expression")

    def validate(self, value: Any, path: str) -> str:
        text = super().validate(value, path)
        try:
            re.compile(text)
        except re.error as error:
            raise SchemaViolation(path, f"invalid regular expression: {error}") from None
        return text


def _one_or_many(item: Node, expected: str, description: str = "") -> ByShape:
    """A single value or a list of them; both read as a tuple."""
    return ByShape(
        expected,
        description,
        list_form=ListOf(item, expected=expected),
        scalar_form=_Single(item),
    )


class _Single(Node):
    """A scalar read as a one-item tuple, so ``exception: KeyError`` equals ``[KeyError]``."""

    def __init__(self, item: Node) -> None:
        self.item = item
        self.expected = item.expected

    def validate(self, value: Any, path: str) -> tuple[Any, ...]:
        return (self.item.validate(value, path),)

    def json_schema(self) -> dict[str, Any]:
        return self.item.json_schema()


def _require(keys: tuple[str, ...], why: str = "") -> Any:
    def check(value: dict[str, Any], path: str) -> None:
        for key in keys:
            if value.get(key) is None:
                suffix = f" ({why})" if why else ""
                raise SchemaViolation(path, f"missing required key '{key}'{suffix}")

    return check


CATEGORY = _choice(CATEGORIES)

USER_RULE = Record(
    {
        "name": Field(Str("Shown in reports as user:<name>.", pattern=NAME_PATTERN,
                          expected="a rule name (letters, digits, '_', '.', '-')")),
        "category": Field(_choice(CATEGORIES, "The category given to failures the rule matches.")),
        "exception": Field(
            _one_or_many(Str(non_empty=True), "an exception name or a list of them",
                         "Exception class names; subclasses match (the MRO is checked)."),
            default=(),
        ),
        "message": Field(Regex("Searched in the exception message."), nullable=True),
        "traceback": Field(Regex("Searched in the full failure text."), nullable=True),
        "paths": Field(
            _one_or_many(Str(), "a glob or a list of globs",
                         "Globs matched against the test file and the traceback's files."),
            default=(),
        ),
        "markers": Field(
            _one_or_many(Str(pattern=IDENTIFIER, expected="a marker name"),
                         "a marker name or a list of them", "Markers the test must carry."),
            default=(),
        ),
        "phase": Field(_one_or_many(_choice(PHASES), "a phase or a list of phases",
                                    "Phases the failure must happen in."), default=()),
        "confidence": Field(Number(0, 1, "How sure the rule is."), default=0.95),
    },
    "A user rule, tried before the built-in ones.",
    check=_require(("name", "category")),
)


def _check_sink(sink: dict[str, Any], path: str) -> None:
    _require(("type",))(sink, path)
    kind = sink["type"]
    registered = sink_type(kind)
    required = registered.required if registered is not None else ()
    _require(required, f"a {kind} sink needs it")(sink, path)


def sink_node() -> Record:
    """A sink of ``triage.sinks``: its ``type`` is one of the registered sink types."""
    return Record(
        {
            "type": Field(_choice(sink_type_names(), "What the sink does with the failures.")),
            "path": Field(Str("File written, relative to the rootdir.", non_empty=True), nullable=True),
            "url": Field(Str("Endpoint posted to.", non_empty=True), nullable=True),
            "token_env": Field(Str("Environment variable holding the token.", pattern=IDENTIFIER,
                                   expected="an environment variable name"), nullable=True),
            "repository": Field(Str("owner/name", pattern=r"[^/\s]+/[^/\s]+",
                                    expected="a repository as owner/name"), nullable=True),
            "headers": Field(MapOf(Str(non_empty=True), Str(), "Extra HTTP headers."), default={}),
            "timeout": Field(Number(0, 600, "Seconds per request."), default=5.0),
            "retries": Field(Int(0, "Attempts after the first failed delivery."), default=3),
            "labels": Field(ListOf(Str(non_empty=True), "Labels of created GitHub issues.",
                                   expected="a list of labels"), default=()),
        },
        "Where triaged failures are sent.",
        check=_check_sink,
    )


ROUTE = Record(
    {
        "sinks": Field(ListOf(Str(pattern=NAME_PATTERN, expected="a sink name"),
                              "Names of sinks declared under triage.sinks.",
                              expected="a non-empty list of sink names", min_items=1)),
        "categories": Field(_one_or_many(CATEGORY, "a category or a list of categories",
                                         "Categories routed (any when empty)."), default=()),
        "paths": Field(_one_or_many(Str(), "a glob or a list of globs",
                                    "Globs on the test file path."), default=()),
        "apps": Field(_one_or_many(Str(non_empty=True), "an app name or a list of them",
                                   "Apps of the failing test."), default=()),
        "markers": Field(_one_or_many(Str(pattern=IDENTIFIER, expected="a marker name"),
                                      "a marker name or a list of them",
                                      "Markers the failing test carries."), default=()),
        "owners": Field(_one_or_many(Str(non_empty=True), "an owner or a list of owners",
                                     "CODEOWNERS owners of the test file."), default=()),
    },
    "Send failures matching every given filter to the named sinks.",
    check=_require(("sinks",)),
)


def _check_triage_references(triage: dict[str, Any], path: str) -> None:
    """Routes may only name sinks declared under ``triage.sinks``."""
    declared = triage.get("sinks", {})
    for index, route in enumerate(triage.get("routes", ())):
        sinks_path = key_path(index_path(key_path(path, "routes"), index), "sinks")
        for position, name in enumerate(route["sinks"]):
            if name not in declared:
                names = ", ".join(sorted(declared)) or "none"
                raise SchemaViolation(
                    index_path(sinks_path, position), f"unknown sink {name!r} (declared: {names})"
                )


def triage_section_node() -> Node:
    return Record(
        {
            "threshold": Field(
                Number(0, 1, "Decisions less confident than this are reported as unknown."),
                default=0.6,
            ),
            "model": Field(Str("Learned model file (JSON), relative to the rootdir.",
                               non_empty=True), nullable=True),
            "labels": Field(Str("Reviewed labels file (YAML), relative to the rootdir: a person's category "
                                "for a failure fingerprint, which wins for every later failure with it.",
                                non_empty=True), default=DEFAULT_LABELS_FILE),
            "rules": Field(ListOf(USER_RULE, "User rules, tried in order before the built-in ones.",
                                  expected="a list of rules"), default=()),
            "sinks": Field(MapOf(Str(pattern=NAME_PATTERN,
                                     expected="a sink name (letters, digits, '_', '.', '-')"),
                                 sink_node(), "Sinks by name."), default={}),
            "routes": Field(ListOf(ROUTE, "Which failures go to which sinks.",
                                   expected="a list of routes"), default=()),
            "incident_min_tests": Field(
                Int(1, "Tests sharing one fingerprint that make an incident."), default=5
            ),
        },
        "Failure classification, clustering and routing.",
        check=_check_triage_references,
    )


class _AllCategories(Node):
    expected = "'all' or a list of categories"

    def validate(self, value: Any, path: str) -> tuple[str, ...]:
        if value != "all":
            raise expected_error(path, self.expected, value)
        return ("all",)

    def json_schema(self) -> dict[str, Any]:
        return {"const": "all"}


def retries_section_node() -> Node:
    return Record(
        {
            "max": Field(Int(0, "Extra attempts for a failed test."), default=0),
            "categories": Field(
                ByShape(
                    "'all' or a list of categories",
                    "Categories worth a retry; 'all' retries every failure.",
                    list_form=ListOf(CATEGORY, expected="'all' or a list of categories"),
                    scalar_form=_AllCategories(),
                ),
                default=("infrastructure", "timeout"),
            ),
        },
        "Rerun failed tests whose category is worth another attempt.",
    )


def quarantine_section_node() -> Node:
    return Record(
        {
            "file": Field(Str("Quarantine list, relative to the rootdir.", non_empty=True),
                          default=".orchestra/quarantine.yaml"),
            "auto": Field(Bool("Quarantine tests whose history flips too often."), default=False),
            "flip_rate": Field(Number(0, 1, "Share of pass/fail flips that makes a test flaky."),
                               default=0.3),
            "min_runs": Field(Int(1, "Runs of history needed before judging flakiness."),
                              default=5),
            "expires_days": Field(Int(1, "Days an automatic quarantine entry lasts."), default=14),
        },
        "Tests whose failures fail neither the run nor the gate.",
    )
