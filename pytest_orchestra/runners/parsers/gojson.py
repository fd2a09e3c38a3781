"""``go test -json``: one JSON event a line (``test2json``).

Events carry ``Action`` (``start``, ``run``, ``pause``, ``cont``, ``output``,
``pass``, ``fail``, ``skip``, ``bench``, ``build-output``, ``build-fail``),
``Package``, ``Test`` (absent for package events), ``Elapsed`` and
``Output``. A case is a ``Package``/``Test`` pair named ``package.TestName``
(subtests keep Go's ``TestName/sub`` spelling). A test that started but never
finished (a panic, a killed binary, a cut report) is an error.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Tuple

from pytest_orchestra.runners.cases import (
    CaseResult,
    ParsedReport,
    ReportError,
    clip,
    unique_ids,
)

OUTCOMES = {"pass": "passed", "fail": "failed", "skip": "skipped"}
#: ``    calc_test.go:12: got 3, want 4``: where Go's t.Error/t.Fatal output points.
LOG_LINE = re.compile(r"^\s+([\w./-]+\.go):(\d+): (.*)$")
STATUS_LINE = re.compile(r"^\s*(?:--- |=== )(?:RUN|PASS|FAIL|SKIP|PAUSE|CONT|NAME)\b|^(?:PASS|FAIL|ok)\b")


def parse(data: bytes, *, source: str = "report") -> ParsedReport:
    lines = data.decode("utf-8", errors="replace").splitlines()
    order: List[Tuple[str, str]] = []
    outputs: Dict[Tuple[str, str], List[str]] = {}
    ends: Dict[Tuple[str, str], Dict[str, Any]] = {}
    package_output: Dict[str, List[str]] = {}
    problems: List[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines) and not data.endswith(b"\n"):
                problems.append(f"{source}: the last event is cut short (line {number}): the report is truncated")
                break
            raise ReportError(f"{source}: line {number} is not a go test -json event ({exc.msg})") from None
        if not isinstance(event, dict) or "Action" not in event:
            raise ReportError(f"{source}: line {number} is not a go test -json event (no Action)")
        action, package, test = event["Action"], str(event.get("Package", "")), event.get("Test")
        if not test:
            if action == "output":
                package_output.setdefault(package, []).append(str(event.get("Output", "")))
            elif action in ("fail", "build-fail"):
                package_output.setdefault(package, [])
            continue
        key = (package, str(test))
        if key not in outputs:
            order.append(key)
            outputs[key] = []
        if action == "output":
            outputs[key].append(str(event.get("Output", "")))
        elif action in OUTCOMES:
            ends[key] = event
    cases = [_case(key, outputs[key], ends.get(key), package_output) for key in order]
    unfinished = [c.id for c in cases if c.outcome == "error"]
    if unfinished:
        problems.append(f"{source}: {len(unfinished)} test(s) started but never finished: {', '.join(unfinished[:5])}")
    if not cases and not package_output:
        raise ReportError(f"{source} holds no go test events")
    return ParsedReport(unique_ids(cases), problems)


def _case(key: Tuple[str, str], output: List[str], end: Any, package_output: Dict[str, List[str]]) -> CaseResult:
    package, test = key
    text = "".join(output)
    case = CaseResult(id=f"{package}.{test}" if package else test, outcome="passed", name=test, suite=package,
                      output=clip(text))
    if end is None:
        case.outcome = "error"
        tail = [line for line in "".join(package_output.get(package, [])).splitlines() if line.strip()]
        panic = next((line for line in tail if line.startswith("panic:")), "")
        case.message = panic or f"{test} did not finish: the report ended before its result"
        case.details = clip("\n".join(tail))
        return case
    case.outcome = OUTCOMES[end["Action"]]
    case.duration = float(end.get("Elapsed") or 0.0)
    logs = [m for m in (LOG_LINE.match(line) for line in text.splitlines()) if m]
    if logs:
        case.file, case.line = logs[0].group(1), int(logs[0].group(2))
    if case.outcome != "passed":
        body = [line for line in text.splitlines() if line.strip() and not STATUS_LINE.match(line)]
        case.details = clip("\n".join(body))
        case.message = logs[0].group(3).strip() if logs else (body[0].strip() if body else "")
        if not case.message:
            case.message = f"{test} {'skipped' if case.outcome == 'skipped' else 'failed'}"
    return case
