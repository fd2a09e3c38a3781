"""Outcome book (who may run) and the hand-off store, without pytest runs."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_orchestra.ordering.handoff import Handoff, HandoffError, HandoffStore
from pytest_orchestra.ordering.outcomes import OutcomeBook
from pytest_orchestra.ordering.resolver import Upstream


def report(nodeid: str, when: str, outcome: str, **extra: object) -> SimpleNamespace:
    return SimpleNamespace(nodeid=nodeid, when=when, outcome=outcome, **extra)


def feed(book: OutcomeBook, nodeid: str, *phases: tuple, app: str | None = None, blocked: bool = False) -> None:
    for when, outcome, *extra in phases:
        book.record(report(nodeid, when, outcome, **(extra[0] if extra else {})), app, blocked=blocked)


TEST = Upstream("test", "t.py::up", "requires('up')")


@pytest.mark.parametrize(
    "phases, reason",
    [
        ([("setup", "passed"), ("call", "passed"), ("teardown", "passed")], None),
        ([("setup", "passed"), ("call", "failed"), ("teardown", "passed")], "which failed"),
        ([("setup", "failed"), ("teardown", "passed")], "which errored"),
        ([("setup", "passed"), ("call", "passed"), ("teardown", "failed")], "which errored"),
        ([("setup", "skipped"), ("teardown", "passed")], "which was skipped"),
        ([("setup", "passed"), ("call", "skipped", {"wasxfail": ""}), ("teardown", "passed")], "which failed (xfail)"),
        ([("setup", "passed"), ("call", "rerun"), ("setup", "passed"), ("call", "passed")], None),
        ([], "which did not run in this process"),
    ],
)
def test_blocker_explains_each_state(phases: list, reason: str | None) -> None:
    book = OutcomeBook()
    feed(book, "t.py::up", *phases)
    blocker = book.blocker([TEST])
    if reason is None:
        assert blocker is None
    else:
        assert blocker == f"requires t.py::up (requires('up')), {reason}"


def test_apps_break_on_failures_and_blocked_tests_only() -> None:
    book = OutcomeBook()
    feed(book, "a.py::ok", ("call", "passed"), app="auth")
    feed(book, "a.py::skipped", ("setup", "skipped"), app="auth")
    assert book.blocker([Upstream("app", "auth", "apps.billing.depends_on")]) is None
    feed(book, "a.py::bad", ("call", "failed"), app="auth")
    feed(book, "a.py::worse", ("call", "failed"), app="auth")
    assert book.blocker([Upstream("app", "auth", "apps.billing.depends_on")]) == (
        "requires app auth (apps.billing.depends_on): a.py::bad failed"
    )
    feed(book, "b.py::x", ("setup", "skipped"), app="billing", blocked=True)
    assert "b.py::x was skipped because its own dependency did not pass" in book.blocker(
        [Upstream("app", "billing", "via")]
    )


def test_deselected_state_is_kept_until_the_test_runs() -> None:
    book = OutcomeBook()
    book.mark_deselected(["t.py::up"])
    assert book.blocker([TEST]).endswith("which was deselected (-k, -m or selection)")


def test_handoff_in_one_process() -> None:
    store = HandoffStore()
    states = {"t.py::make": "passed"}
    producer = Handoff(store, "t.py::make", [], states.get)
    producer.put("invoice", {"id": 1})
    consumer = Handoff(store, "t.py::use", ["t.py::make"], states.get)
    assert consumer.get("invoice") == {"id": 1} and "invoice" in consumer
    assert consumer.producer("invoice") == "t.py::make" and consumer.producer("nope") is None
    with pytest.raises(HandoffError, match="t.py::make passed without putting it"):
        consumer.get("nope")


@pytest.mark.parametrize(
    "state, text",
    [(None, "did not run"), ("failed", "failed"), ("error", "errored"), ("deselected", "was deselected"),
     ("blocked", "blocked")],
)
def test_handoff_error_names_the_producer_state(state: str | None, text: str) -> None:
    consumer = Handoff(HandoffStore(), "t.py::use", ["t.py::make"], {"t.py::make": state}.get)
    with pytest.raises(HandoffError, match=f"its producer t.py::make {text}"):
        consumer.get("key")


def test_handoff_crosses_processes_through_the_shared_folder(tmp_path: Path) -> None:
    HandoffStore(tmp_path).put("token", "abc", "t.py::login")
    other = HandoffStore(tmp_path)  # another worker's store
    assert other.lookup("token") == ("abc", "t.py::login")
    assert other.lookup("missing") is None
    # An unpicklable value stays where it was made, without breaking the producer.
    lock_store = HandoffStore(tmp_path)
    lock_store.put("lock", threading.Lock(), "t.py::x")
    assert lock_store.lookup("lock") is not None and HandoffStore(tmp_path).lookup("lock") is None
    # A torn file reads as missing, not as a crash.
    (only,) = (tmp_path / "handoff").glob("*.pickle")
    only.write_bytes(b"\x80\x04garbage")
    assert HandoffStore(tmp_path).lookup("token") is None


def test_handoff_file_for_another_key_is_not_returned(tmp_path: Path) -> None:
    store = HandoffStore(tmp_path)
    store.put("a", 1, "t.py::p")
    path = store._path("b")
    path.write_bytes(pickle.dumps(("not-b", 2, "t.py::q")))
    assert HandoffStore(tmp_path).lookup("b") is None


def test_outcome_file_fills_only_the_gaps(tmp_path: Path) -> None:
    book = OutcomeBook()
    feed(book, "t.py::local", ("call", "failed"))
    path = tmp_path / "outcomes.tsv"
    path.write_text(
        "t.py::up\tpassed\t\n"
        "t.py::local\tpassed\t\n"  # this process saw it fail: that wins
        "a.py::x\terror\tauth\n"
        "garbage line\n"
        "t.py::odd\tnot-a-state\t\n"
    )
    book.merge_file(path)
    book.merge_file(tmp_path / "missing.tsv")  # nothing written yet: nothing learned
    assert book.blocker([TEST]) is None
    assert book.states["t.py::local"] == "failed" and "t.py::odd" not in book.states
    assert book.blocker([Upstream("app", "auth", "via")]) == "requires app auth (via): a.py::x errored"
    assert book.record_state("t.py::up", "passed", None) is False
