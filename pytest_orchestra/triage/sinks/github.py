"""GitHub Actions annotations for routed failures.

The run's reporter already prints an ``::error`` line for every failure; this
sink adds what a reviewer would otherwise miss: a ``::warning`` for failures
that are quarantined or flaky (they do not fail the run, so no error points at
them). ``deliver`` returns the lines; the caller prints them under GitHub
Actions. Pure logic: no pytest import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.triage.routing import RoutedFailure
from pytest_orchestra.triage.sinks.base import DeliveryResult

if TYPE_CHECKING:
    from pytest_orchestra.triage.sinks.context import SinkContext
    from pytest_orchestra.triage.specs import SinkSpec


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(failure: RoutedFailure) -> str | None:
    if failure.quarantined:
        title = f"quarantined {failure.category} failure"
    elif failure.flaky:
        title = f"flaky: passed after {failure.attempts} attempts" if failure.attempts > 1 else "flaky"
    else:
        return None
    file, line = failure.location or (failure.nodeid.split("::", 1)[0], 1)
    message = f"{failure.nodeid}: {failure.message or failure.reason}"
    return (
        f"::warning file={_property(str(file))},line={int(line)},title={_property(title)}::{_data(message)}"
    )


class GithubSink:
    def __init__(self, name: str, redactor: Redactor) -> None:
        self.name = name
        self.redactor = redactor

    def deliver(self, failures: Sequence[RoutedFailure], run: Any) -> DeliveryResult:
        lines = [self.redactor.redact(line) for line in map(annotation, failures) if line]
        return DeliveryResult(self.name, delivered=len(failures), lines=lines)


def build_github_sink(spec: SinkSpec, context: SinkContext) -> GithubSink:
    """The ``github`` type's factory."""
    return GithubSink(spec.name, context.redactor)
