"""Moving history between stores: ``push`` (a local file into a team's database) and ``export``.

A push is idempotent: each run goes through ``import_run``, which stores a
run's tests exactly once, and runs the destination already holds whole are
skipped without reading their tests. An export writes one JSON object per run
(its tests inside) per line, for other tools.
"""

from __future__ import annotations

import json
from typing import IO, Any, Dict, Iterable, List, Optional

from pytest_orchestra.core.plainclass import plainclass
from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.reporting.summary import iso_utc


@plainclass
class PushResult:
    pushed: int = 0
    tests: int = 0
    already: int = 0
    #: Runs still being recorded by a live session: pushed by a later push.
    running: int = 0
    failed: Optional[str] = None


def push(source: Any, destination: Any, *, progress: Any = None) -> PushResult:
    """Copy every run of ``source`` that ``destination`` lacks (or holds in part), oldest first."""
    result = PushResult()
    runs = list(reversed(source.runs()))
    known = destination.known_runs([run.run_id for run in runs])
    counts = source.known_runs([run.run_id for run in runs])
    for run in runs:
        if run.status == "running":
            result.running += 1
            continue
        if known.get(run.run_id) == counts.get(run.run_id):
            result.already += 1
            continue
        added = destination.import_run(run, source.tests(run.run_id))
        failure = getattr(destination, "failure", None)
        if failure is not None:
            result.failed = failure
            break
        result.pushed += 1
        result.tests += added
        if progress is not None:
            progress(run, added)
    return result


def run_document(run: RunRecord, tests: Optional[List[TestRecord]]) -> Dict[str, Any]:
    """A run as one JSON-ready object (with its tests, when given)."""
    document: Dict[str, Any] = {
        "run_id": run.run_id,
        "run_group": run.run_group,
        "shard": run.shard,
        "started": run.started,
        "started_at": iso_utc(run.started),
        "ended": run.ended,
        "ended_at": iso_utc(run.ended),
        "status": run.status,
        "commit": run.commit,
        "branch": run.branch,
        "trigger": run.trigger,
        "exit_status": run.exit_status,
        "workers": run.workers,
        "success_rate": run.success_rate,
        "gate_passed": run.gate_passed,
        "host": run.host,
        "args": run.args,
        "plan": run.plan,
        "rerun_of": run.rerun_of,
        "code_state": run.code_state,
    }
    if tests is not None:
        document["tests"] = [
            {
                "nodeid": test.nodeid,
                "outcome": test.outcome,
                "phase": test.phase,
                "duration": test.duration,
                "start": test.start,
                "attempts": test.attempts,
                "category": test.category,
                "app": test.app,
                "matrix": test.matrix,
                "markers": list(test.markers),
                "message": test.message,
                "location": list(test.location) if test.location else None,
                "worker": test.worker,
                "flaky": test.flaky,
                "quarantined": test.quarantined,
                "fingerprint": test.fingerprint,
            }
            for test in tests
        ]
    return document


def export(store: Any, out: IO[str], runs: Iterable[RunRecord], *, with_tests: bool = True,
           redact: Any = None) -> int:
    """Write ``runs`` (oldest first) as JSON Lines to ``out``; returns how many."""
    written = 0
    for run in runs:
        document = run_document(run, store.tests(run.run_id) if with_tests else None)
        line = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        out.write((redact(line) if redact is not None else line) + "\n")
        written += 1
    return written
