"""Failures caused by services, the network or machine resources."""

from __future__ import annotations

import http.client
import os
import resource
import socket
import sqlite3
import ssl
import urllib.request

import pytest

from shop import http_client, storage

infra = pytest.mark.expect_category("infrastructure")


@infra
def test_socket_connect_refused(closed_port):
    socket.create_connection(("127.0.0.1", closed_port), timeout=1)


@infra
def test_product_ping_refused(closed_port):
    assert http_client.ping("127.0.0.1", closed_port)


@infra
def test_urllib_refused(closed_port):
    urllib.request.urlopen(f"http://127.0.0.1:{closed_port}/health", timeout=1)


@infra
def test_product_fetch_refused(closed_port):
    assert http_client.fetch(f"http://127.0.0.1:{closed_port}/catalog") == b"[]"


@infra
def test_http_client_status_refused(closed_port):
    assert http_client.status("127.0.0.1", closed_port) == 200


@infra
@pytest.mark.parametrize("path", ["/orders", "/carts", "/users"])
def test_service_paths_refused(closed_port, path):
    http_client.fetch(f"http://127.0.0.1:{closed_port}{path}")


@infra
def test_fixture_service_down(payments_service):
    payments_service.sendall(b"charge")


@infra
def test_reset_on_recv(reset_server):
    with socket.create_connection(("127.0.0.1", reset_server.port), timeout=2) as sock:
        sock.sendall(b"hello")
        sock.recv(1024)
        sock.recv(1024)


@infra
def test_product_fetch_reset(reset_server):
    http_client.fetch(reset_server.url)


@infra
def test_http_status_reset(reset_server):
    http_client.status("127.0.0.1", reset_server.port)


@infra
def test_product_fetch_503(unavailable_server):
    assert http_client.fetch(unavailable_server.url + "stock")


@infra
def test_urllib_502(bad_gateway_server):
    urllib.request.urlopen(bad_gateway_server.url, timeout=2)


@infra
def test_product_fetch_504(gateway_timeout_server):
    http_client.fetch(gateway_timeout_server.url + "prices")


@infra
def test_socket_read_timeout(silent_server):
    with socket.create_connection(("127.0.0.1", silent_server.port), timeout=2) as sock:
        sock.settimeout(0.2)
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        sock.recv(1024)


@infra
def test_product_fetch_read_timeout(silent_server):
    http_client.fetch(silent_server.url, timeout=0.2)


@infra
def test_http_client_read_timeout(silent_server):
    http_client.status("127.0.0.1", silent_server.port, timeout=0.2)


@infra
def test_dns_failure():
    socket.getaddrinfo("inventory-db.invalid", 5432)


@infra
def test_product_resolve_failure():
    assert http_client.resolve("payments.invalid")


@infra
def test_urllib_dns_failure():
    urllib.request.urlopen("http://catalog.invalid/", timeout=1)


@infra
def test_tls_handshake_against_plain_server(junk_server):
    context = ssl.create_default_context()
    with socket.create_connection(("127.0.0.1", junk_server.port), timeout=2) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\n\r\n")


@infra
def test_https_against_plain_server(junk_server):
    http_client.fetch(f"https://127.0.0.1:{junk_server.port}/", timeout=2)


@infra
def test_sqlite_database_locked(tmp_path):
    path = str(tmp_path / "shop.db")
    holder = storage.connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    other = storage.connect(path, timeout=0.05)
    storage.add_customer(other, 1, "ann@example.com")


@infra
def test_sqlite_locked_during_write(tmp_path):
    path = str(tmp_path / "orders.db")
    first = sqlite3.connect(path, timeout=0.05)
    first.execute("CREATE TABLE t (x)")
    first.execute("BEGIN IMMEDIATE")
    first.execute("INSERT INTO t VALUES (1)")
    second = sqlite3.connect(path, timeout=0.05)
    second.execute("INSERT INTO t VALUES (2)")


@infra
def test_disk_full():
    with open("/dev/full", "w") as handle:
        handle.write("invoice" * 100)
        handle.flush()


@infra
def test_too_many_open_files(tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
    handles = []
    try:
        for index in range(200):
            handles.append(open(tmp_path / f"f{index}", "w"))
    finally:
        for handle in handles:
            handle.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@infra
def test_memory_exhausted():
    buffer = bytearray(1 << 62)
    assert buffer


@infra
def test_broken_pipe():
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        os.write(write_end, b"order")
    finally:
        os.close(write_end)


@infra
def test_http_connection_refused_raw(closed_port):
    connection = http.client.HTTPConnection("127.0.0.1", closed_port, timeout=1)
    connection.request("GET", "/")
