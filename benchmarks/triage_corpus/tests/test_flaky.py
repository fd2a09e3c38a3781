"""Tests that fail on their first attempt only: flaky when retried in the same run."""

from __future__ import annotations

import json
import os
import socket

import pytest

from shop import waiting

flaky = pytest.mark.expect_category("flaky")


@flaky
def test_flaky_assertion(first_attempt):
    assert not first_attempt, "order count was 2, expected 3"


@flaky
def test_flaky_connection(first_attempt, closed_port):
    if first_attempt:
        socket.create_connection(("127.0.0.1", closed_port), timeout=1)


@flaky
def test_flaky_wait(first_attempt):
    waiting.wait_until(lambda: not first_attempt, timeout=0.05)


@flaky
def test_flaky_key_error(first_attempt):
    cache = {} if first_attempt else {"sku": "A-1"}
    assert cache["sku"] == "A-1"


@flaky
def test_flaky_decode(first_attempt):
    payload = '{"ok": tru' if first_attempt else '{"ok": true}'
    assert json.loads(payload)["ok"]


@flaky
def test_flaky_env(first_attempt, monkeypatch):
    if not first_attempt:
        monkeypatch.setenv("SHOP_FLAKY_TOKEN", "x")
    assert os.environ["SHOP_FLAKY_TOKEN"]


@flaky
@pytest.mark.parametrize("round_", range(4))
def test_flaky_ordering(first_attempt, round_):
    seen = [round_, round_ + 1] if first_attempt else [round_ + 1, round_]
    assert seen[0] > seen[1]
