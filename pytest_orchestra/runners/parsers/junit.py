"""JUnit XML, as Surefire, Jest (jest-junit), Node's ``--test-reporter=junit``,
go-junit-report and pytest's ``--junitxml`` write it.

The root is ``<testsuites>`` or a single ``<testsuite>``; suites may nest
(Node writes a ``describe`` block as a nested suite, and top-level tests
straight under ``<testsuites>``). A case's outcome is its first child among
``failure``, ``error`` and ``skipped``; none means passed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import List, Optional

from pytest_orchestra.runners.cases import (
    CaseResult,
    ParsedReport,
    ReportError,
    clip,
    qualified,
    unique_ids,
)

#: Class names that say nothing about the case (Node writes "test" for every case).
GENERIC_CLASSNAMES = frozenset({"", "test"})

ROOTS = ("testsuites", "testsuite")
#: Messages that say nothing beyond the outcome: the element's text says more.
GENERIC_MESSAGES = frozenset({"", "true", "failed", "skipped", "error"})


def parse(data: bytes, *, source: str = "report") -> ParsedReport:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ReportError(f"{source} is not well-formed XML ({exc})") from None
    if _local(root.tag) not in ROOTS:
        raise ReportError(f"{source} is not a JUnit XML report (root element <{_local(root.tag)}>)")
    cases: List[CaseResult] = []
    if _local(root.tag) == "testsuite":
        root = _wrap(root)
    _walk(root, [], cases)
    return ParsedReport(unique_ids(cases))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _wrap(suite: ET.Element) -> ET.Element:
    wrapper = ET.Element("testsuites")
    wrapper.append(suite)
    return wrapper


def _walk(element: ET.Element, suites: List[str], cases: List[CaseResult]) -> None:
    for child in element:
        tag = _local(child.tag)
        if tag == "testsuite":
            _walk(child, suites + [child.get("name", "")], cases)
        elif tag == "testcase":
            cases.append(_case(child, suites))


def _case(element: ET.Element, suites: List[str]) -> CaseResult:
    name = element.get("name", "")
    classname = element.get("classname", "")
    # Node's class name is always "test"; its describe blocks are the nested suites.
    qualifier = ".".join(s for s in suites if s) if classname in GENERIC_CLASSNAMES else classname
    outcome, message, details = "passed", "", ""
    for child in element:
        tag = _local(child.tag)
        if tag in ("failure", "error", "skipped"):
            outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
            message, details = _message(child, element), clip(child.text)
            break
    output = "\n".join(
        text for text in (_child_text(element, "system-out"), _child_text(element, "system-err")) if text
    )
    return CaseResult(
        id=qualified(qualifier, name),
        outcome=outcome,
        name=name,
        suite=qualifier,
        duration=_seconds(element.get("time")),
        message=message,
        details=details,
        output=clip(output),
        file=element.get("file") or None,
        line=_line(element.get("line")),
    )


def _message(result: ET.Element, case: ET.Element) -> str:
    message = (result.get("message") or case.get(_local(result.tag)) or "").strip()
    if message.lower() in GENERIC_MESSAGES:  # Node: message="true" for todo; go-junit-report: "Failed"
        text = (result.text or "").strip()
        message = text.splitlines()[0] if text else (result.get("type") or message)
    kind = result.get("type") or ""
    one_line = " ".join(message.splitlines()[0].split()) if message else ""
    if kind and kind not in ("skipped", "pytest.skip", "pytest.xfail") and "." in kind and not one_line.startswith(kind):
        one_line = f"{kind}: {one_line}"  # Surefire: type="java.lang.AssertionError"
    return one_line[:500]


def _child_text(element: ET.Element, tag: str) -> str:
    for child in element:
        if _local(child.tag) == tag and child.text and child.text.strip():
            return child.text.strip("\n")
    return ""


def _seconds(text: Optional[str]) -> float:
    if not text:
        return 0.0
    try:
        return max(0.0, float(text.replace(",", "")))
    except ValueError:
        return 0.0


def _line(text: Optional[str]) -> Optional[int]:
    try:
        return int(text) if text else None
    except ValueError:
        return None
