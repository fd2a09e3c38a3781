"""TAP (Test Anything Protocol, versions 12 to 14), raw or as ``prove`` prints it.

A raw stream gives one case per test line. ``prove -v`` prints a header per
file (``t/basic.t .. ``) before that file's stream: cases are then named
``t/basic.t: description``. Plain ``prove`` prints only one status per file
(``t/other.t .. ok``, ``t/db.t .. skipped: no database``, ``Failed 1/4
subtests``): each file becomes one case.

Diagnostics (``# ...``) and YAML blocks after a test line are its details;
indented lines (subtests) before a test line are its output. ``not ok ... #
TODO`` counts as skipped, ``# SKIP`` as skipped. A stream that ends before its
plan, or bails out, is reported as a problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Optional

from pytest_orchestra.runners.cases import (
    CaseResult,
    ParsedReport,
    ReportError,
    clip,
    unique_ids,
)

TEST_LINE = re.compile(r"^(not )?ok\b(?:\s+(\d+))?\s*(?:-\s*)?(.*)$")
DIRECTIVE = re.compile(r"(?<!\\)#\s*(skip|todo)\S*\s*(.*)$", re.IGNORECASE)
PLAN = re.compile(r"^1\.\.(\d+)\s*(?:#\s*(.*))?$")
BAIL_OUT = re.compile(r"^Bail out!\s*(.*)$")
PROVE_BAIL = re.compile(r"^Bailout called\.\s+Further testing stopped:\s*(.*)$")
HEADER = re.compile(r"^(\S+) \.{2,} ?(.*)$")
DUBIOUS = re.compile(r"^(Dubious, .*|Failed \d+/\d+ subtests.*|No subtests run.*)$")
AT_LINE = re.compile(r"#\s+at (\S+) line (\d+)\.")
NOT_TAP_STARTS = ("ok", "not", "#", "1..")
DIAGNOSIS_NOISE = ("Failed test", "Failed (TODO)", "at ", "Looks like", "Subtest:", "---", "severity:")


@dataclass
class _File:
    name: str
    cases: List[CaseResult] = field(default_factory=list)
    planned: Optional[int] = None
    skip_all: Optional[str] = None
    status: str = ""
    failures: List[str] = field(default_factory=list)
    pending_output: List[str] = field(default_factory=list)
    in_yaml: bool = False


def parse(data: bytes, *, source: str = "report") -> ParsedReport:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    files: List[_File] = [_File("")]
    problems: List[str] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        current = files[-1]
        header = HEADER.match(line)
        if header and not line.startswith(NOT_TAP_STARTS):
            if line.startswith("Test Summary Report"):
                break
            files.append(_File(header.group(1), status=header.group(2).strip()))
            continue
        if line.startswith("Test Summary Report"):
            break
        _feed(current, raw, line, problems)
    cases: List[CaseResult] = []
    saw_tap = any(f.cases or f.planned is not None or f.skip_all is not None for f in files)
    for entry in files:
        cases.extend(_finish(entry, problems))
    if not cases and not saw_tap:
        raise ReportError(f"{source} holds no TAP: no test lines, plan or prove file status")
    return ParsedReport(unique_ids(cases), problems)


def _feed(current: _File, raw: str, line: str, problems: List[str]) -> None:
    if current.in_yaml:
        if line.strip() == "...":
            current.in_yaml = False
        elif current.cases:
            _add_detail(current.cases[-1], line.strip())
        return
    stripped = line.lstrip()
    if raw[:1] in (" ", "\t") and stripped:
        if stripped == "---" and current.cases:
            current.in_yaml = True
        else:
            current.pending_output.append(stripped)
        return
    test = TEST_LINE.match(line)
    if test and not (line == "ok" and current.planned is not None and len(current.cases) >= current.planned):
        current.cases.append(_case(current, test))
        return
    if line == "ok":  # prove -v: the file's own status after its stream
        current.status = "ok"
        return
    plan = PLAN.match(line)
    if plan:
        current.planned = int(plan.group(1))
        if current.planned == 0:
            current.skip_all = _skip_reason(plan.group(2) or "") or "no tests planned"
        return
    bail = BAIL_OUT.match(line) or PROVE_BAIL.match(line)
    if bail:
        problems.append(f"bail out{' in ' + current.name if current.name else ''}: {bail.group(1).strip()}")
        return
    if line.startswith("#") and current.cases:
        _add_detail(current.cases[-1], line)
        return
    if DUBIOUS.match(line.strip()):
        current.failures.append(line.strip())


def _skip_reason(comment: str) -> str:
    match = re.match(r"skip\S*\s*(.*)$", comment.strip(), re.IGNORECASE)
    return match.group(1).strip() if match else ""


def _case(current: _File, match: "re.Match[str]") -> CaseResult:
    failed, number, rest = match.group(1) is not None, match.group(2), match.group(3)
    description, outcome, message = rest, "failed" if failed else "passed", ""
    directive = DIRECTIVE.search(rest)
    if directive:
        description = rest[: directive.start()].rstrip()
        kind, reason = directive.group(1).lower(), directive.group(2).strip()
        if kind == "skip":
            outcome, message = "skipped", reason or "skipped"
        elif failed:  # a TODO test that fails is expected to
            outcome, message = "skipped", f"TODO: {reason}".rstrip(": ")
    description = description.replace("\\#", "#").strip() or f"test {number or len(current.cases) + 1}"
    output = "\n".join(current.pending_output)
    current.pending_output = []
    return CaseResult(
        id=f"{current.name}: {description}" if current.name else description,
        outcome=outcome,
        name=description,
        suite=current.name,
        message=message,
        output=clip(output),
        file=current.name or None,
    )


def _add_detail(case: CaseResult, line: str) -> None:
    case.details = f"{case.details}\n{line}" if case.details else line
    at = AT_LINE.search(line)
    if at and case.line is None:
        case.file, case.line = at.group(1), int(at.group(2))


def _diagnosis(details: str) -> str:
    """The informative diagnostic lines of a failed test, on one line (``got: '2'; expected: '1'``)."""
    kept = []
    for line in details.splitlines():
        text = line.lstrip("#").strip()
        if text.startswith("message:"):  # a TAP 13 YAML block
            return text[len("message:"):].strip().strip("'\"")
        if text and not text.startswith(DIAGNOSIS_NOISE) and ":" in text:
            kept.append(" ".join(text.split()))
    return "; ".join(kept)[:300]


def _finish(entry: _File, problems: List[str]) -> List[CaseResult]:
    for case in entry.cases:
        if case.outcome == "failed" and not case.message:
            case.message = _diagnosis(case.details) or f"not ok: {case.name}"
    label = entry.name or "the TAP stream"
    if entry.planned is not None and len(entry.cases) < entry.planned:
        problems.append(f"{label}: planned {entry.planned} tests, the stream ended after {len(entry.cases)}")
    if not entry.name or entry.cases:
        if entry.name and entry.failures and not any(c.outcome == "failed" for c in entry.cases):
            problems.append(f"{entry.name}: {'; '.join(entry.failures)}")
        return entry.cases
    # Plain prove: one case for the whole file.
    status = entry.status
    if entry.skip_all is not None or status.lower().startswith("skipped"):
        reason = entry.skip_all or status.partition(":")[2].strip() or "skipped"
        return [CaseResult(id=entry.name, outcome="skipped", name=entry.name, message=reason, file=entry.name)]
    if entry.failures:
        return [CaseResult(id=entry.name, outcome="failed", name=entry.name, message=entry.failures[-1],
                           details="\n".join(entry.failures), file=entry.name)]
    if status == "ok" or status.startswith("ok "):
        return [CaseResult(id=entry.name, outcome="passed", name=entry.name, file=entry.name)]
    problems.append(f"{entry.name}: no result (the output ended before the file's status)")
    return [CaseResult(id=entry.name, outcome="error", name=entry.name, file=entry.name,
                       message=f"{entry.name}: no result (the output ended before the file's status)")]
