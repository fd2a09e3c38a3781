"""The ``ordering`` and ``sharding`` sections of the workflow file.

Schema nodes built with the workflow DSL plus the frozen specs the rest of the
capability reads. Pure logic: no pytest import.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from pytest_orchestra.core.plainclass import plainclass
from pytest_orchestra.workflow.schema import Field, Int, Node, Record, Str

#: Markers that order tests; ``requires`` also makes the outcome a dependency.
ORDERING_MARKERS = ("after", "requires")
ON_DEPENDENCY_FAILURE = ("skip", "run")
DESELECTED_DEPENDENCY = ("include", "skip")


def _choice(choices: tuple[str, ...], description: str) -> Str:
    return Str(description, pattern="|".join(choices), expected=" or ".join(repr(c) for c in choices))


@plainclass(frozen=True)
class OrderingSpec:
    """What happens to a test whose dependency failed, or was deselected."""

    on_dependency_failure: str = "skip"
    deselected_dependency: str = "include"


@plainclass(frozen=True)
class ShardingSpec:
    """Where shard planning reads test durations."""

    #: A JSON file of ``{nodeid: seconds}`` (pytest-split's ``.test_durations`` reads as is).
    durations_file: Optional[str] = None
    #: Complete runs of history.db whose median durations are used.
    history_runs: int = 20


def ordering_section_node() -> Node:
    return Record(
        {
            "on_dependency_failure": Field(
                _choice(
                    ON_DEPENDENCY_FAILURE,
                    "When a required test or app failed: skip its dependents (category dependency)"
                    " or run them anyway.",
                ),
                default="skip",
            ),
            "deselected_dependency": Field(
                _choice(
                    DESELECTED_DEPENDENCY,
                    "When -k, -m or selection deselects a required test: pull it back in (include)"
                    " or skip its dependents (skip).",
                ),
                default="include",
            ),
        },
        "Cross-app ordering and dependency outcomes (markers after, requires; apps.*.depends_on).",
    )


def sharding_section_node() -> Node:
    return Record(
        {
            "durations_file": Field(
                Str("JSON {nodeid: seconds}, relative to the rootdir (e.g. pytest-split's .test_durations).",
                    non_empty=True),
                nullable=True,
            ),
            "history_runs": Field(Int(1, "Complete runs of history whose median durations plan shards."),
                                  default=20),
        },
        "Splitting the suite across CI machines with --orchestra-shard=K/N.",
    )


def ordering_spec(section: Optional[Mapping[str, Any]]) -> OrderingSpec:
    return OrderingSpec(**section) if section else OrderingSpec()


def sharding_spec(section: Optional[Mapping[str, Any]]) -> ShardingSpec:
    return ShardingSpec(**section) if section else ShardingSpec()
