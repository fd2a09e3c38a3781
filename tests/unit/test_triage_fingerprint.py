"""Fingerprints group the same problem and separate different ones."""

from __future__ import annotations

import pytest

from pytest_orchestra.triage.failure import Failure, FailureEvidence, Frame
from pytest_orchestra.triage.fingerprint import Cluster, clusters, fingerprint, normalize_message


def failure(message: str, kind: str = "builtins.ConnectionRefusedError", *, lineno: int = 41,
            nodeid: str = "tests/test_a.py::test_x", functions=("test_x", "get"), evidence=True) -> Failure:
    frames = tuple(
        Frame(f"shop/{name}.py", lineno + i, name, "test" if name.startswith("test") else "product")
        for i, name in enumerate(functions)
    ) + (Frame("/usr/lib/python3.11/socket.py", 800, "create_connection", "stdlib"),)
    ev = FailureEvidence(kind, (kind,), message, frames) if evidence else None
    return Failure(nodeid, "call", "failed", ev, f"E   {kind}: {message}")


@pytest.mark.parametrize(
    "message, expected",
    [
        ("connect to 10.0.0.12:5432 refused", "connect to <ip>:<port> refused"),
        ("id 550e8400-e29b-41d4-a716-446655440000 missing", "id <uuid> missing"),
        ("at 2024-05-01T10:11:12Z and on 2024-05-02", "at <timestamp> and on <date>"),
        ("file /tmp/pytest-of-ci/pytest-12/data.json", "file <path>"),
        ("object at 0x7f3a2b1c", "object at <hex>"),
        ("sha deadbeefcafe1234 differs", "sha <hex> differs"),
        ("expected 3 got 4", "expected <num1> got <num2>"),
        ("expected 3 got 3", "expected <num> got <num>"),
        ("retry 2 of 5 after 0.25s", "retry <num1> of <num2> after <num3>s"),
        ("host localhost:8080 down", "host localhost:<port> down"),
    ],
)
def test_normalize_message(message, expected):
    assert normalize_message(message) == expected


def test_fingerprint_is_twelve_hex_digits():
    value = fingerprint(failure("x"))
    assert len(value) == 12 and int(value, 16) >= 0


def test_stable_across_numbers_paths_ports_and_line_numbers():
    first = failure("[Errno 111] refused on 127.0.0.1:41233 reading /tmp/a/b.json after 3 tries", lineno=41)
    second = failure("[Errno 111] refused on 127.0.0.1:51877 reading /home/ci/x/y.json after 7 tries", lineno=97,
                     nodeid="tests/test_b.py::test_y")
    assert fingerprint(first) == fingerprint(second)


def test_differs_across_exception_types():
    assert fingerprint(failure("boom")) != fingerprint(failure("boom", "builtins.ConnectionResetError"))


def test_differs_across_code_paths():
    assert fingerprint(failure("boom")) != fingerprint(failure("boom", functions=("test_x", "post")))


def test_differs_across_messages():
    assert fingerprint(failure("refused")) != fingerprint(failure("reset"))


def test_without_evidence_uses_phase_and_first_line():
    a = failure("worker gw0 crashed after 12s", evidence=False)
    b = failure("worker gw1 crashed after 30s", evidence=False)
    assert fingerprint(a) != fingerprint(failure("other", evidence=False))
    assert fingerprint(a) == fingerprint(Failure(b.nodeid, "call", "failed", None, a.longrepr))


def test_only_stdlib_frames_still_fingerprint():
    ev = FailureEvidence("builtins.MemoryError", ("builtins.MemoryError",), "", (
        Frame("/usr/lib/python3.11/json/decoder.py", 1, "decode", "stdlib"),))
    assert len(fingerprint(Failure("t.py::x", "call", "failed", ev, ""))) == 12


def test_clusters_group_sort_and_vote():
    big = [failure("refused on 10.0.0.1:1", nodeid=f"tests/test_a.py::test_{i}") for i in range(3)]
    small = [failure("x", "builtins.KeyError", nodeid="tests/test_k.py::test_k")]
    rows = [(fingerprint(f), "infrastructure", f) for f in big]
    rows[2] = (rows[2][0], "unknown", rows[2][2])
    rows.append((fingerprint(small[0]), "product", small[0]))
    rows.append((fingerprint(big[0]), "infrastructure", big[0]))  # the same test twice counts once
    result = clusters(rows)
    assert [c.size for c in result] == [3, 1]
    assert result[0] == Cluster(
        id=fingerprint(big[0]), category="infrastructure",
        exception_type="builtins.ConnectionRefusedError",
        normalized_message="refused on <ip>:<port>",
        nodeids=[f"tests/test_a.py::test_{i}" for i in range(3)],
    )
    assert result[1].category == "product"


def test_clusters_of_equal_size_sort_by_id_and_handle_missing_evidence():
    a = failure("a", evidence=False, nodeid="t::a")
    b = failure("b", "builtins.KeyError", nodeid="t::b")
    result = clusters([(fingerprint(a), "unknown", a), (fingerprint(b), "product", b)])
    assert [c.id for c in result] == sorted([fingerprint(a), fingerprint(b)])
    assert {c.exception_type for c in result} == {"<call>", "builtins.KeyError"}


def test_blank_failure_text_still_fingerprints():
    blank = Failure("t.py::x", "setup", "error", None, "  \n  ")
    assert fingerprint(blank) == fingerprint(Failure("t.py::y", "setup", "error", None, ""))
    assert fingerprint(blank) != fingerprint(Failure("t.py::y", "call", "failed", None, ""))
