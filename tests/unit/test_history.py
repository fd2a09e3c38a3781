"""The run history store against real SQLite files, real processes and damaged files."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import MISSING, Field, fields, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List

import pytest

from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.history import SCHEMA_VERSION, HistoryStore, NullHistoryStore, recovery, schema
from pytest_orchestra.history import connection as connection_module
from pytest_orchestra.history import store as store_module

REPO_ROOT = Path(__file__).resolve().parents[2]
STAMP = r"\d{8}T\d{6}Z"
HOST = socket.gethostname()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A relative path, as the plugin passes it, so warnings can be checked verbatim."""
    monkeypatch.chdir(tmp_path)
    return Path(".orchestra/history.db")


@pytest.fixture
def warnings() -> List[str]:
    return []


def _default(field: Field[object]) -> object:
    if field.default_factory is not MISSING:
        return field.default_factory()
    return field.default


def open_store(path: Path, warnings: List[str]) -> HistoryStore:
    store = HistoryStore.open(path, warn=warnings.append)
    assert isinstance(store, HistoryStore), warnings
    return store


def make_run(run_id: str, started: float = 1_700_000_000.0, **fields: object) -> RunRecord:
    return RunRecord(run_id=run_id, started=started, **fields)  # type: ignore[arg-type]


def make_tests(count: int, prefix: str = "tests/test_app.py::test_") -> List[TestRecord]:
    return [TestRecord(nodeid=f"{prefix}{i}", outcome="passed", duration=0.01) for i in range(count)]


def run_script(source: str, *args: str) -> "subprocess.Popen[str]":
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(source), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def corrupt_warning(path: Path, reason: str) -> str:
    return (
        f"orchestra: history database {re.escape(str(path))} is corrupt \\({re.escape(reason)}\\); "
        f"moved it to {re.escape(str(path))}\\.corrupt-{STAMP} and started a new one"
    )


def moved_path(message: str) -> Path:
    match = re.search(r"moved it to (\S+?)(?: and started a new one|;)", message)
    assert match, message
    return Path(match.group(1))


# -- round trips -------------------------------------------------------------


def test_every_field_of_a_run_and_its_tests_reads_back(db: Path, warnings: List[str]) -> None:
    started = RunRecord(
        run_id="2026-11-22T03:15:00-ab12",
        started=1_763_781_300.25,
        commit="0123456789abcdef0123456789abcdef01234567",
        branch="feature/matrix",
        trigger="ci",
        workers=4,
        host="builder-7",
        pid=4242,
        args="-n 4 --orchestra-gate=strict",
        plan="nightly",
        rerun_of="2026-11-21T03:15:00-cd34",
        run_group="github-8812345678",
        shard="test 2/4",
    )
    full = TestRecord(
        nodeid="tests/test_login.py::test_login[role=Guest-edition=pro]",
        outcome="failed",
        phase="setup",
        duration=1.5,
        start=1_763_781_301.5,
        attempts=3,
        category="regression",
        app="portal",
        matrix={"role": "Guest", "edition": "pro"},
        markers=("slow", "smoke"),
        message="AssertionError: expected 'Grüße' ≠ 'hello'",
        location=("tests/test_login.py", 42),
        worker="gw1",
        flaky=True,
        quarantined=True,
        fingerprint="3f2a9c1d0b7e",
    )
    bare = TestRecord(nodeid="tests/test_login.py::test_logout", outcome="passed")
    with open_store(db, warnings) as store:
        store.begin_run(started)
        store.add_tests(started.run_id, [full, bare])
        assert store.get_run(started.run_id) == started

        finished = replace(
            started, ended=1_763_781_400.0, status="complete", exit_status=1,
            success_rate=0.5, gate_passed=False, workers=3,
            code_state="0123456789abcdef0123456789abcdef01234567+9f86d081884c7d65",
            code_changes='{"src/app.py": "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"}',
        )
        store.finish_run(finished)

    # A field added to a record must be stored too: the samples set every one.
    for sample in (finished, full):
        unset = [f.name for f in fields(sample) if getattr(sample, f.name) == _default(f)]
        assert unset == [], f"{type(sample).__name__} sample leaves {unset} at the default"

    with open_store(db, warnings) as store:
        assert store.get_run(started.run_id) == finished
        assert store.tests(started.run_id) == [full, bare]
        assert store.tests(started.run_id)[0].cell == "role=Guest,edition=pro"
    assert warnings == []


