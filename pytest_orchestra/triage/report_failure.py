"""The :class:`Failure` of a failed test or collect report, as the classifier sees it.

Uses the evidence a worker attached to the report (``orchestra_evidence``)
and falls back to parsing the report's failure text; adds the phase, the
captured output and what the caller knows (markers, app, attempts, context).
No pytest import at run time: reports are read duck-typed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from pytest_orchestra.core import channel
from pytest_orchestra.triage.failure import CAPTURED_LIMIT, Failure, FailureEvidence, cap
from pytest_orchestra.triage.traceback_text import evidence_from_longrepr


def _captured(report: Any) -> str:
    parts = []
    for title, content in getattr(report, "sections", ()) or ():
        if "Captured" in title and content:
            parts.append(f"--- {title} ---\n{content}")
    return cap("\n".join(parts), CAPTURED_LIMIT)


def _phase(report: Any) -> str:
    # CollectReport.when is "collect"; xdist reports a crashed worker's test as "???".
    when = getattr(report, "when", None) or "collect"
    return when if when in ("setup", "call", "teardown", "collect") else "crash"


def failure_from_report(
    report: Any,
    *,
    rootdir: Path,
    markers: Sequence[str] = (),
    app: str | None = None,
    attempts: int = 1,
    passed_on_retry: bool = False,
    context: Mapping[str, str] | None = None,
) -> Failure:
    """The :class:`Failure` of a failed test or collect report.

    Uses the evidence a worker attached (``report.orchestra_evidence``) and
    falls back to parsing ``report.longrepr``.
    """
    longrepr = str(report.longrepr) if report.longrepr is not None else ""
    raw = channel.read(report, channel.EVIDENCE)
    if isinstance(raw, dict):
        evidence: FailureEvidence | None = FailureEvidence.from_dict(raw)
    else:
        evidence = evidence_from_longrepr(longrepr, rootdir=rootdir)
    phase = _phase(report)
    return Failure(
        nodeid=report.nodeid or str(getattr(report, "fspath", "") or "<collection>"),
        phase=phase,
        outcome="failed" if phase == "call" else "error",
        evidence=evidence,
        longrepr=longrepr,
        captured=_captured(report),
        markers=tuple(markers),
        app=app,
        attempts=attempts,
        passed_on_retry=passed_on_retry,
        context=dict(context or {}),
    )
