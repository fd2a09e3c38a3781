"""The webhook sink against a real HTTP server on 127.0.0.1: token, retries, spool fill and drain."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from pytest_orchestra.core.records import RunRecord
from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.triage.routing import RoutedFailure
from pytest_orchestra.triage.sinks import build_sinks
from pytest_orchestra.triage.sinks.base import HttpClient
from pytest_orchestra.triage.sinks.spool import Spool
from pytest_orchestra.triage.sinks.webhook import WebhookSink
from pytest_orchestra.triage.specs import SinkSpec

TOKEN = "hook-token-5f2a9c"


class Hook:
    """A webhook endpoint: answers the queued statuses first, then 200; records requests."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.requests: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = hook.statuses.pop(0) if hook.statuses else 200
                hook.requests.append(
                    {"status": status, "auth": self.headers.get("Authorization"),
                     "extra": self.headers.get("X-Team"), "body": json.loads(body)}
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook()
    yield server
    server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def failure(nodeid: str, message: str = "connection refused") -> RoutedFailure:
    return RoutedFailure(nodeid, "infrastructure", 0.9, "conn-refused", "socket refused", "fp1", "c1", "call",
                         message=message)


RUN = RunRecord(run_id="run-1", started=1.0, commit="abc", branch="main", args=f"--token {TOKEN}")


def sink(tmp_path: Path, url: str, **client: Any) -> WebhookSink:
    return WebhookSink(
        "team-hook", url, spool=Spool(tmp_path / "spool" / "team-hook"), redactor=Redactor(),
        token=TOKEN, token_env="TEAM_HOOK_TOKEN", headers={"X-Team": "qa"},
        client=HttpClient(timeout=1.0, retries=2, sleep=lambda s: None, **client),
    )


def test_posts_run_and_failures_with_the_bearer_token(tmp_path: Path, hook: Hook) -> None:
    result = sink(tmp_path, hook.url).deliver([failure("t::a"), failure("t::b")], RUN)
    assert (result.delivered, result.spooled, result.error) == (2, 0, None)
    (request,) = hook.requests
    assert request["auth"] == f"Bearer {TOKEN}" and request["extra"] == "qa"
    assert request["body"]["run"] == {"run_id": "run-1", "started": 1.0, "commit": "abc", "branch": "main",
                                      "trigger": "local"}
    assert [f["nodeid"] for f in request["body"]["failures"]] == ["t::a", "t::b"]
    assert TOKEN not in json.dumps(request["body"])


def test_retries_a_503_then_delivers(tmp_path: Path, hook: Hook) -> None:
    hook.statuses = [503, 503]
    result = sink(tmp_path, hook.url).deliver([failure("t::a")], RUN)
    assert result.error is None and result.delivered == 1
    assert [r["status"] for r in hook.requests] == [503, 503, 200]


def test_spool_fills_while_down_and_drains_oldest_first(tmp_path: Path, hook: Hook) -> None:
    down = f"http://127.0.0.1:{closed_port()}/hook"
    leaky = failure("t::leak", message=f"auth failed with {TOKEN}")
    first = sink(tmp_path, down).deliver([leaky], RUN)
    assert first.delivered == 0 and first.spooled == 1
    assert first.error and "attempts" in first.error and "\n" not in first.error
    second = sink(tmp_path, down).deliver([failure("t::b"), failure("t::c")], RUN)
    assert second.spooled == 3
    files = sorted((tmp_path / "spool" / "team-hook").glob("*.json"))
    assert len(files) == 2
    for path in files:
        assert TOKEN not in path.read_text()
        assert json.loads(path.read_text())["run"]["run_id"] == "run-1"

    # The endpoint answers 503 for longer than the retry budget: everything stays spooled, in order.
    hook.statuses = [503] * 3
    third = sink(tmp_path, hook.url).deliver([failure("t::d")], RUN)
    assert third.delivered == 0 and third.spooled == 4 and "HTTP 503" in (third.error or "")

    # Up again: a later run delivers the backlog, oldest first, then its own failures.
    fourth = sink(tmp_path, hook.url).deliver([failure("t::e")], RUN)
    assert (fourth.delivered, fourth.spooled, fourth.error) == (5, 0, None)
    delivered = [[f["nodeid"] for f in r["body"]["failures"]] for r in hook.requests if r["status"] == 200]
    assert delivered == [["t::leak"], ["t::b", "t::c"], ["t::d"], ["t::e"]]
    assert "***" in hook.requests[-4]["body"]["failures"][0]["message"]
    assert list((tmp_path / "spool" / "team-hook").glob("*.json")) == []


def test_nothing_to_send_still_drains(tmp_path: Path, hook: Hook) -> None:
    Spool(tmp_path / "spool" / "team-hook").put({"run": {}, "failures": [{"nodeid": "old"}]})
    result = sink(tmp_path, hook.url).deliver([], RUN)
    assert result.delivered == 1 and result.spooled == 0
    assert hook.requests[0]["body"]["failures"] == [{"nodeid": "old"}]


def test_client_errors_are_not_retried_and_are_spooled(tmp_path: Path, hook: Hook) -> None:
    hook.statuses = [401]
    result = sink(tmp_path, hook.url).deliver([failure("t::a")], RUN)
    assert len(hook.requests) == 1 and "HTTP 401" in (result.error or "")
    assert result.spooled == 1


def test_missing_token_spools_without_calling(tmp_path: Path, hook: Hook) -> None:
    sinks = build_sinks(
        {"team-hook": SinkSpec("team-hook", "webhook", url=hook.url, token_env="TEAM_HOOK_TOKEN")},
        base_dir=tmp_path, environ={}, redactor=Redactor(),
    )
    result = sinks["team-hook"].deliver([failure("t::a")], RUN)
    assert result.error == "DeliveryError: environment variable TEAM_HOOK_TOKEN is not set"
    assert result.spooled == 1 and hook.requests == []
    assert len(list((tmp_path / "spool" / "team-hook").glob("*.json"))) == 1


def test_build_sinks_reads_the_token_from_the_environment(tmp_path: Path, hook: Hook) -> None:
    spec = SinkSpec("team-hook", "webhook", url=hook.url, token_env="TEAM_HOOK_TOKEN", retries=1, timeout=1.0)
    sinks = build_sinks([spec], base_dir=tmp_path, environ={"TEAM_HOOK_TOKEN": TOKEN}, redactor=Redactor())
    assert sinks["team-hook"].deliver([failure("t::a")], {"run_id": "r"}).ok
    assert hook.requests[0]["auth"] == f"Bearer {TOKEN}"


def test_corrupt_spool_file_is_set_aside(tmp_path: Path, hook: Hook) -> None:
    directory = tmp_path / "spool" / "team-hook"
    directory.mkdir(parents=True)
    (directory / "00000000-00000.json").write_text("{not json")
    result = sink(tmp_path, hook.url).deliver([failure("t::a")], RUN)
    assert result.ok and result.delivered == 1
    assert [p.suffix for p in directory.iterdir()] == [".corrupt"]


def test_unexpected_errors_never_raise(tmp_path: Path) -> None:
    blocker = tmp_path / "spool"
    blocker.write_text("a file where the spool directory should be")
    down = f"http://127.0.0.1:{closed_port()}/hook"
    result = sink(tmp_path, down).deliver([failure("t::a")], RUN)
    assert result.error and result.delivered == 0


def test_retry_budget_bounds_the_time_spent(tmp_path: Path) -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    client = HttpClient(timeout=0.5, retries=10, sleep=sleep, clock=lambda: now[0], backoff=0.2)
    down = f"http://127.0.0.1:{closed_port()}/hook"
    result = WebhookSink("h", down, spool=Spool(tmp_path / "s"), redactor=Redactor(), client=client).deliver(
        [failure("t::a")], RUN
    )
    assert result.error
    assert sum(sleeps) <= 0.5 * 10
    assert sleeps == [0.2, 0.4, 0.8, 1.6]  # the next wait (3.2s) would overrun the 5s budget
