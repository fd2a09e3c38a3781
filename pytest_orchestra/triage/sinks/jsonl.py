"""Append one JSON object per routed failure to a file (a local failure log).

Each line is the failure's ``to_dict()`` plus ``run_id`` and ``timestamp``,
redacted. One write per delivery, so concurrent runs appending to the same
file do not interleave half lines. Pure logic: no pytest import.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.triage.routing import RoutedFailure
from pytest_orchestra.triage.sinks.base import DeliveryResult, one_line, run_summary

if TYPE_CHECKING:
    from pytest_orchestra.triage.sinks.context import SinkContext
    from pytest_orchestra.triage.specs import SinkSpec


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class JsonlSink:
    def __init__(self, name: str, path: Path, redactor: Redactor, clock: Callable[[], str] = _now) -> None:
        self.name = name
        self.path = Path(path)
        self.redactor = redactor
        self.clock = clock

    def deliver(self, failures: Sequence[RoutedFailure], run: Any) -> DeliveryResult:
        if not failures:
            return DeliveryResult(self.name)
        run_id = run_summary(run).get("run_id")
        timestamp = self.clock()
        lines = []
        for failure in failures:
            data = {**failure.to_dict(), "run_id": run_id, "timestamp": timestamp}
            lines.append(json.dumps(self.redactor.redact_data(data), sort_keys=True))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as stream:
                stream.write("".join(line + "\n" for line in lines))
        except OSError as error:
            return DeliveryResult(self.name, error=one_line(error))
        return DeliveryResult(self.name, delivered=len(failures))


def build_jsonl_sink(spec: SinkSpec, context: SinkContext) -> JsonlSink:
    """The ``jsonl`` type's factory: appends to ``path`` (default ``<name>.jsonl``)."""
    return JsonlSink(spec.name, context.resolve(spec.path or f"{spec.name}.jsonl"), context.redactor)
