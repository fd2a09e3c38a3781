"""The shared PostgreSQL history: its URL, its failures (one line, nothing lost), its schema,
the local fallback and the spool. Against a real server started by the tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, List

import pytest

from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.environments.throwaway import ThrowawayPostgres
from pytest_orchestra.history import pgschema
from pytest_orchestra.history.config import HistorySettings, history_settings
from pytest_orchestra.history.factory import open_history, planning_key
from pytest_orchestra.history.fallback import FallbackHistoryStore
from pytest_orchestra.history.location import HistoryUrlError, configured_url, mask_url, parse_history_url
from pytest_orchestra.history.null import NullHistoryStore
from pytest_orchestra.history.postgres import PostgresHistoryStore
from pytest_orchestra.history.spool import Spool
from pytest_orchestra.history.store import HistoryStore
from tests.pghistory import history_server, history_url  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def in_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run where the history lives, as the plugin does: messages name .orchestra/history.db."""
    monkeypatch.chdir(tmp_path)


class Session:
    """What open_history needs of the session's settings."""

    def __init__(self, history: HistorySettings) -> None:
        self.history = history


def settings_for(tmp_path: Path, url: str | None, **values: Any) -> Session:
    environ = {"ORCHESTRA_HISTORY_URL": url} if url else {}
    return Session(history_settings(values or None, base_dir=tmp_path / ".orchestra", local_keep_runs=500,
                                    environ=environ))


def records(count: int, prefix: str = "t.py::test_") -> List[TestRecord]:
    return [TestRecord(f"{prefix}{i}", "passed", duration=0.01) for i in range(count)]


def password_of(url: str) -> str:
    return parse_history_url(url, "history.url").password or ""


# -- the URL -------------------------------------------------------------------------------


def test_the_password_never_shows_in_a_url_as_messages_show_it() -> None:
    url = parse_history_url("postgresql://qa:s3cr%40t@db.example:6543/history?sslmode=require", "history.url")
    assert url.password == "s3cr@t"
    assert url.shown == "postgresql://qa:***@db.example:6543/history?sslmode=require"
    assert url.identity == "postgresql://qa@db.example:6543/history"
    assert mask_url("failed for postgres://u:pw@h/db and sqlite:///x") == "failed for postgres://u:***@h/db and sqlite:///x"


@pytest.mark.parametrize(("text", "message"), [
    ("mysql://qa:hunter22@db/history",
     "ORCHESTRA_HISTORY_URL: expected a postgresql:// URL (the history's shared database), got mysql://qa:***@db/history"),
    ("postgresql://qa:hunter22@db:port/history",
     "ORCHESTRA_HISTORY_URL: not a valid URL (Port could not be cast to integer value as 'port'): "
     "postgresql://qa:***@db:port/history"),
    ("postgresql://qa:hunter22@db/history?colour=blue",
     'ORCHESTRA_HISTORY_URL: not a valid PostgreSQL URL (invalid URI query parameter: "colour"): '
     "postgresql://qa:***@db/history?colour=blue"),
])
def test_a_bad_url_is_one_line_naming_the_setting_without_the_password(text: str, message: str) -> None:
    with pytest.raises(HistoryUrlError) as caught:
        configured_url("postgresql://ignored@db/x", {"ORCHESTRA_HISTORY_URL": text})
    assert str(caught.value) == message
    assert "hunter22" not in str(caught.value)


def test_the_environment_url_wins_over_the_workflow_and_none_means_sqlite() -> None:
    assert configured_url("postgresql://a@h/db", {}).source == "history.url"  # type: ignore[union-attr]
    assert configured_url("postgresql://a@h/db", {"ORCHESTRA_HISTORY_URL": "postgres://b@h/db"}).url == "postgres://b@h/db"  # type: ignore[union-attr]
    assert configured_url(None, {"ORCHESTRA_HISTORY_URL": " "}) is None


# -- opening -------------------------------------------------------------------------------


def test_a_database_that_is_down_refused_or_slow_costs_one_line_each(
    tmp_path: Path, history_server: ThrowawayPostgres, history_url: str
) -> None:
    warnings: List[str] = []
    refused = settings_for(tmp_path, history_server.url(history_url.rsplit("/", 1)[1], password="wrong-password-1"))
    assert open_history(refused, warn=warnings.append) is not None
    assert open_history(refused, warn=warnings.append) is not None  # asked once per session
    down = settings_for(tmp_path, "postgresql://qa:pw-for-nothing@127.0.0.1:1/history")
    assert isinstance(open_history(down, warn=warnings.append), NullHistoryStore)
    missing = settings_for(tmp_path, history_server.url("no_such_database"))
    open_history(missing, warn=warnings.append)
    assert warnings == [
        f"orchestra: history database {refused.history.url.shown} (ORCHESTRA_HISTORY_URL) refused the credentials "  # type: ignore[union-attr]
        '(password authentication failed for user "orchestra"; the password comes from the URL or PGPASSWORD); '
        "this session reads .orchestra/history.db instead",
        "orchestra: history database postgresql://qa:***@127.0.0.1:1/history (ORCHESTRA_HISTORY_URL) is unreachable "
        "(Connection refused); this session reads .orchestra/history.db instead",
        f"orchestra: history database {missing.history.url.shown} (ORCHESTRA_HISTORY_URL) has a setting libpq "  # type: ignore[union-attr]
        f'rejects (database "no_such_database" does not exist); this session reads .orchestra/history.db instead',
    ]
    assert not any("wrong-password-1" in line or history_server.password in line for line in warnings)


