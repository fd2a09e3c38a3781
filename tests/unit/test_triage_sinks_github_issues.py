"""The github-issues sink against a local fake of the REST API subset it uses."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlparse

import pytest

from pytest_orchestra.core.records import RunRecord
from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.triage.routing import RoutedFailure
from pytest_orchestra.triage.sinks import build_sinks
from pytest_orchestra.triage.specs import SinkSpec

TOKEN = "ghp_fake0123456789"
PAGE = 2  # small pages, so the sink must follow the Link header


class FakeGitHub:
    """Issues and comments in memory; checks auth and Accept; paginates with Link."""

    def __init__(self) -> None:
        self.issues: list[dict[str, Any]] = []
        self.comments: dict[int, list[str]] = {}
        self.log: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, data: Any = None, headers: dict[str, str] | None = None) -> None:
                body = json.dumps(data).encode() if data is not None else b""
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._reply(401, {"message": "Bad credentials"})
                    return False
                assert self.headers.get("Accept") == "application/vnd.github+json"
                return True

            def do_GET(self) -> None:  # noqa: N802
                api.log.append(f"GET {self.path}")
                if not self._authorized():
                    return
                url = urlparse(self.path)
                query = parse_qs(url.query)
                assert url.path == "/repos/acme/shop/issues"
                assert query["state"] == ["open"] and query["labels"] == ["pytest-orchestra"]
                page = int(query.get("page", ["1"])[0])
                matching = [i for i in api.issues if i["state"] == "open" and "pytest-orchestra" in i["labels"]]
                chunk = matching[(page - 1) * PAGE: page * PAGE]
                headers = {}
                if page * PAGE < len(matching):
                    base = f"http://127.0.0.1:{api.port}{url.path}"
                    headers["Link"] = (
                        f'<{base}?state=open&labels=pytest-orchestra&page={page + 1}>; rel="next", '
                        f'<{base}?state=open&labels=pytest-orchestra&page=99>; rel="last"'
                    )
                self._reply(200, [{"number": i["number"], "body": i["body"]} for i in chunk], headers)

            def do_POST(self) -> None:  # noqa: N802
                api.log.append(f"POST {self.path}")
                if not self._authorized():
                    return
                data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                comment = re.fullmatch(r"/repos/acme/shop/issues/(\d+)/comments", self.path)
                if comment:
                    api.comments.setdefault(int(comment.group(1)), []).append(data["body"])
                    self._reply(201, {"id": 1})
                    return
                assert self.path == "/repos/acme/shop/issues"
                issue = {"number": len(api.issues) + 1, "state": "open", "title": data["title"],
                         "body": data["body"], "labels": data["labels"]}
                api.issues.append(issue)
                self._reply(201, {"number": issue["number"]})

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    api = FakeGitHub()
    yield api
    api.close()


def billing_failure(nodeid: str, fingerprint: str = "abc123def456") -> RoutedFailure:
    return RoutedFailure(
        nodeid, "product", 0.92, "assertion-in-product", "AssertionError raised in shop/billing",
        fingerprint, "c1", "call", app="billing", message=f"assert 19 == 20 (token {TOKEN})",
        location=("shop/billing/vat.py", 12), exception="AssertionError",
    )


RUN = RunRecord(run_id="run-7", started=1.0, commit="abc1234", branch="main")


def issues_sink(tmp_path: Path, url: str, environ: dict[str, str] | None = None) -> Any:
    spec = SinkSpec("issues", "github-issues", url=url, repository="acme/shop", token_env="GITHUB_TOKEN",
                    labels=("triage",), retries=1, timeout=2.0)
    env = {"GITHUB_TOKEN": TOKEN} if environ is None else environ
    return build_sinks({"issues": spec}, base_dir=tmp_path, environ=env, redactor=Redactor())["issues"]


def test_one_issue_per_fingerprint_then_comments(tmp_path: Path, github: FakeGitHub) -> None:
    # Unrelated open issues fill the first pages, so finding ours needs pagination.
    for number in range(1, 6):
        github.issues.append({"number": number, "state": "open", "title": "x", "body": "no marker",
                              "labels": ["pytest-orchestra"]})
    failures = [billing_failure(f"tests/billing/test_vat.py::test_{n}") for n in range(3)]
    result = issues_sink(tmp_path, github.url).deliver(failures, RUN)
    assert (result.delivered, result.spooled, result.error) == (3, 0, None)
    created = github.issues[-1]
    assert created["title"] == "[product] AssertionError in shop/billing (3 tests)"
    assert created["labels"] == ["pytest-orchestra", "triage"]
    assert "<!-- orchestra-fingerprint: abc123def456 -->" in created["body"]
    assert "tests/billing/test_vat.py::test_2" in created["body"] and "run-7" in created["body"]
    assert TOKEN not in created["body"] and "***" in created["body"]

    again = issues_sink(tmp_path, github.url).deliver([billing_failure("tests/billing/test_vat.py::test_0")], RUN)
    assert again.ok and len(github.issues) == 6  # no second issue
    (comment,) = github.comments[created["number"]]
    assert "Failed in run `run-7` at `abc1234` on `main`" in comment
    assert sum(1 for line in github.log if line.startswith("GET")) >= 2 * 3  # three pages, twice


def test_each_fingerprint_gets_its_own_issue(tmp_path: Path, github: FakeGitHub) -> None:
    failures = [billing_failure("t.py::a", "fp-one"), billing_failure("t.py::b", "fp-two")]
    assert issues_sink(tmp_path, github.url).deliver(failures, RUN).delivered == 2
    assert [i["title"] for i in github.issues] == [
        "[product] AssertionError in shop/billing (1 test)",
        "[product] AssertionError in shop/billing (1 test)",
    ]


def test_bad_token_is_a_one_line_error_and_spooled(tmp_path: Path, github: FakeGitHub) -> None:
    result = issues_sink(tmp_path, github.url, {"GITHUB_TOKEN": "wrong-token"}).deliver(
        [billing_failure("t.py::a")], RUN
    )
    assert "HTTP 401" in (result.error or "") and result.spooled == 1
    assert github.issues == []
    # The next run, with the right token, delivers the spooled payload and its own.
    later = issues_sink(tmp_path, github.url).deliver([billing_failure("t.py::b")], RUN)
    assert later.ok and later.delivered == 2 and later.spooled == 0
    assert len(github.issues) == 1 and len(github.comments[1]) == 1


def test_missing_token_never_calls_the_api(tmp_path: Path, github: FakeGitHub) -> None:
    result = issues_sink(tmp_path, github.url, {}).deliver([billing_failure("t.py::a")], RUN)
    assert result.error == "DeliveryError: environment variable GITHUB_TOKEN is not set"
    assert github.log == [] and result.spooled == 1


def test_title_falls_back_to_the_message_and_the_test_directory(tmp_path: Path, github: FakeGitHub) -> None:
    failure = RoutedFailure("tests/api/test_orders.py::test_list", "infrastructure", 0.8, "r", "why", "fp9",
                            "c9", "call", message="requests.exceptions.ConnectionError: refused")
    assert issues_sink(tmp_path, github.url).deliver([failure], RUN).ok
    assert github.issues[0]["title"] == "[infrastructure] ConnectionError in tests/api (1 test)"