def test_passes_that_differ_from_a_plain_pass_in_one_field_read_back_in_order(db: Path, warnings: List[str]) -> None:
    # Plain passes take a shorter insert; each record here differs from one in a single
    # field, so a field the short insert wrongly fixes would read back changed.
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
    ]
    records = [replace(plain, nodeid=f"t.py::plain{i}") if i % 2 == 0 else variants[i // 2]
               for i in range(2 * len(variants))]
    with open_store(db, warnings) as store:
        store.begin_run(make_run("r"))
        store.add_tests("r", records)
        assert store.tests("r") == records
    assert warnings == []


def test_finish_run_changes_only_the_end_fields(db: Path, warnings: List[str]) -> None:
    with open_store(db, warnings) as store:
        store.begin_run(make_run("r1", commit="abc", branch="main", args="-x"))
        store.finish_run(
            make_run("r1", commit="other", branch="other", args="-k", ended=5.0,
                     status="interrupted", exit_status=2, gate_passed=True, workers=2)
        )
        run = store.get_run("r1")
    assert run is not None
    assert (run.commit, run.branch, run.args) == ("abc", "main", "-x")
    assert (run.ended, run.status, run.exit_status, run.gate_passed, run.workers, run.success_rate) == (
        5.0, "interrupted", 2, True, 2, None,
    )


def test_finish_run_without_begin_run_still_records_the_run(db: Path, warnings: List[str]) -> None:
    run = make_run("lonely", status="complete", ended=2.0, branch="main")
    with open_store(db, warnings) as store:
        store.finish_run(run)
        assert store.get_run("lonely") == run
        assert store.get_run("missing") is None


def test_tests_keep_insertion_order_across_batches_and_runs(db: Path, warnings: List[str]) -> None:
    with open_store(db, warnings) as store:
        store.begin_run(make_run("a"))
        store.begin_run(make_run("b"))
        store.add_tests("a", make_tests(3, "z::t"))
        store.add_tests("b", make_tests(2, "b::t"))
        store.add_tests("a", make_tests(2, "a::t"))
        store.add_tests("a", [])
        assert [t.nodeid for t in store.tests("a")] == ["z::t0", "z::t1", "z::t2", "a::t0", "a::t1"]
        assert [t.nodeid for t in store.tests("b")] == ["b::t0", "b::t1"]
        assert store.tests("nope") == []


# -- queries -----------------------------------------------------------------


@pytest.fixture
def populated(db: Path, warnings: List[str]) -> HistoryStore:
    store = open_store(db, warnings)
    plan = [
        ("r1", 100.0, "main", "complete", [("t::a", "passed", 1.0), ("t::b", "failed", 4.0)]),
        ("r2", 200.0, "dev", "complete", [("t::a", "passed", 3.0)]),
        ("r3", 300.0, "main", "interrupted", [("t::a", "failed", 50.0)]),
        ("r4", 400.0, "main", "complete", [("t::a", "passed", 2.0), ("t::b", "skipped", 0.0)]),
        ("r5", 500.0, None, "running", [("t::a", "passed", 9.0)]),
    ]
    for run_id, started, branch, status, tests in plan:
        store.begin_run(make_run(run_id, started, branch=branch, status=status))
        store.add_tests(run_id, [TestRecord(n, o, duration=d) for n, o, d in tests])
    return store


def test_runs_are_listed_newest_first_and_filtered(populated: HistoryStore) -> None:
    ids = lambda runs: [run.run_id for run in runs]  # noqa: E731
    assert ids(populated.runs()) == ["r5", "r4", "r3", "r2", "r1"]
    assert ids(populated.runs(branch="main")) == ["r4", "r3", "r1"]
    assert ids(populated.runs(status="complete")) == ["r4", "r2", "r1"]
    assert ids(populated.runs(branch="main", status="complete", limit=1)) == ["r4"]
    assert ids(populated.runs(limit=0)) == []


def test_runs_started_in_the_same_second_keep_their_insertion_order(db: Path, warnings: List[str]) -> None:
    with open_store(db, warnings) as store:
        for run_id in ("first", "second", "third"):
            store.begin_run(make_run(run_id, 10.0))
        assert [run.run_id for run in store.runs()] == ["third", "second", "first"]


def test_last_run_skips_the_current_run_and_other_statuses(populated: HistoryStore) -> None:
    def last(**kwargs: object) -> str | None:
        run = populated.last_run(**kwargs)  # type: ignore[arg-type]
        return None if run is None else run.run_id

    assert last(branch="main") == "r4"
    assert last(branch="main", exclude="r4") == "r1"
    assert last(branch="main", status="interrupted") == "r3"
    assert last(branch=None) == "r4"
    assert last(branch=None, status="running") == "r5"
    assert last(branch="release") is None


def test_test_history_pairs_each_result_with_its_run_newest_first(populated: HistoryStore) -> None:
    history = populated.test_history("t::a")
    assert [(run.run_id, test.outcome, test.duration) for run, test in history] == [
        ("r5", "passed", 9.0),
        ("r4", "passed", 2.0),
        ("r3", "failed", 50.0),
        ("r2", "passed", 3.0),
        ("r1", "passed", 1.0),
    ]
    assert [run.run_id for run, _ in populated.test_history("t::a", limit=2)] == ["r5", "r4"]
    assert populated.test_history("t::unknown") == []


def test_durations_are_medians_over_recent_complete_runs_without_skips(populated: HistoryStore) -> None:
    # r3 (interrupted) and r5 (running) do not count; t::b was skipped in r4.
    assert populated.durations() == {"t::a": 2.0, "t::b": 4.0}
    assert populated.durations(limit_runs=1) == {"t::a": 2.0}
    assert populated.durations(limit_runs=2) == {"t::a": 2.5}


def test_prune_drops_the_oldest_finished_runs_and_their_tests(populated: HistoryStore) -> None:
    assert populated.prune(keep_runs=2) == 3
    assert [run.run_id for run in populated.runs()] == ["r5", "r4"]
    assert populated.tests("r1") == []
    assert [run.run_id for run, _ in populated.test_history("t::a")] == ["r5", "r4"]
    assert populated.prune(keep_runs=2) == 0
    # A run that is still going is never pruned, even when nothing is to be kept.
    assert populated.prune(keep_runs=0) == 1
    assert [run.run_id for run in populated.runs()] == ["r5"]
    with pytest.raises(ValueError, match="keep_runs must be 0 or more, not -1"):
        populated.prune(keep_runs=-1)


# -- file format and speed ---------------------------------------------------


def test_database_is_in_wal_mode_with_version_and_indexes(db: Path, warnings: List[str]) -> None:
    open_store(db, warnings).close()
    raw = sqlite3.connect(db)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        indexed = {
            raw.execute(f"PRAGMA index_info({name})").fetchone()[2]
            for (name,) in raw.execute("SELECT name FROM pragma_index_list('tests')")
        }
    finally:
        raw.close()
    assert {"run_id", "nodeid"} <= indexed


def _writer_holding(path: Path) -> sqlite3.Connection:
    """A session writing to a rollback-journal file, as while another session creates it."""
    _sql(path, "PRAGMA journal_mode = DELETE")
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM runs")
    return writer


def test_switching_to_wal_waits_for_a_session_still_writing(db: Path, warnings: List[str]) -> None:
    open_store(db, []).close()
    writer = _writer_holding(db)
    release = threading.Timer(0.2, lambda: writer.execute("COMMIT"))
    release.start()
    began = time.perf_counter()
    try:
        open_store(db, warnings).close()
    finally:
        release.join()
        writer.close()
    assert time.perf_counter() - began >= 0.15
    assert warnings == []
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    raw.close()


def test_a_session_writing_past_the_timeout_gives_a_null_store(
    db: Path, warnings: List[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    open_store(db, []).close()
    monkeypatch.setattr(connection_module, "BUSY_TIMEOUT_SECONDS", 0.1)
    writer = _writer_holding(db)
    try:
        store = HistoryStore.open(db, warn=warnings.append)
    finally:
        writer.close()
    assert isinstance(store, NullHistoryStore)
    assert warnings == [
        "orchestra: cannot use history database .orchestra/history.db (database is locked); "
        "run history is not recorded"
    ]


def test_an_empty_file_is_set_up_as_a_new_database(db: Path, warnings: List[str]) -> None:
    db.parent.mkdir()
    db.touch()
    with open_store(db, warnings) as store:
        store.begin_run(make_run("r1"))
        assert [run.run_id for run in store.runs()] == ["r1"]
    assert warnings == []


def test_five_thousand_rows_are_written_and_reopened_quickly(db: Path, warnings: List[str]) -> None:
    records = [
        TestRecord(
            nodeid=f"tests/test_big.py::test_case[role=Guest-{i}]",
            outcome="passed",
            duration=0.01,
            matrix={"role": "Guest", "edition": "pro"},
            markers=("smoke",),
            location=("tests/test_big.py", i),
        )
        for i in range(5000)
    ]
    with open_store(db, warnings) as store:
        store.begin_run(make_run("big"))
        began = time.perf_counter()
        store.add_tests("big", records)
        # Generous bound against slow CI; a commit per row takes several times this.
        assert time.perf_counter() - began < 0.5
    began = time.perf_counter()
    store = open_store(db, warnings)
    assert time.perf_counter() - began < 0.2
    with store:
        assert len(store.tests("big")) == 5000


# -- concurrency and crashes -------------------------------------------------

WRITER = """
    import os, socket, sys, time
    from pathlib import Path
    from pytest_orchestra.history import HistoryStore
    from pytest_orchestra.core.records import RunRecord, TestRecord

    path, run_id, start_at = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    while time.time() < start_at:
        time.sleep(0.002)
    store = HistoryStore.open(path)
    run = RunRecord(run_id, time.time(), host=socket.gethostname(), pid=os.getpid())
    store.begin_run(run)
    for batch in range(8):
        store.add_tests(run_id, [
            TestRecord(f"tests/test_{run_id}.py::test_{batch}_{i}", "passed", duration=0.001)
            for i in range(60)
        ])
        store.durations()
        time.sleep(0.02)
    run.status, run.ended, run.exit_status = "complete", time.time(), 0
    store.finish_run(run)
    store.close()
"""


def test_two_sessions_writing_at_once_lose_nothing(db: Path, warnings: List[str]) -> None:
    start_at = time.time() + 0.8
    writers = [run_script(WRITER, str(db.resolve().parent / db.name), name, str(start_at))
               for name in ("left", "right")]
    # A third writer holds the lock for a while: the sessions must wait, not fail.
    db.parent.mkdir(exist_ok=True)
    while time.time() < start_at + 0.1:
        time.sleep(0.01)
    blocker = sqlite3.connect(db, timeout=30, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    time.sleep(0.3)
    blocker.execute("COMMIT")
    blocker.close()
    results = [writer.communicate(timeout=60) for writer in writers]

    assert [writer.returncode for writer in writers] == [0, 0], results
    assert [stderr for _, stderr in results] == ["", ""]
    with open_store(db, warnings) as store:
        for name in ("left", "right"):
            run = store.get_run(name)
            assert run is not None and run.status == "complete"
            assert [t.nodeid for t in store.tests(name)] == [
                f"tests/test_{name}.py::test_{batch}_{i}" for batch in range(8) for i in range(60)
            ]
    raw = sqlite3.connect(db)
    owners = [row[0] for row in raw.execute("SELECT run_id FROM tests ORDER BY id")]
    raw.close()
    # The batches really alternated: each session wrote between two of the other's batches.
    assert owners.index("left") < len(owners) - 1 - owners[::-1].index("right")
    assert owners.index("right") < len(owners) - 1 - owners[::-1].index("left")


CREATOR = """
    import os, sys, time
    from pathlib import Path
    from pytest_orchestra.history import HistoryStore
    from pytest_orchestra.core.records import RunRecord

    folder, start_at = Path(sys.argv[1]), float(sys.argv[2])
    for number in range(25):
        # Meet the other sessions again before each file, to race on every creation.
        while time.time() < start_at + number * 0.03:
            time.sleep(0.001)
        store = HistoryStore.open(folder / f"history-{number}.db")
        store.begin_run(RunRecord(f"run-{os.getpid()}", time.time()))
        store.close()
"""


def test_sessions_creating_the_same_new_database_do_not_trip_over_each_other(tmp_path: Path) -> None:
    start_at = time.time() + 0.6
    creators = [run_script(CREATOR, str(tmp_path), str(start_at)) for _ in range(3)]
    results = [creator.communicate(timeout=60) for creator in creators]

    assert [stderr for _, stderr in results] == ["", "", ""]
    for number in range(25):
        with open_store(tmp_path / f"history-{number}.db", []) as store:
            assert sorted(run.run_id for run in store.runs()) == sorted(
                f"run-{creator.pid}" for creator in creators
            )
    assert sorted(path.name for path in tmp_path.iterdir() if "corrupt" in path.name) == []


CRASHER = """
    import os, socket, sys, time
    from pathlib import Path
    from pytest_orchestra.history import HistoryStore
    from pytest_orchestra.core.records import RunRecord, TestRecord

    store = HistoryStore.open(Path(sys.argv[1]))
    store.begin_run(RunRecord("doomed", time.time(), host=socket.gethostname(), pid=os.getpid()))
    for batch in range(3):
        store.add_tests("doomed", [TestRecord(f"t.py::test_{batch}_{i}", "passed") for i in range(50)])
    print("ready", flush=True)
    time.sleep(60)
"""


def test_a_killed_session_keeps_its_tests_and_is_marked_incomplete(db: Path, warnings: List[str]) -> None:
    crasher = run_script(CRASHER, str(db.resolve().parent / db.name))
    assert crasher.stdout is not None
    assert crasher.stdout.readline() == "ready\n"

    with open_store(db, warnings) as store:
        run = store.get_run("doomed")
        assert run is not None and run.status == "running"  # its process is alive

    crasher.kill()
    crasher.communicate(timeout=10)
    with open_store(db, warnings) as store:
        run = store.get_run("doomed")
        assert run is not None
        assert (run.status, run.ended, run.pid) == ("incomplete", None, crasher.pid)
        assert len(store.tests("doomed")) == 150
    assert warnings == []


def test_stale_running_runs_are_marked_incomplete_on_open(db: Path, warnings: List[str]) -> None:
    finished_child = subprocess.Popen([sys.executable, "-c", "pass"])
    finished_child.wait()
    dead_pid = finished_child.pid
    now = time.time()
    with open_store(db, warnings) as store:
        store.begin_run(make_run("alive", now, host=HOST, pid=os.getpid()))
        store.begin_run(make_run("dead", now, host=HOST, pid=dead_pid))
        store.begin_run(make_run("no-pid", now, host=HOST, pid=0))
        store.begin_run(make_run("old", now - 25 * 3600, host=HOST, pid=os.getpid()))
        store.begin_run(make_run("elsewhere", now, host="another-host", pid=dead_pid))
        store.begin_run(make_run("done", now - 25 * 3600, host=HOST, pid=dead_pid, status="complete"))
    with open_store(db, warnings) as store:
        statuses = {run.run_id: run.status for run in store.runs()}
    assert statuses == {
        "alive": "running",
        "dead": "incomplete",
        "no-pid": "incomplete",
        "old": "incomplete",
        "elsewhere": "running",
        "done": "complete",
    }


# -- damaged, foreign and unusable files -------------------------------------


def _healthy_bytes(tmp_path: Path) -> bytes:
    source = tmp_path / "source.db"
    with open_store(source, []) as store:
        for number in range(3):
            store.begin_run(make_run(f"r{number}", float(number)))
            store.add_tests(f"r{number}", make_tests(800))
    return source.read_bytes()


def _sql(path: Path, *statements: str) -> None:
    raw = sqlite3.connect(path, isolation_level=None)
    for statement in statements:
        raw.execute(statement)
    raw.close()


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("garbage", "file is not a database"),
        ("text", "file is not a database"),
        ("truncated", "database disk image is malformed"),
        ("missing table", "table tests is missing"),
        ("missing column", "table runs lacks column pid"),
        ("foreign", "it holds tables but no pytest-orchestra schema version"),
    ],
)
def test_a_damaged_file_is_moved_aside_and_replaced(
    db: Path, tmp_path: Path, warnings: List[str], damage: str, reason: str
) -> None:
    db.parent.mkdir()
    if damage == "garbage":
        db.write_bytes(os.urandom(100) + b"\x00\xff" * 3000)
    elif damage == "text":
        db.write_text("[pytest]\naddopts = -ra\n" * 50)
    elif damage == "truncated":
        healthy = _healthy_bytes(tmp_path)
        db.write_bytes(healthy[: len(healthy) // 2])
    elif damage == "missing table":
        open_store(db, []).close()
        _sql(db, "DROP TABLE tests")
    elif damage == "missing column":
        open_store(db, []).close()
        _sql(db, "ALTER TABLE runs RENAME COLUMN pid TO process")
    else:
        _sql(db, "CREATE TABLE notes (body TEXT)", "INSERT INTO notes VALUES ('mine')")
    original = db.read_bytes()

    with open_store(db, warnings) as store:
        store.begin_run(make_run("fresh"))
        assert [run.run_id for run in store.runs()] == ["fresh"]

    assert len(warnings) == 1
    assert re.fullmatch(corrupt_warning(db, reason), warnings[0]), warnings[0]
    assert moved_path(warnings[0]).read_bytes() == original


def test_sidecar_files_move_with_a_corrupt_database(db: Path, warnings: List[str]) -> None:
    db.parent.mkdir()
    db.write_bytes(b"not sqlite at all" * 100)
    Path(f"{db}-wal").write_bytes(b"stale wal")
    Path(f"{db}-shm").write_bytes(b"stale shm")

    open_store(db, warnings).close()

    moved = moved_path(warnings[0])
    assert Path(f"{moved}-wal").read_bytes() == b"stale wal"
    assert Path(f"{moved}-shm").read_bytes() == b"stale shm"
    assert not Path(f"{db}-wal").exists()


def test_moved_aside_names_never_overwrite_an_earlier_one(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    now = datetime.now(timezone.utc)
    taken = {Path(f"{path}.corrupt-{(now + timedelta(seconds=s)):%Y%m%dT%H%M%SZ}") for s in range(3)}
    for name in taken:
        name.write_text("earlier")
    path.write_text("current")

    moved = recovery.move_aside(path, "corrupt")

    assert re.fullmatch(re.escape(str(path)) + rf"\.corrupt-{STAMP}-1", str(moved))
    assert moved.read_text() == "current"
    assert all(name.read_text() == "earlier" for name in taken)


def test_a_newer_schema_is_refused_in_one_line_and_left_as_it_is(db: Path, warnings: List[str]) -> None:
    with open_store(db, []) as store:
        store.begin_run(make_run("kept"))
    _sql(db, "PRAGMA user_version = 7")

    store = HistoryStore.open(db, warn=warnings.append)

    assert isinstance(store, NullHistoryStore)
    assert warnings == [
        "orchestra: history database .orchestra/history.db was written by a newer pytest-orchestra "
        f"(schema version 7, this one uses {SCHEMA_VERSION}); left as it is and run history is not recorded "
        "(upgrade pytest-orchestra to use it)"
    ]
    assert not list(db.parent.glob("history.db.v*"))
    _sql(db, f"PRAGMA user_version = {SCHEMA_VERSION}")
    with open_store(db, []) as store:
        assert [run.run_id for run in store.runs()] == ["kept"]


def _undo(statement: str) -> str:
    """The statement taking a migration step back (to rebuild what an older version held)."""
    words = statement.split()
    if statement.startswith("ALTER TABLE"):
        return f"ALTER TABLE {words[2]} DROP COLUMN {words[5]}"
    kind = words[1]  # TABLE or INDEX
    return f"DROP {kind} {words[5]}"


@pytest.mark.parametrize("version", [1, 2, 3])
def test_an_older_schema_is_migrated_in_place_keeping_its_runs(
    db: Path, warnings: List[str], version: int
) -> None:
    with open_store(db, []) as store:
        store.begin_run(make_run("old-run", commit="a" * 40))
        store.add_tests("old-run", [TestRecord("t.py::kept", "failed", message="boom")])
    # Take the database back to what that version's tables held.
    steps = [statement for step in range(version, SCHEMA_VERSION) for statement in schema.MIGRATIONS[step]]
    _sql(db, *[_undo(statement) for statement in reversed(steps)], f"PRAGMA user_version = {version}")

    with open_store(db, warnings) as store:
        assert [run.run_id for run in store.runs()] == ["old-run"]
        assert store.get_run("old-run").commit == "a" * 40
        assert [(t.nodeid, t.message, t.fingerprint) for t in store.tests("old-run")] == [("t.py::kept", "boom", None)]
        store.begin_run(make_run("new-run", code_state="b" * 40))
        assert store.get_run("new-run").code_state == "b" * 40

    assert warnings == []
    assert not list(db.parent.glob("history.db.v*"))
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    # The version ledger says when the file reached the current version.
    assert [row[0] for row in raw.execute("SELECT version FROM schema_version")] == [SCHEMA_VERSION]
    raw.close()


def test_an_older_schema_is_moved_aside_with_its_version(
    db: Path, warnings: List[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(db, []) as store:
        store.begin_run(make_run("old-run"))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)

    with open_store(db, warnings) as store:
        assert store.runs() == []

    assert len(warnings) == 1
    assert re.fullmatch(
        rf"orchestra: history database \.orchestra/history\.db has an older schema "
        rf"\(version {SCHEMA_VERSION}, this pytest-orchestra uses {SCHEMA_VERSION + 1}\); moved it to "
        rf"\.orchestra/history\.db\.v{SCHEMA_VERSION}-{STAMP} and started a new one",
        warnings[0],
    ), warnings[0]
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION + 1,)
    raw.close()


def _assert_records_nothing(store: object) -> None:
    assert isinstance(store, (HistoryStore, NullHistoryStore))
    store.begin_run(make_run("r1"))
    store.add_tests("r1", make_tests(2))
    store.finish_run(make_run("r1", status="complete"))
    assert store.get_run("r1") is None
    assert store.runs() == []
    assert store.last_run(branch=None) is None
    assert store.tests("r1") == []
    assert store.test_history("tests/test_app.py::test_0") == []
    assert store.durations() == {}
    assert store.prune(0) == 0
    store.close()


def test_a_folder_that_cannot_be_created_gives_a_null_store(tmp_path: Path, warnings: List[str]) -> None:
    (tmp_path / "blocker").write_text("a file where the folder should be")
    path = tmp_path / "blocker" / ".orchestra" / "history.db"

    store = HistoryStore.open(path, warn=warnings.append)

    assert isinstance(store, NullHistoryStore)
    assert warnings == [
        f"orchestra: cannot use history database {path} (Not a directory); run history is not recorded"
    ]
    with store:
        _assert_records_nothing(store)


def test_a_path_that_sqlite_cannot_open_gives_a_null_store(db: Path, warnings: List[str]) -> None:
    db.mkdir(parents=True)  # a folder where the file should be

    store = HistoryStore.open(db, warn=warnings.append)

    assert isinstance(store, NullHistoryStore)
    assert warnings == [
        "orchestra: cannot use history database .orchestra/history.db "
        "(unable to open database file); run history is not recorded"
    ]
    assert db.is_dir()


def test_the_default_warning_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "blocker").write_text("")
    HistoryStore.open(tmp_path / "blocker" / "history.db")
    assert capsys.readouterr().err == (
        f"orchestra: cannot use history database {tmp_path / 'blocker' / 'history.db'} "
        "(File exists); run history is not recorded\n"
    )


def test_a_file_that_cannot_be_moved_aside_gives_a_null_store(
    db: Path, warnings: List[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db.parent.mkdir()
    db.write_bytes(b"garbage" * 100)

    def refuse(path: Path, label: str) -> Path:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(store_module, "move_aside", refuse)
    store = HistoryStore.open(db, warn=warnings.append)

    assert isinstance(store, NullHistoryStore)
    assert warnings == [
        "orchestra: history database .orchestra/history.db is corrupt (file is not a database) "
        "and could not be moved aside (Permission denied); run history is not recorded"
    ]
    assert db.read_bytes() == b"garbage" * 100


def test_a_file_another_session_already_moved_is_not_reported_twice(
    db: Path, warnings: List[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db.parent.mkdir()
    db.write_bytes(b"garbage" * 100)

    def other_session_was_faster(path: Path, label: str) -> Path:
        recovery.move_aside(path, label)
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(store_module, "move_aside", other_session_was_faster)
    with open_store(db, warnings) as store:
        store.begin_run(make_run("r1"))
        assert store.get_run("r1") is not None
    assert warnings == []


def test_a_file_another_session_replaced_meanwhile_is_left_alone(
    db: Path, tmp_path: Path, warnings: List[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db.parent.mkdir()
    db.write_bytes(b"garbage" * 100)
    replacement = tmp_path / "replacement.db"
    with open_store(replacement, []) as other:
        other.begin_run(make_run("theirs"))
    real_header_problem = recovery.header_problem

    def replaced_right_after_our_check(path: Path) -> object:
        problem = real_header_problem(path)
        if replacement.exists():
            os.replace(replacement, path)  # the other session moved the bad file first
        return problem

    monkeypatch.setattr(store_module, "header_problem", replaced_right_after_our_check)
    with open_store(db, warnings) as store:
        assert [run.run_id for run in store.runs()] == ["theirs"]
    assert warnings == []
    assert list(db.parent.glob("*corrupt*")) == []


# -- failures while a session is running -------------------------------------


def _damage_behind_an_open_store(db: Path, tmp_path: Path, warnings: List[str]) -> HistoryStore:
    db.parent.mkdir()
    healthy = _healthy_bytes(tmp_path)
    db.write_bytes(healthy)
    store = open_store(db, warnings)
    # Overwrite the middle pages in place: the open probes read only the ends.
    page = 4096
    with open(db, "r+b") as handle:
        handle.seek(8 * page)
        handle.write(b"\xff" * (len(healthy) - 16 * page))
    return store


def test_damage_found_during_a_run_moves_the_file_and_stops_recording(
    db: Path, tmp_path: Path, warnings: List[str]
) -> None:
    store = _damage_behind_an_open_store(db, tmp_path, warnings)

    assert store.tests("r1") == []
    store.begin_run(make_run("after"))
    assert store.runs() == []

    assert len(warnings) == 1
    assert re.fullmatch(
        rf"orchestra: history database \.orchestra/history\.db is corrupt \(database disk image is "
        rf"malformed\); moved it to \.orchestra/history\.db\.corrupt-{STAMP}; run history is not "
        rf"recorded for the rest of this run",
        warnings[0],
    ), warnings[0]
    assert not db.exists()
    store.close()


def test_damage_found_during_a_run_is_reported_even_if_the_file_cannot_move(
    db: Path, tmp_path: Path, warnings: List[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _damage_behind_an_open_store(db, tmp_path, warnings)

    def refuse(path: Path, label: str) -> Path:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(store_module, "move_aside", refuse)
    assert store.tests("r1") == []
    assert warnings == [
        "orchestra: history database .orchestra/history.db failed (database disk image is malformed); "
        "run history is not recorded for the rest of this run"
    ]
    assert db.exists()


def test_a_bad_record_rolls_back_its_whole_batch(db: Path, warnings: List[str]) -> None:
    store = open_store(db, warnings)
    store.begin_run(make_run("r1"))
    store.add_tests("r1", make_tests(2) + [TestRecord(nodeid=None, outcome="passed")])  # type: ignore[arg-type]

    assert warnings == [
        "orchestra: history database .orchestra/history.db failed (NOT NULL constraint failed: "
        "tests.nodeid); run history is not recorded for the rest of this run"
    ]
    with open_store(db, warnings) as reopened:
        assert reopened.get_run("r1") is not None
        assert reopened.tests("r1") == []


def test_a_lock_held_past_the_timeout_stops_recording_but_keeps_the_file(
    db: Path, warnings: List[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection_module, "BUSY_TIMEOUT_SECONDS", 0.2)
    store = open_store(db, warnings)
    store.begin_run(make_run("r1"))
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        store.add_tests("r1", make_tests(3))
        store.add_tests("r1", make_tests(3))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    assert warnings == [
        "orchestra: history database .orchestra/history.db failed (database is locked); "
        "run history is not recorded for the rest of this run"
    ]
    _assert_records_nothing(store)
    with open_store(db, warnings) as reopened:
        assert [run.run_id for run in reopened.runs()] == ["r1"]
        assert reopened.tests("r1") == []


def test_a_closed_store_quietly_records_nothing(db: Path, warnings: List[str]) -> None:
    store = open_store(db, warnings)
    store.close()
    store.close()
    _assert_records_nothing(store)
    assert warnings == []
