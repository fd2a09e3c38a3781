"""``python -m pytest_orchestra merge DIR... [--out DIR]``: one report from the shards' reports.

Each DIR is a report folder (holding summary.json and events.jsonl), or a
folder whose ``reports/latest`` or ``.orchestra/reports/latest`` is one. The
tests come back from events.jsonl (one span per test), the runs from
summary.json; the merged run is written with the same writer as any run, so
it has the same summary.json, report.md and events.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.core.records import (
    GateCheck,
    GateVerdict,
    RunRecord,
    RunResult,
    TestRecord,
    success_rate,
)
from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.core.runinfo import new_run_id
from pytest_orchestra.ordering.report import report_section
from pytest_orchestra.reporting.writer import EVENTS_FILE, SUMMARY_FILE, write_reports

_NANOS = 1_000_000_000
_MATRIX_PREFIX = "orchestra.matrix."


class MergeError(OrchestraError, ValueError):
    """A folder that is not a report folder, or a report that cannot be read."""


def find_report_dir(path: Path) -> Path:
    for candidate in (path, path / "reports" / "latest", path / ".orchestra" / "reports" / "latest"):
        if (candidate / SUMMARY_FILE).is_file() and (candidate / EVENTS_FILE).is_file():
            return candidate
    raise MergeError(f"{path}: no report here (expected {SUMMARY_FILE} and {EVENTS_FILE}, or reports/latest/)")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MergeError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise MergeError(f"{path}: not valid JSON ({exc})") from None


def _test_from_span(span: Dict[str, Any], flaky: set, locations: Dict[str, Any]) -> TestRecord:
    attributes = span.get("attributes") or {}
    nodeid = str(attributes.get("test.case.name") or span.get("name"))
    matrix = {
        key[len(_MATRIX_PREFIX):]: str(value) for key, value in attributes.items() if key.startswith(_MATRIX_PREFIX)
    }
    location = locations.get(nodeid)
    return TestRecord(
        nodeid=nodeid,
        outcome=str(attributes.get("orchestra.outcome", "passed")),
        phase=str(attributes.get("orchestra.phase", "call")),
        duration=float(span.get("durationMs", 0.0)) / 1000,
        start=int(span.get("startTimeUnixNano", 0)) / _NANOS,
        attempts=int(attributes.get("orchestra.attempts", 1)),
        category=attributes.get("orchestra.category"),
        app=attributes.get("orchestra.app"),
        matrix=matrix,
        message=str((span.get("status") or {}).get("message", "")),
        location=(str(location[0]), int(location[1])) if location else None,
        flaky=nodeid in flaky,
    )


def read_shard(report_dir: Path) -> Tuple[Dict[str, Any], List[TestRecord]]:
    summary = _read_json(report_dir / SUMMARY_FILE)
    if not isinstance(summary, dict) or not isinstance(summary.get("run"), dict):
        raise MergeError(f"{report_dir / SUMMARY_FILE}: not a pytest-orchestra summary")
    flaky = {entry["nodeid"] for entry in summary.get("retried") or () if entry.get("flaky")}
    locations = {f["nodeid"]: f["location"] for f in summary.get("failures") or () if f.get("location")}
    tests: List[TestRecord] = []
    path = report_dir / EVENTS_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise MergeError(f"{path}: cannot read ({exc.strerror or exc})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            span = json.loads(line)
        except ValueError as exc:
            raise MergeError(f"{path}:{number}: not valid JSON ({exc})") from None
        if span.get("parentSpanId"):
            tests.append(_test_from_span(span, flaky, locations))
    return summary, tests


def merge_reports(report_dirs: Sequence[Path]) -> RunResult:
    """One :class:`RunResult` from the shards' report folders (a test seen twice keeps its last record)."""
    if not report_dirs:
        raise MergeError("merge: name at least one report folder")
    runs: List[Dict[str, Any]] = []
    by_nodeid: Dict[str, TestRecord] = {}
    checks: List[GateCheck] = []
    dependency_skipped: List[Dict[str, Any]] = []
    gates_enabled = False
    for report_dir in report_dirs:
        summary, tests = read_shard(report_dir)
        runs.append(summary["run"])
        dependency_skipped += (summary.get("ordering") or {}).get("dependency_skipped") or []
        for test in tests:
            by_nodeid[test.nodeid] = test
        gate = summary.get("gate") or {}
        if gate.get("enabled"):
            gates_enabled = True
            for check in gate.get("checks") or ():
                checks.append(
                    GateCheck(
                        rule=f"{check.get('rule')} (shard {report_dir.name})",
                        passed=bool(check.get("passed")),
                        expected=str(check.get("expected", "")),
                        actual=str(check.get("actual", "")),
                        detail=str(check.get("detail", "")),
                    )
                )
    tests = list(by_nodeid.values())
    statuses = [run.get("exit_status") for run in runs]
    failing = [status for status in statuses if status not in (0, None)]
    run = RunRecord(
        run_id=new_run_id(),
        started=min(float(run.get("started") or 0) for run in runs),
        ended=max(float(run.get("ended") or run.get("started") or 0) for run in runs),
        status="complete" if all(run.get("status") == "complete" for run in runs) else "incomplete",
        commit=_common(run.get("commit") for run in runs),
        branch=_common(run.get("branch") for run in runs),
        trigger=str(runs[0].get("trigger") or "local"),
        exit_status=failing[0] if failing else 0,
        workers=sum(int(run.get("workers") or 0) for run in runs),
        success_rate=success_rate(t for t in tests if not t.quarantined),
    )
    result = RunResult(
        run=run,
        tests=tests,
        gate=GateVerdict(enabled=gates_enabled, checks=checks),
    )
    result.add_section(report_section({
        "shard": None,
        "merged_shards": [str(d) for d in report_dirs],
        "dependency_skipped": dependency_skipped,
    }))
    run.gate_passed = result.gate.passed if gates_enabled else None
    return result


