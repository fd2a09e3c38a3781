"""Waiting for a started service: TCP accept, an HTTP answer, or a line in its log."""

from __future__ import annotations

import http.client
import socket
import time
from pathlib import Path
from typing import Callable, Optional

from pytest_orchestra.environments.config import ReadySpec


def tcp_open(host: str, port: int, *, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_status(host: str, port: int, path: str, *, timeout: float = 1.0) -> Optional[int]:
    """The status of ``GET path``, or None when nothing answers in time."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def log_contains(log: Path, text: str) -> bool:
    try:
        return text in log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def probe(ready: ReadySpec, host: str, port: Optional[int], log: Path, *, timeout: float = 1.0) -> Optional[str]:
    """None when every configured condition holds, else what is still missing."""
    if ready.log and not log_contains(log, ready.log):
        return f"{ready.log!r} not in its output yet"
    if ready.http and port is not None:
        status = http_status(host, port, ready.http, timeout=timeout)
        if status is None:
            return f"GET {ready.http} got no answer"
        if status >= 500:
            return f"GET {ready.http} answered {status}"
    elif ready.tcp and port is not None and not tcp_open(host, port, timeout=timeout):
        return f"port {port} refuses connections"
    return None


def wait_ready(
    ready: ReadySpec,
    host: str,
    port: Optional[int],
    log: Path,
    *,
    exited: Callable[[], Optional[int]],
    clock: Callable[[], float] = time.monotonic,
    pause: float = 0.02,
) -> Optional[str]:
    """Poll until ready (None) or the deadline passes / the process exits (the reason)."""
    deadline = clock() + ready.timeout
    missing = "not started"
    while True:
        code = exited()
        if code is not None:
            return f"exited with status {code} before it was ready"
        missing = probe(ready, host, port, log, timeout=min(1.0, ready.timeout)) or ""
        if not missing:
            return None
        if clock() >= deadline:
            return f"not ready within {ready.timeout:g}s: {missing}"
        time.sleep(pause)
        pause = min(pause * 1.5, 0.2)
