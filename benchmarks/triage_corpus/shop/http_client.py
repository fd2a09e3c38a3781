"""A tiny HTTP client the shop uses to talk to its services."""

from __future__ import annotations

import http.client
import socket
import urllib.request


def fetch(url: str, timeout: float = 2.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def ping(host: str, port: int, timeout: float = 1.0) -> bool:
    with socket.create_connection((host, port), timeout=timeout):
        return True


def status(host: str, port: int, path: str = "/", timeout: float = 1.0) -> int:
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def resolve(host: str) -> str:
    return socket.getaddrinfo(host, 443)[0][4][0]
