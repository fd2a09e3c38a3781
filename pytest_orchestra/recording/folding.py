"""Folding pytest's phase reports into one :class:`TestRecord` per test.

Works on the reports the controller receives, so the result is the same with
and without xdist: only plain report attributes are read (no exception
objects, which xdist does not carry).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from pytest_orchestra.core import channel
from pytest_orchestra.core.records import FAILING_OUTCOMES, OUTCOMES, TestRecord

KNOWN_PHASES = frozenset({"setup", "call", "teardown"})

#: Length of the one-line reason kept per test.
MESSAGE_LIMIT = 500


def phase_outcome(report: Any) -> str:
    """The outcome of one phase report in the records' vocabulary."""
    if hasattr(report, "wasxfail"):
        if report.skipped:
            return "xfailed"
        if report.passed:
            return "xpassed"
    if report.passed:
        return "passed"
    if report.skipped:
        return "skipped"
    return "failed" if report.when == "call" else "error"


def one_line_reason(report: Any) -> str:
    """The first meaningful line of why a phase failed or skipped."""
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, lineno, reason)
        reason = str(longrepr[2])
        return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(longrepr)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    # pytest's assertion rewriting puts the useful comparison on the first line;
    # for plain errors the last line is "Type: message".
    line = lines[0] if crash is not None else lines[-1]
    return line[:MESSAGE_LIMIT]


def failure_location(report: Any, rootdir: Path) -> Optional[Tuple[str, int]]:
    """Where a failure was raised, as (rootdir-relative path, 1-based line)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and crash.path:
        path = Path(crash.path)
        try:
            rel = path.resolve().relative_to(rootdir).as_posix()
        except (ValueError, OSError):
            rel = None
        if rel is not None:
            return rel, int(crash.lineno)
    location = getattr(report, "location", None)
    if location and location[1] is not None:
        return str(location[0]), int(location[1]) + 1
    return None


def _new_record(attrs: Dict[str, Any], nodeid: str, when: Any) -> TestRecord:
    """The record a test's first phase report opens (``attrs``: the report's ``__dict__``)."""
    start = float(attrs.get("start") or 0.0)
    worker = attrs.get("worker_id")
    tags = attrs.get(channel.TAGS)
    if not tags:  # most tests: no app, matrix cell or tracked marker
        # Positional: a keyword argument costs the call more than the record's bookkeeping.
        return TestRecord(nodeid, "passed", when, 0.0, start, 1, None, None, None, (), "", None, worker)
    return TestRecord(
        nodeid=nodeid,
        outcome="passed",
        phase=when,
        start=start,
        app=tags.get("app"),
        matrix=dict(tags.get("matrix") or {}),
        markers=tuple(tags.get("markers") or ()),
        worker=worker,
    )


def _decides(outcome: str, current: str, when: str) -> bool:
    """Whether this phase's outcome becomes the test's outcome.

    The worst outcome wins, except that the first failure stays the test's
    failure (a teardown error after a failed call does not hide the call), and
    a passing call is the deciding phase of a passing test.
    """
    if current in FAILING_OUTCOMES:
        return False
    if OUTCOMES.index(outcome) < OUTCOMES.index(current):
        return True
    return when == "call" and outcome == current


class RecordFolder:
    """Accumulates the phase reports of the tests in flight."""


    def __init__(self, rootdir: Path) -> None:
        self.rootdir = rootdir
        self._open: Dict[str, Tuple[TestRecord, List[Any]]] = {}

    def add(self, report: Any) -> Optional[Tuple[TestRecord, List[Any]]]:
        """Take one phase report; return the finished record after its teardown."""
        finished: List[Tuple[TestRecord, List[Any]]] = []
        self.add_all((report,), lambda record, reports: finished.append((record, reports)))
        return finished[0] if finished else None

    def add_all(self, reports: Iterable[Any], finish: Callable[[TestRecord, List[Any]], Any]) -> None:
        """Take phase reports in the order they were logged; ``finish(record, its reports)`` after its teardown.

        Runs once for every phase of every test, so the passing phase is kept short.
        """
        open_entries = self._open
        last_location: Any = None
        last_nodeid = ""
        for report in reports:
            # Plain attributes are read from the report's __dict__: a report carries about a
            # dozen, and most it is asked about (wasxfail, worker_id, orchestra_*) are absent.
            attrs = report.__dict__
            location = attrs.get("location")
            if location is not None and location is last_location:
                # The same item's next phase: pytest hands every report of an item that
                # item's one (cached) location tuple, and ``nodeid`` is a computed property.
                nodeid = last_nodeid
            else:
                nodeid = last_nodeid = report.nodeid
                last_location = location
            when = attrs.get("when")
            entry = open_entries.get(nodeid)
            if entry is None:
                entry = open_entries[nodeid] = (_new_record(attrs, nodeid, when), [])
            record, phase_reports = entry
            phase_reports.append(report)
            record.duration += attrs.get("duration") or 0.0
            outcome = attrs.get("outcome")
            if outcome == "rerun":
                # An attempt that a retry replaced: it counts in time, not in outcome.
                continue
            if outcome == "passed" and "wasxfail" not in attrs:
                if when == "call" and record.outcome == "passed":
                    record.phase = "call"
            else:
                self._fold_phase(record, report, when)
            if when == "teardown":
                del open_entries[nodeid]
                attempts = attrs.get(channel.ATTEMPTS)
                if attempts:
                    record.attempts = int(attempts)
                    record.flaky = bool(attrs.get(channel.PASSED_ON_RETRY, False))
                finish(record, phase_reports)

    def _fold_phase(self, record: TestRecord, report: Any, when: str) -> None:
        outcome = phase_outcome(report)
        if _decides(outcome, record.outcome, when):
            record.outcome = outcome
            # xdist reports a crashed worker's test with the phase "???".
            record.phase = when if when in KNOWN_PHASES else "crash"
            record.message = one_line_reason(report)
            if outcome in FAILING_OUTCOMES:
                record.location = failure_location(report, self.rootdir)

    def drain(self) -> List[Tuple[TestRecord, List[Any]]]:
        """Records of tests whose teardown never came (a crashed worker, an interrupt)."""
        entries = list(self._open.values())
        self._open.clear()
        return entries


def collection_error_record(report: Any, rootdir: Path) -> TestRecord:
    """A record for a collector that failed (an import error, a bad marker...)."""
    nodeid = report.nodeid or str(getattr(report, "fspath", "") or "<collection>")
    return TestRecord(
        nodeid=nodeid,
        outcome="error",
        phase="collect",
        message=one_line_reason(report),
        location=failure_location(report, rootdir),
    )
