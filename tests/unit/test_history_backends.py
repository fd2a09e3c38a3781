"""The history store interface, tested the same way against SQLite and a real PostgreSQL.

Every test here takes ``backend``: it runs once on a SQLite file and once on a
fresh database of a PostgreSQL server the tests start (no mocks).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import MISSING, Field, fields, replace
from pathlib import Path
from typing import Any, List

import pytest

from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.history import NullHistoryStore, RunHistory
from pytest_orchestra.history.summary import RunSummary
from tests.pghistory import Backend, backend, history_server, history_url  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parents[2]


def run(run_id: str, started: float = 1_700_000_000.0, **values: Any) -> RunRecord:
    return RunRecord(run_id=run_id, started=started, **values)


def passes(count: int, prefix: str = "t.py::test_") -> List[TestRecord]:
    return [TestRecord(f"{prefix}{i}", "passed", duration=0.01 * (i + 1), start=10.0 + i) for i in range(count)]


def _default(field: Field[object]) -> object:
    return field.default_factory() if field.default_factory is not MISSING else field.default


# -- round trips ---------------------------------------------------------------------------


def test_the_store_implements_the_interface(backend: Backend) -> None:
    with backend.open() as store:
        assert isinstance(store, RunHistory)
        assert store.schema_version() == 4
    assert isinstance(NullHistoryStore(), RunHistory)


def test_every_field_of_a_run_and_its_tests_reads_back(backend: Backend) -> None:
    started = run(
        "20261122T031500Z-ab12cd", 1_763_781_300.25, commit="0123456789abcdef0123456789abcdef01234567",
        branch="feature/matrix", trigger="github-actions", workers=4, host="builder-7", pid=4242,
        args="-n 4 --orchestra-gate=strict", plan="nightly", rerun_of="20261121T031500Z-cd34ef",
        run_group="github-8812345678", shard="test 2/4",
    )
    full = TestRecord(
        nodeid="tests/test_login.py::test_login[role=Guest-edition=pro]", outcome="failed", phase="setup",
        duration=1.5, start=1_763_781_301.5, attempts=3, category="regression", app="portal",
        matrix={"role": "Guest", "edition": "pro"}, markers=("slow", "smoke"),
        message="AssertionError: expected 'Grüße'\t≠ 'hello'\nsecond line \\ backslash", location=("tests/test_login.py", 42),
        worker="gw1", flaky=True, quarantined=True, fingerprint="3f2a9c1d0b7e",
    )
    bare = TestRecord(nodeid="tests/test_login.py::test_logout", outcome="passed")
    finished = replace(
        started, ended=1_763_781_400.0, status="complete", exit_status=1, success_rate=0.5, gate_passed=False,
        workers=3, code_state="0123456789abcdef0123456789abcdef01234567+9f86d081884c7d65",
        code_changes='{"src/app.py": "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"}',
    )
    for sample in (finished, full):  # a field added to a record must be stored too
        unset = [f.name for f in fields(sample) if getattr(sample, f.name) == _default(f)]
        assert unset == [], f"{type(sample).__name__} sample leaves {unset} at the default"
    with backend.open() as store:
        store.begin_run(started)
        store.add_tests(started.run_id, [full, bare])
        assert store.get_run(started.run_id) == started
        store.finish_run(finished)
    with backend.open() as store:
        assert store.get_run(started.run_id) == finished
        assert store.tests(started.run_id) == [full, bare]
        assert store.outcomes(started.run_id) == [(full.nodeid, "failed", True, True), (bare.nodeid, "passed", False, False)]
    assert backend.messages == []


def test_passes_that_differ_from_a_plain_pass_in_one_field_read_back_in_order(backend: Backend) -> None:
    plain = TestRecord("t.py::plain", "passed", duration=0.25, start=10.5)
    variants = [
        replace(plain, nodeid="t.py::message", message="passed with a note"),
        replace(plain, nodeid="t.py::attempts", attempts=2),
        replace(plain, nodeid="t.py::phase", phase="teardown"),
        replace(plain, nodeid="t.py::flaky", flaky=True),
        replace(plain, nodeid="t.py::quarantined", quarantined=True),
        replace(plain, nodeid="t.py::markers", markers=("critical",)),
        replace(plain, nodeid="t.py::matrix", matrix={"role": "Guest"}),
        replace(plain, nodeid="t.py::skipped", outcome="skipped"),
        replace(plain, nodeid="t.py::worker", worker="gw0"),
        replace(plain, nodeid="t.py::fingerprint", fingerprint="ab12cd34"),
        replace(plain, nodeid="t.py::tab\tin\\name"),
    ]
    records = [replace(plain, nodeid=f"t.py::plain{i}") if i % 2 == 0 else variants[i // 2]
               for i in range(2 * len(variants))]
    with backend.open() as store:
        store.begin_run(run("r"))
        store.add_tests("r", records)
        assert store.tests("r") == records


def test_finish_run_changes_only_the_end_fields_and_counts_the_tests(backend: Backend) -> None:
    with backend.open() as store:
        store.begin_run(run("r1", commit="abc", branch="main", args="-x", run_group="g", shard="1/2"))
        store.add_tests("r1", [TestRecord("a", "failed", category="product"), TestRecord("b", "passed", flaky=True),
                               TestRecord("c", "failed", quarantined=True), TestRecord("d", "skipped")])
        store.finish_run(run("r1", commit="other", branch="other", args="-k", ended=5.0, status="interrupted",
                             exit_status=2, gate_passed=True, workers=2))
        found = store.get_run("r1")
        summary = store.summaries(["r1"])["r1"]
    assert found is not None
    assert (found.commit, found.branch, found.args, found.run_group, found.shard) == ("abc", "main", "-x", "g", "1/2")
    assert (found.ended, found.status, found.exit_status, found.gate_passed, found.workers) == (5.0, "interrupted", 2, True, 2)
    assert (summary.total, summary.failed, summary.flaky, summary.quarantined) == (4, 1, 1, 1)
    assert summary.failures_by_category() == {"product": 1}
    assert summary.success_rate == 0.5  # b of a and b: skips and quarantined tests do not count


def test_finish_run_without_begin_run_still_records_the_run(backend: Backend) -> None:
    lonely = run("lonely", status="complete", ended=2.0, branch="main")
    with backend.open() as store:
        store.finish_run(lonely)
        assert store.get_run("lonely") == lonely
        assert store.get_run("missing") is None


def test_tests_keep_insertion_order_across_batches_and_runs(backend: Backend) -> None:
    with backend.open() as store:
        store.begin_run(run("a"))
        store.begin_run(run("b"))
        store.add_tests("a", passes(3, "z::t"))
        store.add_tests("b", passes(2, "b::t"))
        store.add_tests("a", passes(2, "a::t"))
        store.add_tests("a", [])
        assert [t.nodeid for t in store.tests("a")] == ["z::t0", "z::t1", "z::t2", "a::t0", "a::t1"]
        assert [t.nodeid for t in store.tests("b")] == ["b::t0", "b::t1"]
        assert store.tests("nope") == []
    with backend.open() as store:  # another session appending to the same run carries on the order
        store.add_tests("a", passes(1, "late::t"))
        assert [t.nodeid for t in store.tests("a")][-2:] == ["a::t1", "late::t0"]


# -- queries -------------------------------------------------------------------------------


@pytest.fixture
def populated(backend: Backend) -> Any:
    store = backend.open()
    plan = [
        ("r1", 100.0, "main", "complete", [("t::a", "passed", 1.0), ("t::b", "failed", 4.0)]),
        ("r2", 200.0, "dev", "complete", [("t::a", "passed", 3.0)]),
        ("r3", 300.0, "main", "interrupted", [("t::a", "failed", 50.0)]),
        ("r4", 400.0, "main", "complete", [("t::a", "passed", 2.0), ("t::b", "skipped", 0.0)]),
        ("r5", 500.0, None, "running", [("t::a", "passed", 9.0)]),
    ]
    for run_id, started, branch, status, tests in plan:
        store.begin_run(run(run_id, started, branch=branch, status=status))
        store.add_tests(run_id, [TestRecord(n, o, duration=d) for n, o, d in tests])
    yield store
    store.close()


def test_runs_are_listed_newest_first_and_filtered(populated: Any) -> None:
    ids = lambda runs: [r.run_id for r in runs]  # noqa: E731
    assert ids(populated.runs()) == ["r5", "r4", "r3", "r2", "r1"]
    assert ids(populated.runs(branch="main")) == ["r4", "r3", "r1"]
    assert ids(populated.runs(status="complete", limit=2)) == ["r4", "r2"]
    assert ids(populated.runs(limit=0)) == []


def test_runs_started_at_the_same_moment_keep_their_insertion_order(backend: Backend) -> None:
    with backend.open() as store:
        for run_id in ("zz", "aa", "mm"):
            store.begin_run(run(run_id, 100.0))
        assert [r.run_id for r in store.runs()] == ["mm", "aa", "zz"]


def test_last_run_skips_the_current_run_and_other_statuses(populated: Any) -> None:
    assert populated.last_run(branch="main").run_id == "r4"
    assert populated.last_run(branch="main", exclude="r4").run_id == "r1"
    assert populated.last_run(branch="main", status="interrupted").run_id == "r3"
    assert populated.last_run(branch=None).run_id == "r4"
    assert populated.last_run(branch="nope") is None


def test_last_run_of_a_shard_never_picks_a_sibling_of_the_same_group(backend: Backend) -> None:
    with backend.open() as store:
        for run_id, started, group, shard in (("p1-s1", 1.0, "p1", "1/2"), ("p1-s2", 2.0, "p1", "2/2"),
                                              ("p2-s2", 3.0, "p2", "2/2"), ("p2-s1", 4.0, "p2", "1/2")):
            store.finish_run(run(run_id, started, branch="main", status="complete", run_group=group, shard=shard))
        previous = store.last_run(branch="main", exclude="p2-s1", shard="1/2", exclude_group="p2")
        assert previous is not None and previous.run_id == "p1-s1"
        assert store.last_run(branch="main", exclude="p2-s1", exclude_group="p2").run_id == "p1-s2"


def test_test_history_pairs_each_result_with_its_run_newest_first(populated: Any) -> None:
    history = populated.test_history("t::a")
    assert [(r.run_id, t.outcome, t.duration) for r, t in history] == [
        ("r5", "passed", 9.0), ("r4", "passed", 2.0), ("r3", "failed", 50.0), ("r2", "passed", 3.0),
        ("r1", "passed", 1.0),
    ]
    assert [r.run_id for r, _ in populated.test_history("t::a", limit=2)] == ["r5", "r4"]
    assert populated.test_history("t::none") == []


def test_durations_are_medians_over_recent_complete_runs_without_skips(populated: Any) -> None:
    assert populated.durations() == {"t::a": 2.0, "t::b": 4.0}
    assert populated.durations(limit_runs=1) == {"t::a": 2.0}


def test_a_groups_durations_are_pinned_when_first_read(backend: Backend) -> None:
    with backend.open() as store:
        store.begin_run(run("old", 1.0, status="complete"))
        store.add_tests("old", [TestRecord("t::a", "passed", duration=1.0)])
        store.begin_run(run("sibling", 2.0, status="complete", run_group="pipe"))
        store.add_tests("sibling", [TestRecord("t::a", "passed", duration=9.0)])
        # The group's own runs never count: a shard must not plan from a sibling's fresh figures.
        assert store.durations(group="pipe") == {"t::a": 1.0}
        store.begin_run(run("newer", 3.0, status="complete"))
        store.add_tests("newer", [TestRecord("t::a", "passed", duration=5.0)])
        assert store.durations() == {"t::a": 5.0}  # the median of 1, 9 and 5
        assert store.durations(group="pipe") == {"t::a": 1.0}  # a retried shard plans as the first did
    with backend.open() as store:
        assert store.durations(group="pipe") == {"t::a": 1.0}


def test_prune_drops_the_oldest_finished_runs_and_their_tests(populated: Any) -> None:
    assert populated.prune(keep_runs=3) == 2
    assert [r.run_id for r in populated.runs()] == ["r5", "r4", "r3"]
    assert populated.tests("r1") == []
    assert [r.run_id for r, _ in populated.test_history("t::a")] == ["r5", "r4", "r3"]
    assert populated.prune(keep_runs=0) == 2  # a run still going is never pruned
    assert [r.run_id for r in populated.runs()] == ["r5"]
    with pytest.raises(ValueError, match="keep_runs must be 0 or more, not -1"):
        populated.prune(keep_runs=-1)


# -- run groups ----------------------------------------------------------------------------


def test_a_group_is_one_logical_run_where_a_retried_shard_counts_once(backend: Backend) -> None:
    with backend.open() as store:
        shards = [("s1", 1.0, "1/2", [("t::a", "passed"), ("t::b", "failed")]),
                  ("s2", 2.0, "2/2", [("t::c", "failed")]),
                  ("s2-retry", 9.0, "2/2", [("t::c", "passed")]),
                  ("other", 3.0, None, [("t::d", "passed")])]
        for run_id, started, shard, tests in shards:
            store.begin_run(run(run_id, started, branch="main", run_group="pipe", shard=shard))
            store.add_tests(run_id, [TestRecord(n, o) for n, o in tests])
            store.finish_run(run(run_id, started, ended=started + 1, branch="main", status="complete",
                                 exit_status=int(any(o == "failed" for _, o in tests)), workers=2,
                                 run_group="pipe", shard=shard, success_rate=0.5))
        assert [r.run_id for r in store.group_runs("pipe")] == ["s1", "other", "s2-retry"]
        group = store.get_run("pipe")
        assert group is not None
        assert (group.run_id, group.started, group.ended, group.status, group.branch, group.exit_status, group.workers) == (
            "pipe", 1.0, 10.0, "complete", "main", 1, 6)
        assert group.success_rate == pytest.approx(3 / 4)
        assert [(t.nodeid, t.outcome) for t in store.tests("pipe")] == [
            ("t::a", "passed"), ("t::b", "failed"), ("t::d", "passed"), ("t::c", "passed")]
        assert [o[:2] for o in store.outcomes("pipe")][-1] == ("t::c", "passed")
        # The earlier attempt stays a run of its own: flakiness sees that t::c failed once.
        assert [t.outcome for _, t in store.test_history("t::c")] == ["passed", "failed"]


def test_recent_groups_are_logical_runs_newest_first(backend: Backend) -> None:
    with backend.open() as store:
        for run_id, started, group, branch, status in (
            ("a", 1.0, None, "main", "complete"), ("b1", 2.0, "p", "main", "complete"),
            ("b2", 3.0, "p", "main", "complete"), ("c", 4.0, None, "dev", "complete"),
            ("d", 5.0, None, "main", "running"), ("e", 6.0, None, "main", "incomplete"),
        ):
            store.finish_run(run(run_id, started, run_group=group, branch=branch, status=status))
        shape = lambda groups: [[r.run_id for r in g] for g in groups]  # noqa: E731
        assert shape(store.recent_groups(branch="main")) == [["e"], ["b1", "b2"], ["a"]]
        assert shape(store.recent_groups(branch="main", limit=2)) == [["e"], ["b1", "b2"]]
        assert shape(store.recent_groups()) == [["e"], ["c"], ["b1", "b2"], ["a"]]


def test_trend_queries_count_flaky_slow_and_results(backend: Backend) -> None:
    with backend.open() as store:
        for index in range(3):
            run_id = f"r{index}"
            store.begin_run(run(run_id, float(index)))
            store.add_tests(run_id, [
                TestRecord("t::flaky", "passed", duration=0.1, flaky=index != 1, attempts=2),
                TestRecord("t::slow", "passed", duration=3.0 + index),
                TestRecord("t::skip", "skipped", duration=99.0),
                TestRecord("t::bad", "failed", duration=0.2, category="product", message=f"boom {index}"),
            ])
            store.finish_run(run(run_id, float(index), status="complete"))
        ids = ["r0", "r1", "r2"]
        assert store.flakiest(ids) == [("t::flaky", 2)]
        assert store.slowest(["r2"], limit=2) == [("t::slow", 5.0), ("t::bad", 0.2)]
        assert sorted(store.results(ids, ["t::slow"])) == [
            ("r0", "t::slow", "passed", 3.0, False), ("r1", "t::slow", "passed", 4.0, False),
            ("r2", "t::slow", "passed", 5.0, False)]
        assert sorted(store.labelled_failures()) == [("call", f"boom {i}", "product") for i in range(3)]
        assert store.known_runs(["r1", "nope"]) == {"r1": ("complete", 4)}
        assert store.flakiest([]) == store.slowest([]) == store.results([], ["x"]) == []


def test_summaries_of_runs_killed_before_finishing_are_counted_from_their_tests(backend: Backend) -> None:
    with backend.open() as store:
        store.begin_run(run("killed"))
        store.add_tests("killed", [TestRecord("a", "passed"), TestRecord("b", "error")])
        summary = store.summaries(["killed"])["killed"]
    assert summary.outcomes() == {"passed": 1, "error": 1}
    assert RunSummary.from_json(summary.to_json()) == summary


# -- imports -------------------------------------------------------------------------------


def test_import_run_stores_each_test_exactly_once(backend: Backend) -> None:
    records = passes(5) + [TestRecord("t.py::bad", "failed", message="no", category="product")]
    finished = run("r", 1.0, ended=2.0, status="complete", branch="main")
    with backend.open() as store:
        store.begin_run(run("r", 1.0))
        store.add_tests("r", records[:2])  # what reached the database before it failed
        assert store.import_run(finished, records) == 4
        assert store.import_run(finished, records) == 0
        assert store.tests("r") == records
        assert store.get_run("r") == finished
        assert store.summaries(["r"])["r"].failed == 1


# -- lifecycle -----------------------------------------------------------------------------


def test_a_closed_store_quietly_records_nothing(backend: Backend) -> None:
    store = backend.open()
    store.close()
    store.begin_run(run("r1"))
    store.add_tests("r1", passes(2))
    store.finish_run(run("r1", status="complete"))
    assert store.get_run("r1") is None and store.runs() == [] and store.tests("r1") == []
    assert store.durations() == {} and store.prune(0) == 0 and store.schema_version() == 0
    store.close()
    assert backend.messages == []


def test_runs_left_running_by_dead_sessions_are_marked_incomplete_on_open(backend: Backend) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    here = socket.gethostname()
    with backend.open() as store:
        store.begin_run(run("dead", time.time(), host=here, pid=dead.pid))
        store.begin_run(run("alive", time.time(), host=here, pid=os.getpid()))
        store.begin_run(run("elsewhere", time.time(), host="another-machine", pid=dead.pid))
        store.begin_run(run("ancient", time.time() - 2 * 24 * 3600, host="another-machine", pid=1))
    with backend.open() as store:
        statuses = {r.run_id: r.status for r in store.runs()}
    assert statuses == {"dead": "incomplete", "alive": "running", "elsewhere": "running", "ancient": "incomplete"}


WRITER = """
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from pytest_orchestra.core.records import RunRecord, TestRecord
from tests.pghistory import Backend
backend = Backend({name!r}, {where!r})
writer, runs, tests = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
with backend.open() as store:
    for number in range(runs):
        run_id = f"w{{writer}}-r{{number}}"
        store.begin_run(RunRecord(run_id=run_id, started=time.time()))
        for start in range(0, tests, 50):
            store.add_tests(run_id, [TestRecord(f"t.py::test_{{i}}", "passed", duration=0.001)
                                     for i in range(start, min(start + 50, tests))])
        store.finish_run(RunRecord(run_id=run_id, started=time.time(), status="complete", ended=time.time()))
