"""The ``selection`` section of the workflow file. Pure: no pytest import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Tuple

from pytest_orchestra.workflow.schema import (
    Field,
    Int,
    ListOf,
    MapOf,
    Node,
    Record,
    Str,
)

#: Files whose change can affect any test in ways a map cannot see.
DEFAULT_RUN_ALL_IF_CHANGED: Tuple[str, ...] = (
    "conftest.py",
    "pyproject.toml",
    "setup.cfg",
    "setup.py",
    "tox.ini",
    "pytest.ini",
    "requirements*.txt",
    "requirements*.in",
    "constraints*.txt",
    "*.lock",
    "Pipfile",
    "orchestra.yaml",
    "orchestra.yml",
)

DEFAULT_MAP = ".orchestra/map.db"


@dataclass(frozen=True)
class SelectionSpec:
    map: str = DEFAULT_MAP
    always_run_paths: Tuple[str, ...] = ()
    always_run_markers: Tuple[str, ...] = ()
    #: Added to :data:`DEFAULT_RUN_ALL_IF_CHANGED` (the workflow file is added too).
    run_all_if_changed: Tuple[str, ...] = ()
    data_dependencies: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    max_tests: Optional[int] = None
    max_seconds: Optional[int] = None


def _globs(description: str) -> ListOf:
    return ListOf(Str(description, non_empty=True), description, expected="a list of globs")


def selection_section_node() -> Node:
    return Record(
        {
            "map": Field(Str("The coverage map, relative to the rootdir.", non_empty=True), default=DEFAULT_MAP),
            "always_run": Field(
                Record(
                    {
                        "paths": Field(_globs("Test files or node ids (globs) that always run."), default=[]),
                        "markers": Field(ListOf(Str("A marker name.", non_empty=True), "Markers whose tests "
                                                "always run.", expected="a list of marker names"), default=[]),
                    },
                    "Tests selected whatever changed.",
                ),
                default={},
            ),
            "run_all_if_changed": Field(
                _globs("Files (globs; a name without / matches at any depth) whose change runs every test, "
                       "in addition to conftest.py, pyproject.toml, setup.cfg, tox.ini, pytest.ini, "
                       "requirements*.txt, lock files and the workflow file."),
                default=[],
            ),
            "data_dependencies": Field(
                MapOf(Str("A glob of data files.", non_empty=True),
                      _globs("Test files or node ids (globs) that depend on the data."),
                      "Data files (globs) → the tests (globs) that depend on them, beyond those seen "
                      "opening them."),
                default={},
            ),
            "budget": Field(
                Record(
                    {
                        "max_tests": Field(Int(1, "Keep at most this many tests, highest priority first."),
                                           nullable=True),
                        "max_seconds": Field(Int(1, "Keep tests whose history durations fit in this many "
                                                 "seconds."), nullable=True),
                    },
                    "Cut the selection to a budget; a cut selection is labelled unsafe.",
                ),
                default={},
            ),
        },
        "Change-based selection (--orchestra-changed, --orchestra-record-map).",
    )


def selection_spec(section: Optional[Mapping[str, Any]]) -> SelectionSpec:
    if not section:
        return SelectionSpec()
    always = section.get("always_run") or {}
    budget = section.get("budget") or {}
    return SelectionSpec(
        map=section.get("map", DEFAULT_MAP),
        always_run_paths=tuple(always.get("paths", ())),
        always_run_markers=tuple(always.get("markers", ())),
        run_all_if_changed=tuple(section.get("run_all_if_changed", ())),
        data_dependencies=tuple((k, tuple(v)) for k, v in (section.get("data_dependencies") or {}).items()),
        max_tests=budget.get("max_tests"),
        max_seconds=budget.get("max_seconds"),
    )