def durations_of(result: RunResult) -> Dict[str, float]:
    """Seconds per test that ran (skips say nothing about a test's cost), pytest-split's format."""
    return {t.nodeid: round(t.duration, 6) for t in result.tests if t.outcome != "skipped"}


def _common(values: Any) -> Optional[str]:
    distinct = {value for value in values if value}
    return distinct.pop() if len(distinct) == 1 else None


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_orchestra merge",
        description="Combine the report folders of several shards into one summary and report.",
    )
    parser.add_argument("dirs", nargs="+", type=Path, help="report folders (or folders holding .orchestra/)")
    parser.add_argument("--out", type=Path, default=Path(".orchestra/reports/merged"),
                        help="where to write the merged report (default: .orchestra/reports/merged)")
    parser.add_argument("--durations", type=Path, default=None, metavar="FILE",
                        help="also write {nodeid: seconds} of the tests that ran, for the next run's "
                        "shard plan (sharding.durations_file)")
    args = parser.parse_args(list(argv))
    try:
        result = merge_reports([find_report_dir(path) for path in args.dirs])
    except MergeError as exc:
        print(f"python -m pytest_orchestra merge: {exc}", file=sys.stderr)
        return 2
    paths = write_reports(result, args.out, redactor=Redactor.from_environ())
    if args.durations is not None:
        args.durations.parent.mkdir(parents=True, exist_ok=True)
        args.durations.write_text(json.dumps(durations_of(result), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    counts: Dict[str, int] = {}
    for test in result.tests:
        counts[test.outcome] = counts.get(test.outcome, 0) + 1
    described = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "no tests"
    print(f"merged {len(args.dirs)} shard reports: {described} -> {paths.summary.parent}")
    failed = any(test.failed for test in result.tests) or (result.gate.enabled and not result.gate.passed)
    return 1 if failed else 0
