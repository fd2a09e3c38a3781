"""Fixtures of the triage corpus, and a stand-alone triage plugin.

The fixtures start real servers on 127.0.0.1 that misbehave on purpose. With
``ORCHESTRA_TRIAGE_STANDALONE=1`` this conftest also classifies every failure
itself (evidence captured in a ``pytest_runtest_makereport`` wrapper, one
retry per failed test) and writes ``ORCHESTRA_TRIAGE_OUT`` as JSON, so the
accuracy benchmark works without the pytest-orchestra plugin wiring.
With ``ORCHESTRA_CORPUS_EXPECT`` set, the expected category of every test
(and of every module that fails to collect) is written there.
"""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import threading
from pathlib import Path
from typing import Iterator

import pytest

DATA = Path(__file__).parent / "tests" / "data"
EXPECT_COMMENT = re.compile(r"#\s*expect_category:\s*(\w+)")


# --- servers ------------------------------------------------------------------------


class Server:
    """A TCP server on 127.0.0.1 whose every connection gets ``handle(conn)``."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.open_connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.open_connections.append(conn)
            try:
                self.handle(conn)
            except OSError:
                pass

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def close(self) -> None:
        self.sock.close()
        for conn in self.open_connections:
            conn.close()


def _reset(conn: socket.socket) -> None:
    conn.recv(1024)
    # SO_LINGER 0 makes close() send RST: the client sees "connection reset by peer".
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _answer(status: int, reason: str):
    def handle(conn: socket.socket) -> None:
        conn.recv(4096)
        body = f"{status} {reason}".encode()
        conn.sendall(
            f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        conn.close()

    return handle


def _silent(conn: socket.socket) -> None:
    pass  # accept, then never answer


def _junk(conn: socket.socket) -> None:
    conn.recv(4096)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\nnot tls at all" * 4)
    conn.close()


@pytest.fixture
def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _server(handle) -> Iterator[Server]:
    server = Server(handle)
    yield server
    server.close()


@pytest.fixture
def reset_server() -> Iterator[Server]:
    yield from _server(_reset)


@pytest.fixture
def unavailable_server() -> Iterator[Server]:
    yield from _server(_answer(503, "Service Unavailable"))


@pytest.fixture
def bad_gateway_server() -> Iterator[Server]:
    yield from _server(_answer(502, "Bad Gateway"))


@pytest.fixture
def gateway_timeout_server() -> Iterator[Server]:
    yield from _server(_answer(504, "Gateway Timeout"))


@pytest.fixture
def silent_server() -> Iterator[Server]:
    yield from _server(_silent)


@pytest.fixture
def junk_server() -> Iterator[Server]:
    yield from _server(_junk)


@pytest.fixture
def payments_service(closed_port: int) -> socket.socket:
    """A fixture whose service is down: setup fails with ConnectionRefusedError."""
    return socket.create_connection(("127.0.0.1", closed_port), timeout=1)


@pytest.fixture
def catalog_data() -> dict:
    """A fixture that seeds from a corrupt file: setup fails decoding it."""
    return json.loads((DATA / "catalog_broken.json").read_text())


@pytest.fixture
def api_token() -> str:
    return os.environ["SHOP_CORPUS_TOKEN_UNSET"]


@pytest.fixture
def seeded_db():
    from shop import storage

    conn = storage.connect()
    storage.add_customer(conn, 1, "ann@example.com")
    storage.add_customer(conn, 2, "ann@example.com")  # duplicate email in the seed
    return conn


@pytest.fixture
def orders_db():
    from shop import storage

    conn = storage.connect()
    storage.add_order(conn, 1, 99, 10.0)  # customer 99 was never seeded
    return conn


@pytest.fixture
def broken_setup_fixture() -> dict:
    defaults = {"currency": "EUR"}
    return {"region": defaults["region"]}  # fixture bug: wrong key


@pytest.fixture
def typo_fixture() -> int:
    return undefined_base_value + 1  # noqa: F821 - fixture bug on purpose


@pytest.fixture
def leaky_teardown() -> Iterator[list]:
    resources: list = []
    yield resources
    resources_closed = resource_registry.pop()  # noqa: F821 - teardown bug on purpose


@pytest.fixture
def teardown_key_error() -> Iterator[dict]:
    state = {"opened": True}
    yield state
    del state["closed"]


# --- flaky support ------------------------------------------------------------------


def _state_dir(config: pytest.Config) -> Path:
    configured = os.environ.get("ORCHESTRA_CORPUS_STATE")
    path = Path(configured) if configured else config._tmp_path_factory.getbasetemp() / "flaky-state"  # type: ignore[attr-defined]
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def first_attempt(request: pytest.FixtureRequest) -> bool:
    """True on a test's first attempt in this run, False on its retries."""
    name = re.sub(r"\W", "_", request.node.nodeid)
    marker = _state_dir(request.config) / name
    if marker.exists():
        return False
    marker.write_text("attempted")
    return True


# --- expectations -------------------------------------------------------------------


def expected_category(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("expect_category")
    return str(marker.args[0]) if marker else None


def module_expectation(path: Path) -> str | None:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:500]
    except OSError:
        return None
    found = EXPECT_COMMENT.search(head)
    return found.group(1) if found else None


_expectations: dict[str, str] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        category = expected_category(item)
        if category:
            _expectations[item.nodeid] = category


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        category = module_expectation(Path(str(report.fspath)))
        if category:
            _expectations[report.nodeid] = category


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("ORCHESTRA_CORPUS_EXPECT")
    if target:
        Path(target).write_text(json.dumps(_expectations, indent=1, sort_keys=True))


if os.environ.get("ORCHESTRA_TRIAGE_STANDALONE") == "1":
    pytest_plugins = ["triage_standalone"]
