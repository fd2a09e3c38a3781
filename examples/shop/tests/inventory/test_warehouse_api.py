"""The warehouse stock service, spoken to through the shared HTTP client."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest
from shop.http_client import HttpClient, HttpError

STOCK = {"KB-101": 12, "BK-007": 40}


class FakeWarehouse(BaseHTTPRequestHandler):
    """Just enough of the warehouse API: GET /stock/<sku>, POST /reservations."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        sku = self.path.rsplit("/", 1)[-1]
        if self.path.startswith("/stock/") and sku in STOCK:
            self._answer(200, {"sku": sku, "on_hand": STOCK[sku]})
        else:
            self._answer(404, {"error": f"unknown sku {sku}"})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        order = json.loads(self.rfile.read(length))
        self._answer(201, {"reserved": order["quantity"], "sku": order["sku"]})

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # keep the test output clean


@pytest.fixture
def warehouse() -> Iterator[HttpClient]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeWarehouse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HttpClient(f"http://127.0.0.1:{server.server_address[1]}", timeout=5)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def warehouse_sidecar_url() -> str:
    """Where the warehouse sidecar listens in the staging environment.

    In this demo nothing listens there: the port is taken from the OS and
    closed again, so a connection is refused at once (no waiting for timeouts).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_stock_lookup(warehouse: HttpClient) -> None:
    assert warehouse.get_json("/stock/KB-101") == {"sku": "KB-101", "on_hand": 12}


def test_unknown_sku_is_a_404(warehouse: HttpClient) -> None:
    with pytest.raises(HttpError) as raised:
        warehouse.get_json("/stock/NOPE")
    assert raised.value.status == 404


def test_reservation_is_posted(warehouse: HttpClient) -> None:
    assert warehouse.post_json("/reservations", {"sku": "BK-007", "quantity": 2}) == {"reserved": 2, "sku": "BK-007"}


def test_query_strings_are_encoded() -> None:
    client = HttpClient("http://warehouse.internal/")
    assert client.url_for("/stock", {"sku": "KB 101", "site": "BER"}) == (
        "http://warehouse.internal/stock?sku=KB+101&site=BER"
    )


@pytest.mark.alias("staging-warehouse")
def test_staging_warehouse_is_reachable(warehouse_sidecar_url: str) -> None:
    # DELIBERATE FAILURE (category: infrastructure): nothing listens at the
    # sidecar's address, so urllib raises URLError wrapping
    # ConnectionRefusedError. Nothing is wrong with the shop's code.
    client = HttpClient(warehouse_sidecar_url, timeout=2)
    assert client.get_json("/health") == {"status": "ok"}