def test_a_server_that_stops_answering_is_given_up_on_after_the_timeout(
    tmp_path: Path, history_server: ThrowawayPostgres, history_url: str
) -> None:
    session = settings_for(tmp_path, history_url, timeout=1)
    warnings: List[str] = []
    with open_history(session, warn=warnings.append, record=True) as store:
        store.begin_run(RunRecord(run_id="r", started=1.0))
        history_server.pause()
        try:
            began = time.monotonic()
            store.add_tests("r", records(3))
            store.finish_run(RunRecord(run_id="r", started=1.0, status="complete", ended=2.0))
            waited = time.monotonic() - began
        finally:
            history_server.resume()
    assert waited < 5
    assert len(warnings) == 1 and "failed (no answer within 1 s (history.timeout))" in warnings[0]
    with HistoryStore.open(session.history.local_path) as local:
        assert local.get_run("r").status == "complete"  # type: ignore[union-attr]
        assert len(local.tests("r")) == 3


def test_a_newer_schema_is_refused_in_one_line(tmp_path: Path, history_server: ThrowawayPostgres, history_url: str) -> None:
    PostgresHistoryStore.open(parse_history_url(history_url, "history.url"), timeout=10, on_failure=print).close()
    dbname = history_url.rsplit("/", 1)[1]
    history_server.sql("INSERT INTO schema_version VALUES (9, 0, 'pytest-orchestra 9')", dbname=dbname)
    warnings: List[str] = []
    open_history(settings_for(tmp_path, history_url), warn=warnings.append)
    assert warnings == [
        f"orchestra: history database {mask_url(history_url)} (ORCHESTRA_HISTORY_URL) was written by a newer "
        "pytest-orchestra (schema version 9, this one uses 4); "
        "this session reads .orchestra/history.db instead"
    ]
    assert history_server.query("SELECT count(*) FROM runs", dbname=dbname) == [(0,)]  # nothing dropped


def test_tables_of_another_program_are_refused_not_touched(
    tmp_path: Path, history_server: ThrowawayPostgres, history_url: str
) -> None:
    dbname = history_url.rsplit("/", 1)[1]
    history_server.sql("CREATE TABLE runs (id int)", "INSERT INTO runs VALUES (7)", dbname=dbname)
    warnings: List[str] = []
    open_history(settings_for(tmp_path, history_url), warn=warnings.append)
    assert "holds tables named runs or tests but no pytest-orchestra schema version" in warnings[0]
    assert history_server.query("SELECT id FROM runs", dbname=dbname) == [(7,)]


