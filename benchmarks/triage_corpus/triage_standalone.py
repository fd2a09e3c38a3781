"""A stand-in for pytest-orchestra's triage wiring, used by the accuracy benchmark.

Captures evidence where the exception is alive, retries each failed test
once, classifies with :class:`~pytest_orchestra.triage.classifier.Classifier`
and writes one JSON document to ``ORCHESTRA_TRIAGE_OUT``. Loaded by the
corpus conftest when ``ORCHESTRA_TRIAGE_STANDALONE=1``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from _pytest.runner import runtestprotocol

from pytest_orchestra.triage.classifier import Classifier
from pytest_orchestra.triage.exception_evidence import evidence_from_excinfo
from pytest_orchestra.triage.fingerprint import fingerprint
from pytest_orchestra.triage.report_failure import failure_from_report

_classifier = Classifier()
_rootdir = Path(__file__).parent
_results: list[dict[str, Any]] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    if report.failed and call.excinfo is not None:
        report.orchestra_evidence = evidence_from_excinfo(
            call.excinfo, rootdir=item.config.rootpath
        ).to_dict()
    return report


def _record(report: Any, rootdir: Path, **extra: Any) -> None:
    failure = failure_from_report(report, rootdir=rootdir, **extra)
    decision = _classifier.classify(failure)
    _results.append(
        {
            "nodeid": failure.nodeid,
            "phase": failure.phase,
            "attempts": failure.attempts,
            "fingerprint": fingerprint(failure),
            **decision.as_dict(),
        }
    )


def _retry(item: pytest.Item, nextitem: pytest.Item | None) -> list[Any]:
    """Run the test again, re-arming pytest-timeout's timer (it arms once per protocol)."""
    settings = None
    if item.config.pluginmanager.has_plugin("timeout"):
        from pytest_timeout import _get_item_settings

        settings = _get_item_settings(item)
    armed = settings is not None and (settings.timeout or 0) > 0
    if armed:
        item.config.hook.pytest_timeout_set_timer(item=item, settings=settings)
    try:
        return runtestprotocol(item, nextitem=nextitem, log=False)
    finally:
        if armed:
            item.config.hook.pytest_timeout_cancel_timer(item=item)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool:
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    reports = runtestprotocol(item, nextitem=nextitem, log=False)
    attempts = 1
    first_failure = next((r for r in reports if r.failed), None)
    if first_failure is not None:
        attempts = 2
        reports = _retry(item, nextitem)
    final_failure = next((r for r in reports if r.failed), None)
    rootdir = item.config.rootpath
    if first_failure is not None and final_failure is None:
        _record(first_failure, rootdir, attempts=attempts, passed_on_retry=True)
    elif final_failure is not None:
        _record(final_failure, rootdir, attempts=attempts)
    for report in reports:
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _record(report, _rootdir)


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("ORCHESTRA_TRIAGE_OUT")
    if target:
        Path(target).write_text(json.dumps({"failures": _results}, indent=1))
