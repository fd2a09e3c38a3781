"""The columns of the history's two tables and the mapping between rows and records.

Shared by both backends: the SQLite file and the PostgreSQL database hold the
same columns (PostgreSQL adds a per-run ``seq`` to each test row, see
:mod:`pytest_orchestra.history.pgschema`), so a record reads back the same
from either.
"""

from __future__ import annotations

import functools
import json
from typing import Optional, Sequence, Tuple

from pytest_orchestra.core.records import RunRecord, TestRecord

# "commit" and "trigger" are SQL keywords, hence the longer column names.
RUN_COLUMNS: Tuple[str, ...] = (
    "run_id",
    "started",
    "ended",
    "status",
    "git_commit",
    "branch",
    "triggered_by",
    "exit_status",
    "workers",
    "success_rate",
    "gate_passed",
    "host",
    "pid",
    "args",
    "plan",
    "rerun_of",
    "code_state",
    "code_changes",
    "run_group",
    "shard",
)

TEST_COLUMNS: Tuple[str, ...] = (
    "run_id",
    "nodeid",
    "outcome",
    "phase",
    "duration",
    "start",
    "attempts",
    "category",
    "app",
    "matrix",
    "markers",
    "message",
    "location_file",
    "location_line",
    "worker",
    "flaky",
    "quarantined",
    "fingerprint",
)

RUN_SELECT = "SELECT " + ", ".join(f"runs.{name}" for name in RUN_COLUMNS) + " FROM runs"
TEST_FIELDS = ", ".join(f"tests.{name}" for name in TEST_COLUMNS)


def encode_run(run: RunRecord) -> Tuple[object, ...]:
    gate = None if run.gate_passed is None else int(bool(run.gate_passed))
    return (
        run.run_id,
        run.started,
        run.ended,
        run.status,
        run.commit,
        run.branch,
        run.trigger,
        run.exit_status,
        run.workers,
        run.success_rate,
        gate,
        run.host,
        run.pid,
        run.args,
        run.plan,
        run.rerun_of,
        run.code_state,
        run.code_changes,
        run.run_group,
        run.shard,
    )


def decode_run(row: Sequence[object]) -> RunRecord:
    (run_id, started, ended, status, commit, branch, trigger, exit_status, workers, rate, gate,
     host, pid, args, plan, rerun_of, code_state, code_changes, run_group, shard) = row
    return RunRecord(
        run_id=str(run_id),
        started=float(started),  # type: ignore[arg-type]
        ended=None if ended is None else float(ended),  # type: ignore[arg-type]
        status=str(status),
        commit=optional_text(commit),
        branch=optional_text(branch),
        trigger=str(trigger),
        exit_status=None if exit_status is None else int(exit_status),  # type: ignore[call-overload]
        workers=int(workers),  # type: ignore[call-overload]
        success_rate=None if rate is None else float(rate),  # type: ignore[arg-type]
        gate_passed=None if gate is None else bool(gate),
        host=str(host),
        pid=int(pid),  # type: ignore[call-overload]
        args=str(args),
        plan=optional_text(plan),
        rerun_of=optional_text(rerun_of),
        code_state=optional_text(code_state),
        code_changes=optional_text(code_changes),
        run_group=optional_text(run_group),
        shard=optional_text(shard),
    )


def encode_test(run_id: str, test: TestRecord) -> Tuple[object, ...]:
    location_file, location_line = test.location if test.location else (None, None)
    return (
        run_id,
        test.nodeid,
        test.outcome,
        test.phase,
        test.duration,
        test.start,
        test.attempts,
        test.category,
        test.app,
        encode_matrix(tuple(test.matrix.items())),
        encode_markers(tuple(test.markers)),
        test.message,
        location_file,
        location_line,
        test.worker,
        int(test.flaky),
        int(test.quarantined),
        test.fingerprint,
    )


def decode_test(row: Sequence[object]) -> TestRecord:
    (_run_id, nodeid, outcome, phase, duration, start, attempts, category, app,
     matrix, markers, message, location_file, location_line, worker, flaky, quarantined, fingerprint) = row
    location: Optional[Tuple[str, int]] = None
    if location_file is not None:
        line = 0 if location_line is None else int(location_line)  # type: ignore[call-overload]
        location = (str(location_file), line)
    return TestRecord(
        nodeid=str(nodeid),
        outcome=str(outcome),
        phase=str(phase),
        duration=float(duration),  # type: ignore[arg-type]
        start=float(start),  # type: ignore[arg-type]
        attempts=int(attempts),  # type: ignore[call-overload]
        category=optional_text(category),
        app=optional_text(app),
        matrix=dict(_decode_matrix(str(matrix))),
        markers=_decode_markers(str(markers)),
        message=str(message),
        location=location,
        worker=optional_text(worker),
        flaky=bool(flaky),
        quarantined=bool(quarantined),
        fingerprint=optional_text(fingerprint),
    )


# A fresh encoder per json.dumps call with options costs more than the insert
# itself; and a run has few distinct cells and marker sets, so cache them.
to_json = json.JSONEncoder(ensure_ascii=False).encode


@functools.lru_cache(maxsize=1024)
def encode_matrix(items: Tuple[Tuple[str, str], ...]) -> str:
    # Key order is kept: it is the dimension order the cell is shown in.
    return to_json(dict(items))


@functools.lru_cache(maxsize=1024)
def encode_markers(names: Tuple[str, ...]) -> str:
    return to_json(list(names))


#: Most tests have neither a matrix cell nor tracked markers.
EMPTY_MATRIX = to_json({})
EMPTY_MARKERS = to_json([])


@functools.lru_cache(maxsize=1024)
def _decode_matrix(text: str) -> Tuple[Tuple[str, str], ...]:
    # A tuple, so the cached value cannot be changed through one record's dict.
    return tuple((str(key), str(value)) for key, value in json.loads(text).items())


@functools.lru_cache(maxsize=1024)
def _decode_markers(text: str) -> Tuple[str, ...]:
    return tuple(str(name) for name in json.loads(text))


def optional_text(value: object) -> Optional[str]:
    return None if value is None else str(value)