def test_an_older_schema_is_migrated_in_place_once_by_concurrent_sessions(
    history_server: ThrowawayPostgres, history_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = parse_history_url(history_url, "history.url")
    with PostgresHistoryStore.open(target, timeout=10, on_failure=print) as store:
        store.finish_run(RunRecord(run_id="before", started=1.0, status="complete"))
    # The next version adds a column: every session opening at once must migrate it exactly once.
    monkeypatch.setattr(pgschema, "SCHEMA_VERSION", 5)
    monkeypatch.setitem(pgschema.MIGRATIONS, 4, ("ALTER TABLE runs ADD COLUMN reviewer TEXT",))
    import threading

    errors: List[BaseException] = []

    def open_one() -> None:
        try:
            PostgresHistoryStore.open(target, timeout=30, on_failure=print).close()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    dbname = history_url.rsplit("/", 1)[1]
    assert [row[0] for row in history_server.query("SELECT version FROM schema_version ORDER BY 1", dbname=dbname)] == [4, 5]
    assert history_server.query("SELECT run_id, reviewer FROM runs", dbname=dbname) == [("before", None)]


def test_sessions_creating_a_new_database_at_once_create_it_once(history_url: str) -> None:
    source = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from pytest_orchestra.history.location import parse_history_url
        from pytest_orchestra.history.postgres import PostgresHistoryStore
        store = PostgresHistoryStore.open(parse_history_url({history_url!r}, "history.url"), timeout=60, on_failure=print)
        print(store.schema_version())
    """)
    sessions = [subprocess.Popen([sys.executable, "-c", source], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(5)]
    outputs = [session.communicate(timeout=120) for session in sessions]
    assert [out.strip() for out, _ in outputs] == ["4"] * 5, outputs


def test_nul_characters_are_dropped_where_postgresql_cannot_store_them(history_url: str) -> None:
    with PostgresHistoryStore.open(parse_history_url(history_url, "history.url"), timeout=10, on_failure=print) as store:
        store.begin_run(RunRecord(run_id="r", started=1.0))
        store.add_tests("r", [TestRecord("t::nul", "failed", message="before\x00after")])
        assert store.tests("r")[0].message == "beforeafter"


# -- the fallback and the spool ------------------------------------------------------------


def test_a_failure_mid_run_moves_the_run_to_the_local_file_and_the_next_run_uploads_it_once(
    tmp_path: Path, history_server: ThrowawayPostgres, history_url: str
) -> None:
    session = settings_for(tmp_path, history_url, timeout=5)
    warnings: List[str] = []
    first = records(10, "first::t")
    store = open_history(session, warn=warnings.append, record=True)
    assert isinstance(store, FallbackHistoryStore)
    store.begin_run(RunRecord(run_id="r1", started=1.0, branch="main"))
    store.add_tests("r1", first[:4])
    history_server.stop()
    try:
        store.add_tests("r1", first[4:8])
        store.add_tests("r1", first[8:])
        store.finish_run(RunRecord(run_id="r1", started=1.0, ended=2.0, status="complete", branch="main"))
        assert store.prune(0) == 0  # nothing of the outage run is pruned locally
        assert [t.nodeid for t in store.tests("r1")] == [t.nodeid for t in first]
        store.close()
    finally:
        history_server.restart()
    assert len(warnings) == 1 and warnings[0].startswith(f"orchestra: history database {mask_url(history_url)} failed (")
    assert warnings[0].endswith("this run's records go to .orchestra/history.db and are uploaded by the "
                                "next run that reaches it")
    assert Spool(session.history.spool_dir).pending(session.history.url.identity) == ["r1"]  # type: ignore[union-attr]

    again = settings_for(tmp_path, history_url)
    with open_history(again, warn=warnings.append, record=True) as second:
        second.begin_run(RunRecord(run_id="r2", started=3.0, branch="main"))
        second.add_tests("r2", records(2, "second::t"))
        second.finish_run(RunRecord(run_id="r2", started=3.0, ended=4.0, status="complete", branch="main"))
    assert len(warnings) == 1
    assert Spool(session.history.spool_dir).pending(session.history.url.identity) == []  # type: ignore[union-attr]
    with PostgresHistoryStore.open(again.history.url, timeout=10, on_failure=print) as shared:  # type: ignore[arg-type]
        assert [t.nodeid for t in shared.tests("r1")] == [t.nodeid for t in first]  # the first 4 were not doubled
        assert shared.get_run("r1").status == "complete"  # type: ignore[union-attr]
        assert shared.known_runs(["r1", "r2"]) == {"r1": ("complete", 10), "r2": ("complete", 2)}


def test_runs_recorded_while_the_database_was_down_are_spooled_and_a_live_one_is_left(
    tmp_path: Path, history_url: str
) -> None:
    session = settings_for(tmp_path, "postgresql://qa:pw@127.0.0.1:1/history")
    warnings: List[str] = []
    with open_history(session, warn=warnings.append, record=True) as store:
        store.begin_run(RunRecord(run_id="a", started=1.0))
        store.add_tests("a", records(3))
        store.finish_run(RunRecord(run_id="a", started=1.0, ended=2.0, status="complete"))
    live = open_history(session, warn=warnings.append, record=True)
    live.begin_run(RunRecord(run_id="b-live", started=time.time(), host="somewhere-else"))
    assert len(warnings) == 1 and "is unreachable (Connection refused)" in warnings[0]
    spool = Spool(session.history.spool_dir)
    pending = spool.pending(session.history.url.identity)  # type: ignore[union-attr]
    assert pending == ["a", "b-live"]
    # The same spool, uploaded to a database that answers: the finished run goes, the live one waits.
    from pytest_orchestra.history.spool import upload_pending

    with HistoryStore.open(session.history.local_path) as local, \
            PostgresHistoryStore.open(parse_history_url(history_url, "x"), timeout=10, on_failure=print) as shared:
        local.finish_run(RunRecord(run_id="c", started=6.0, status="complete"))
        spool.add("c", "postgresql://qa@127.0.0.1:1/history")
        spool.add("pruned-meanwhile", "postgresql://qa@127.0.0.1:1/history")
        assert upload_pending(spool, "postgresql://qa@127.0.0.1:1/history", local, shared) == (2, 3)
        assert sorted(shared.known_runs(["a", "c", "b-live"])) == ["a", "c"]
    assert spool.pending("postgresql://qa@127.0.0.1:1/history") == ["b-live"]
    live.close()


def test_readers_during_an_outage_read_the_local_file(tmp_path: Path) -> None:
    session = settings_for(tmp_path, "postgresql://qa:pw@127.0.0.1:1/history")
    with HistoryStore.open(session.history.local_path) as local:
        local.finish_run(RunRecord(run_id="local", started=1.0, status="complete"))
    warnings: List[str] = []
    with open_history(session, warn=warnings.append) as reader:
        assert [run.run_id for run in reader.runs()] == ["local"]
    assert warnings[0].endswith("this session reads .orchestra/history.db instead")


def test_without_a_url_readers_get_nothing_until_the_file_exists(tmp_path: Path) -> None:
    session = settings_for(tmp_path, None)
    assert isinstance(open_history(session), NullHistoryStore)
    assert not session.history.local_path.exists()
    assert isinstance(open_history(session, record=True), HistoryStore)
    assert session.history.keep_runs == 500


def test_the_planning_key_is_the_group_or_the_xdist_session_of_a_shared_history(tmp_path: Path) -> None:
    class Worker:
        workerinput = {"testrunuid": "abc123"}

    shared_env = {"ORCHESTRA_HISTORY_URL": "postgresql://qa@h/db"}
    grouped = Session(history_settings(None, base_dir=tmp_path, local_keep_runs=5, environ=shared_env, group="pipe-9"))
    local = Session(history_settings(None, base_dir=tmp_path, local_keep_runs=5, environ={}, group="pipe-9"))
    shared = settings_for(tmp_path, "postgresql://qa@h/db")
    assert planning_key(Worker(), grouped) == "pipe-9"
    assert planning_key(Worker(), local) is None  # a local file is never written by workers
    assert planning_key(Worker(), shared) == "xdist-abc123"
    assert planning_key(object(), shared) is None
    assert shared.history.keep_runs == 5000


def test_closed_stores_leave_no_thread_behind(history_url: str) -> None:
    import threading

    def ours() -> int:
        return sum(1 for thread in threading.enumerate() if thread.name == "orchestra-history")

    before = ours()
    for _ in range(3):
        PostgresHistoryStore.open(parse_history_url(history_url, "x"), timeout=10, on_failure=print).close()
    deadline = time.monotonic() + 5
    while ours() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ours() == before


READS = [
    lambda s: s.get_run("r"), lambda s: s.get_run("g"), lambda s: s.runs(branch="main"),
    lambda s: s.last_run(branch="main", shard="1/1"), lambda s: s.group_runs("g"), lambda s: s.recent_groups(),
    lambda s: s.summaries(["r"]), lambda s: s.known_runs(["r"]), lambda s: s.tests("r"), lambda s: s.outcomes("g"),
    lambda s: s.test_history("t::a"), lambda s: s.durations(), lambda s: s.flakiest(["r"]), lambda s: s.slowest(["r"]),
    lambda s: s.results(["r"], ["t::a"]), lambda s: s.labelled_failures(), lambda s: s.schema_version(),
]


def test_during_an_outage_the_recorders_store_reads_what_the_local_file_holds(tmp_path: Path) -> None:
    session = settings_for(tmp_path, "postgresql://qa:pw@127.0.0.1:1/history")
    warnings: List[str] = []
    with open_history(session, warn=warnings.append, record=True) as store:
        store.begin_run(RunRecord(run_id="r", started=1.0, branch="main", run_group="g", shard="1/1"))
        store.add_tests("r", [TestRecord("t::a", "failed", category="product", message="no", flaky=True),
                              TestRecord("t::b", "passed", duration=2.0)])
        store.finish_run(RunRecord(run_id="r", started=1.0, ended=3.0, status="complete", branch="main",
                                   run_group="g", shard="1/1"))
        assert store.import_run(RunRecord(run_id="other", started=0.5, status="complete"), []) == 0
        assert store.prune(1) == 0  # the local file keeps reports.history_runs (500)
        with HistoryStore.open(session.history.local_path) as local:
            for read in READS:
                assert read(store) == read(local)
        assert store.location == session.history.url.shown  # type: ignore[union-attr]
    assert len(warnings) == 1


def test_the_null_store_keeps_and_reads_nothing() -> None:
    null = NullHistoryStore()
    null.begin_run(RunRecord(run_id="r", started=1.0))
    null.add_tests("r", records(1))
    null.finish_run(RunRecord(run_id="r", started=1.0))
    assert null.import_run(RunRecord(run_id="r", started=1.0), []) == 0 and null.prune(0) == 0
    assert all(read(null) in (None, [], {}, 0) for read in READS)
    with NullHistoryStore.unusable(Path("x.db"), "why", print) as store:
        assert store.location == "x.db"
