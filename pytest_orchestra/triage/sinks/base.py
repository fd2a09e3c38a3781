"""What every sink shares: the result of a delivery, the run summary, HTTP with retries.

A sink's ``deliver`` never raises: whatever goes wrong becomes a one-line
``DeliveryResult.error`` (and, for remote sinks, a payload on the spool), so a
broken endpoint can never fail or hang a test run beyond its budget. Pure
logic: no pytest import.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any, Callable, Mapping, Protocol, Sequence

from pytest_orchestra.triage.routing import RoutedFailure

#: Fields of a run that sinks pass on (no args or host: they can hold secrets and add nothing).
RUN_FIELDS = ("run_id", "started", "commit", "branch", "trigger")

#: HTTP statuses worth trying again: the server may recover within the budget.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass
class DeliveryResult:
    sink: str
    #: Failures that reached the sink in this call (spooled ones sent now included).
    delivered: int = 0
    #: Failures waiting on the spool after this call.
    spooled: int = 0
    error: str | None = None
    #: Lines the sink would print (the ``github`` sink's annotations).
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


class Sink(Protocol):
    name: str

    def deliver(self, failures: Sequence[RoutedFailure], run: Any) -> DeliveryResult:
        """Hand ``failures`` of ``run`` (a RunRecord or a mapping) to the sink; never raises."""
        ...


def run_summary(run: Any) -> dict[str, Any]:
    """The run fields sinks share, from a ``RunRecord``, a mapping or None."""
    if run is None:
        return {}
    data = asdict(run) if is_dataclass(run) and not isinstance(run, type) else dict(run)
    return {key: data.get(key) for key in RUN_FIELDS if key in data}


def one_line(error: BaseException | str) -> str:
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return " ".join(str(text).split())[:300]


class DeliveryError(Exception):
    """A request failed for good (after retries, or not worth retrying)."""


@dataclass
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


@dataclass
class HttpClient:
    """Small JSON-over-HTTP client: per-request timeout, retries with backoff in a total budget.

    The budget is ``timeout * max(1, retries)`` seconds for all attempts of one
    request together, so a dead endpoint costs a bounded time per run.
    """

    timeout: float = 5.0
    retries: int = 3
    headers: Mapping[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    backoff: float = 0.25

    def request(self, method: str, url: str, body: Any = None) -> HttpResponse:
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"User-Agent": "pytest-orchestra", **self.headers}
        if data is not None:
            headers["Content-Type"] = "application/json"
        budget = self.timeout * max(1, self.retries)
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            remaining = budget - (self.clock() - started)
            try:
                return self._once(method, url, data, headers, max(0.1, min(self.timeout, remaining)))
            except _Retryable as error:
                delay = self.backoff * 2 ** (attempt - 1)
                spent = self.clock() - started
                if attempt > self.retries or spent + delay >= budget:
                    raise DeliveryError(f"{method} {url}: {error} (after {attempt} attempts)") from None
                self.sleep(delay)

    def _once(self, method: str, url: str, data: bytes | None, headers: dict[str, str], timeout: float) -> HttpResponse:
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - URL from the workflow
                return HttpResponse(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            status = error.code
            error.close()
            if status in RETRYABLE_STATUSES:
                raise _Retryable(f"HTTP {status}") from None
            raise DeliveryError(f"{method} {url}: HTTP {status}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise _Retryable(one_line(reason if isinstance(reason, BaseException) else str(reason))) from None


class _Retryable(Exception):
    pass