print("\\n".join(backend.messages))
"""


def _writer(backend: Backend, *args: str) -> "subprocess.Popen[str]":
    source = WRITER.format(root=str(REPO_ROOT), name=backend.name, where=backend.where)
    return subprocess.Popen([sys.executable, "-c", source, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_concurrent_writer_processes_lose_and_double_nothing(backend: Backend) -> None:
    backend.open().close()  # the schema exists before the race, as after any first run
    writers = [_writer(backend, str(number), "3", "200") for number in range(4)]
    for writer in writers:
        out, err = writer.communicate(timeout=180)
        assert writer.returncode == 0, err
        assert out.strip() == ""
    with backend.open() as store:
        runs = store.runs()
        assert len(runs) == 12 and all(r.status == "complete" for r in runs)
        counts = store.known_runs([r.run_id for r in runs])
        assert set(counts.values()) == {("complete", 200)}
        assert all(len({t.nodeid for t in store.tests(r.run_id)}) == 200 for r in runs)


def test_a_killed_session_keeps_its_tests_and_is_marked_incomplete(backend: Backend) -> None:
    backend.open().close()
    source = textwrap.dedent(f"""
        import os, signal, sys, time
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from pytest_orchestra.core.records import RunRecord, TestRecord
        from tests.pghistory import Backend
        store = Backend({backend.name!r}, {backend.where!r}).open()
        store.begin_run(RunRecord(run_id="killed", started=time.time(), host=os.uname().nodename, pid=os.getpid()))
        store.add_tests("killed", [TestRecord("t::done", "passed")])
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    killed = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with backend.open() as store:
        assert store.get_run("killed").status == "incomplete"
        assert [t.nodeid for t in store.tests("killed")] == ["t::done"]
