"""TRX, the Visual Studio test results format ``dotnet test --logger trx`` writes.

``<TestRun>`` holds ``<Results>`` (one ``UnitTestResult`` per test, with
``outcome``, ``duration`` and ``Output``: ``StdOut``, ``StdErr``,
``ErrorInfo/Message``, ``ErrorInfo/StackTrace``) and ``<TestDefinitions>``
(``UnitTest/TestMethod`` with the ``className``), joined on ``testId``.
Run-level errors (a crashed test host) are in ``ResultSummary/RunInfos``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional

from pytest_orchestra.runners.cases import (
    CaseResult,
    ParsedReport,
    ReportError,
    clip,
    qualified,
    unique_ids,
)

OUTCOMES: Dict[str, str] = {
    "passed": "passed",
    "passedbutrunaborted": "passed",
    "warning": "passed",
    "completed": "passed",
    "failed": "failed",
    "error": "error",
    "timeout": "error",
    "aborted": "error",
    "notrunnable": "error",
    "disconnected": "error",
    "inprogress": "error",
    "notexecuted": "skipped",
    "inconclusive": "skipped",
    "pending": "skipped",
}

DURATION = re.compile(r"^(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)$")


def parse(data: bytes, *, source: str = "report") -> ParsedReport:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ReportError(f"{source} is not well-formed XML ({exc})") from None
    if _local(root.tag) != "TestRun":
        raise ReportError(f"{source} is not a TRX report (root element <{_local(root.tag)}>)")
    classes = {
        unit.get("id", ""): method.get("className", "")
        for unit in _all(root, "UnitTest")
        for method in _all(unit, "TestMethod")
    }
    cases: List[CaseResult] = []
    results = _first(root, "Results")
    for result in (r for r in (results if results is not None else ()) if _local(r.tag) == "UnitTestResult"):
        cases.append(_case(result, classes.get(result.get("testId", ""), ""), source))
    report = ParsedReport(unique_ids(cases))
    for info in _all(root, "RunInfo"):
        if (info.get("outcome") or "").lower() in ("error", "failed", "warning"):
            text = _text(_first(info, "Text"))
            if text:
                report.problems.append(f"{source}: {' '.join(text.split())[:300]}")
    return report


def _case(result: ET.Element, classname: str, source: str) -> CaseResult:
    name = result.get("testName", "")
    raw_outcome = (result.get("outcome") or "").lower()
    if raw_outcome not in OUTCOMES:
        raise ReportError(f"{source}: test {name!r} has an unknown outcome {result.get('outcome')!r}")
    output = _first(result, "Output")
    message = details = ""
    texts = []
    if output is not None:
        error = _first(output, "ErrorInfo")
        if error is not None:
            message = " ".join(_text(_first(error, "Message")).split())[:500]
            details = clip(_text(_first(error, "StackTrace")))
        texts = [_text(_first(output, tag)) for tag in ("StdOut", "StdErr")]
    outcome = OUTCOMES[raw_outcome]
    if outcome == "error" and not message:
        message = f"outcome {result.get('outcome')}"
    return CaseResult(
        id=qualified(classname, name),
        outcome=outcome,
        name=name,
        suite=classname,
        duration=_duration(result.get("duration")),
        message=message,
        details=details,
        output=clip("\n".join(t for t in texts if t)),
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _all(element: ET.Element, tag: str) -> List[ET.Element]:
    return [e for e in element.iter() if _local(e.tag) == tag]


def _first(element: ET.Element, tag: str) -> Optional[ET.Element]:
    for child in element:
        if _local(child.tag) == tag:
            return child
    return None


def _text(element: Optional[ET.Element]) -> str:
    return (element.text or "").strip("\n") if element is not None else ""


def _duration(text: Optional[str]) -> float:
    """``00:00:01.2345678`` (optionally ``d.hh:mm:ss``) in seconds."""
    match = DURATION.match(text or "")
    if not match:
        return 0.0
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
