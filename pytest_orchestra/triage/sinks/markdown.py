"""Collect routed failures into a Markdown section for the run's report.

The lead's report writer asks the sink for ``markdown_section()`` and puts it
into report.md; when the sink has a ``path``, the section is also written
there (replaced on each delivery), for CI jobs that post it elsewhere. Pure
logic: no pytest import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.triage.routing import RoutedFailure
from pytest_orchestra.triage.sinks.base import DeliveryResult, one_line

if TYPE_CHECKING:
    from pytest_orchestra.triage.sinks.context import SinkContext
    from pytest_orchestra.triage.specs import SinkSpec

#: Failures listed per sink; the rest are counted, so a meltdown keeps the report readable.
LISTED = 50


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|").replace("`", "'")


def markdown_section(sink: str, failures: Sequence[RoutedFailure]) -> str:
    """``### Routed to <sink>`` and one bullet per failure (empty when none)."""
    if not failures:
        return ""
    lines = [f"### Routed to {sink}", ""]
    for failure in failures[:LISTED]:
        tags = [failure.category]
        if failure.flaky:
            tags.append("flaky")
        if failure.quarantined:
            tags.append("quarantined")
        owners = f" — {', '.join(failure.owners)}" if failure.owners else ""
        reason = f": {_cell(failure.message)[:200]}" if failure.message else ""
        lines.append(f"- `{failure.nodeid}` ({', '.join(tags)}){owners}{reason}")
    if len(failures) > LISTED:
        lines.append(f"- ... and {len(failures) - LISTED} more")
    return "\n".join(lines) + "\n"


class MarkdownSink:
    def __init__(self, name: str, redactor: Redactor, path: Path | None = None) -> None:
        self.name = name
        self.redactor = redactor
        self.path = path
        self.failures: list[RoutedFailure] = []

    def markdown_section(self) -> str:
        return self.redactor.redact(markdown_section(self.name, self.failures))

    def deliver(self, failures: Sequence[RoutedFailure], run: Any) -> DeliveryResult:
        self.failures.extend(failures)
        if self.path is not None and failures:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.path.write_text(self.markdown_section(), encoding="utf-8")
            except OSError as error:
                return DeliveryResult(self.name, delivered=len(failures), error=one_line(error))
        return DeliveryResult(self.name, delivered=len(failures))


def build_markdown_sink(spec: SinkSpec, context: SinkContext) -> MarkdownSink:
    """The ``markdown`` type's factory: a section of report.md, copied to ``path`` when given."""
    return MarkdownSink(spec.name, context.redactor, context.resolve(spec.path) if spec.path else None)
