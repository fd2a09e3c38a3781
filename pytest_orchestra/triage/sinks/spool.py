"""An on-disk queue of payloads a remote sink could not deliver yet.

Payloads live under ``<base_dir>/spool/<sink>/<timestamp>-<n>.json``, already
redacted. Each delivery first re-sends what is spooled, oldest first, and
stops at the first payload that still fails, so order is kept and nothing is
lost while an endpoint is down: a later run drains the queue. Pure logic: no
pytest import.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from pytest_orchestra.core.files import write_text_atomically
from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.triage.routing import RoutedFailure
from pytest_orchestra.triage.sinks.base import DeliveryResult, one_line, run_summary


@dataclass
class Spool:
    directory: Path

    def put(self, payload: dict[str, Any]) -> Path:
        """Write ``payload`` atomically as the newest entry."""
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time_ns() % 1_000_000_000:09d}"
        count = len(self.pending())
        target = self.directory / f"{stamp}-{count:05d}.json"
        write_text_atomically(target, json.dumps(payload))
        return target

    def pending(self) -> list[Path]:
        """Spooled payloads, oldest first (names sort by time)."""
        if not self.directory.is_dir():
            return []
        return sorted(path for path in self.directory.glob("*.json") if not path.name.startswith("."))

    @staticmethod
    def read(path: Path) -> dict[str, Any] | None:
        """The payload, or None for a file that is not one (it is set aside, not retried forever)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            path.rename(path.with_suffix(".corrupt"))
            return None
        return data if isinstance(data, dict) else None

    def failures_waiting(self) -> int:
        total = 0
        for path in self.pending():
            try:
                total += len(json.loads(path.read_text(encoding="utf-8")).get("failures") or [])
            except (OSError, ValueError, AttributeError):
                continue
        return total


class SpoolingSink:
    """A remote sink: sends ``{run, failures}`` payloads, spooling what fails.

    Subclasses implement ``send(payload)``, raising on failure.
    """

    def __init__(self, name: str, spool: Spool, redactor: Redactor) -> None:
        self.name = name
        self.spool = spool
        self.redactor = redactor

    def send(self, payload: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def payload(self, failures: Sequence[RoutedFailure], run: Any) -> dict[str, Any]:
        data = {"run": run_summary(run), "failures": [failure.to_dict() for failure in failures]}
        redacted: dict[str, Any] = self.redactor.redact_data(data)  # the same shape, secrets masked
        return redacted

    def deliver(self, failures: Sequence[RoutedFailure], run: Any) -> DeliveryResult:
        result = DeliveryResult(self.name)
        try:
            error = self._drain(result)
            if failures:
                payload = self.payload(failures, run)
                if error is None:
                    error = self._try(payload, result)
                    if error is not None:
                        self.spool.put(payload)
                else:
                    # The endpoint is still down: queue behind older payloads, keeping order.
                    self.spool.put(payload)
            result.error = error
        except Exception as unexpected:  # a sink must never break the run
            result.error = self.redactor.redact(one_line(unexpected))
        result.spooled = self.spool.failures_waiting()
        return result

    def _drain(self, result: DeliveryResult) -> str | None:
        for path in self.spool.pending():
            payload = self.spool.read(path)
            if payload is None:
                continue
            error = self._try(payload, result)
            if error is not None:
                return error
            path.unlink(missing_ok=True)
        return None

    def _try(self, payload: dict[str, Any], result: DeliveryResult) -> str | None:
        try:
            self.send(payload)
        except Exception as error:
            return self.redactor.redact(one_line(error))
        result.delivered += len(payload.get("failures") or [])
        return None


def spool_for(base_dir: Path, sink_name: str) -> Spool:
    return Spool(Path(base_dir) / "spool" / sink_name)
