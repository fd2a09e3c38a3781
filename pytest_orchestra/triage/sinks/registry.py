"""Sink types by name: the keys each needs in the workflow and the factory that builds it.

A factory takes a sink's :class:`~pytest_orchestra.triage.specs.SinkSpec` and
the :class:`~pytest_orchestra.triage.sinks.context.SinkContext` the sinks of a
run share, and returns the sink. Built-in factories are named as
``"module:function"`` and imported only when a sink of their type is built, so
the workflow schema reads this table (the valid ``type`` values, in order, and
the keys each needs) without loading any sink or the HTTP machinery. Pure
logic: no pytest import.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Callable, Iterable, Union

from pytest_orchestra.core.plainclass import plainclass

if TYPE_CHECKING:
    from pytest_orchestra.triage.sinks.base import Sink
    from pytest_orchestra.triage.sinks.context import SinkContext
    from pytest_orchestra.triage.specs import SinkSpec

#: Builds a sink from its spec and the context shared by the run's sinks.
SinkFactory = Callable[["SinkSpec", "SinkContext"], "Sink"]


@plainclass(frozen=True)
class SinkType:
    name: str
    #: The factory, or ``"module:function"`` naming it (imported when first used).
    factory: Union[str, SinkFactory]
    #: Keys a sink of this type cannot do without.
    required: tuple[str, ...] = ()

    def load(self) -> SinkFactory:
        if not isinstance(self.factory, str):
            return self.factory
        module, _, function = self.factory.partition(":")
        factory: SinkFactory = getattr(import_module(module), function)
        return factory


#: Every sink type by name, in registration order (the order the schema lists them in).
SINK_TYPES: dict[str, SinkType] = {}


def register_sink_type(name: str, factory: Union[str, SinkFactory], *, required: Iterable[str] = ()) -> None:
    """Make ``type: <name>`` a sink; registering a name again replaces its type."""
    SINK_TYPES[name] = SinkType(name, factory, tuple(required))


def sink_type(name: str) -> SinkType | None:
    return SINK_TYPES.get(name)


def sink_type_names() -> tuple[str, ...]:
    return tuple(SINK_TYPES)


# --- the built-in types ------------------------------------------------------------------

register_sink_type("jsonl", "pytest_orchestra.triage.sinks.jsonl:build_jsonl_sink", required=("path",))
# A markdown sink's section goes into report.md; a path only adds a copy.
register_sink_type("markdown", "pytest_orchestra.triage.sinks.markdown:build_markdown_sink")
register_sink_type("github", "pytest_orchestra.triage.sinks.github:build_github_sink")
register_sink_type("webhook", "pytest_orchestra.triage.sinks.webhook:build_webhook_sink", required=("url",))
register_sink_type(
    "github-issues",
    "pytest_orchestra.triage.sinks.github_issues:build_github_issues_sink",
    required=("repository", "token_env"),
)
