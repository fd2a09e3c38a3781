"""Retrying failed tests whose failure category allows it (the pytest-facing part of triage).

``RetryRunner`` replaces pytest's run-test protocol where tests run (each
xdist worker, or the only process). It runs setup, call and teardown itself so
it can decide *before* teardown whether the test will run again: a retried
test tears down only its own function-scoped fixtures and keeps module, class
and session fixtures, and a failed fixture's cached error is dropped so the
retry really sets it up again.

Reports of an attempt that is retried are logged with ``outcome == "rerun"``
(only the failed ones: passing setup/teardown of a replaced attempt would make
report writers close the test early). Every report carries
``orchestra_attempt``; the final attempt's reports also carry
``orchestra_attempts`` and ``orchestra_passed_on_retry``. They are plain
attributes, so xdist carries them to the controller.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import pytest
from _pytest.runner import call_and_report

from pytest_orchestra.core import channel
from pytest_orchestra.triage.classifier import Decision
from pytest_orchestra.triage.failure import Failure
from pytest_orchestra.triage.specs import RetriesSpec

RERUN = "rerun"


#: Categories about the world rather than the code: worth a retry even after a code change.
WORLD_CATEGORIES = frozenset({"infrastructure", "timeout"})


def should_retry(decision: Decision, attempt: int, spec: RetriesSpec, *, ran_changed_code: bool | None = None) -> bool:
    """Whether a failure on attempt ``attempt`` (1-based) earns another attempt.

    ``spec.max`` is the number of extra attempts; ``("all",)`` retries every
    category, otherwise only the listed ones (by default infrastructure and
    timeout: retrying a product bug only hides it). DeFlaker's rule refines
    that when history and the map can tell (``ran_changed_code``): a failing
    test that executed no code changed since its last pass is a flake suspect
    and is retried whatever its category; one that executed changed code is
    retried only for a listed category about the world (infrastructure,
    timeout), since its failure is more likely the change's fault.
    """
    if attempt > spec.max:
        return False
    listed = "all" in spec.categories or decision.category in spec.categories
    if ran_changed_code is False:
        return True
    if ran_changed_code is True:
        return listed and decision.category in WORLD_CATEGORIES
    return listed


def _failed(report: pytest.TestReport) -> bool:
    return report.failed and not hasattr(report, "wasxfail")


def _forget_failed_fixtures(item: pytest.Item) -> None:
    """Drop cached setup errors of higher-scoped fixtures and collectors.

    pytest caches a fixture's exception for its whole scope and a collector's
    setup error on the setup state, so without this a retry would re-raise the
    first attempt's error instead of trying again.
    """
    request = getattr(item, "_request", None)
    fixtureinfo = getattr(item, "_fixtureinfo", None)
    if request and fixtureinfo is not None:
        for definitions in fixtureinfo.name2fixturedefs.values():
            for definition in definitions:
                cached = getattr(definition, "cached_result", None)
                if cached is not None and cached[2] is not None:
                    try:
                        definition.finish(request)
                    except Exception:  # its teardown failing must not stop the retry
                        pass
    stack = getattr(getattr(item.session, "_setupstate", None), "stack", None)
    if isinstance(stack, dict):
        for node, (finalizers, error) in list(stack.items()):
            if error is not None:
                stack[node] = (finalizers, None)


class RerunStatus:
    """Shows replaced attempts as ``R``/``RERUN``; needed wherever reports are displayed.

    Under xdist that is the controller, which runs no tests: register this
    there (``RetryRunner`` includes it for the processes that run tests).
    """

    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        if report.outcome == RERUN:
            return RERUN, "R", ("RERUN", {"yellow": True})
        return None


class RetryRunner(RerunStatus):
    """The run-test protocol with category-aware retries (register where items run)."""

    def __init__(
        self,
        spec: RetriesSpec,
        classify: Callable[[Failure], Decision],
        failure_from_report: Callable[[pytest.TestReport, pytest.Item], Failure],
        *,
        verdict: Callable[[str], Any] | None = None,
    ) -> None:
        self.spec = spec
        self.classify = classify
        self.failure_from_report = failure_from_report
        #: Whether a test ran code changed since its last pass (``changedcode.ChangeVerdict``), if known.
        self.verdict = verdict

    def _wants_retry(self, reports: Sequence[pytest.TestReport], item: pytest.Item, attempt: int) -> bool:
        if attempt > self.spec.max or item.session.shouldfail or item.session.shouldstop:
            return False
        failed = [report for report in reports if _failed(report)]
        if not failed:
            return False
        try:
            decision = self.classify(self.failure_from_report(failed[0], item))
        except Exception:  # a broken classifier means no retry, never a broken run
            return False
        changed = None
        if self.verdict is not None and not getattr(decision, "reviewed", False):
            try:
                found = self.verdict(item.nodeid)
            except Exception:  # noqa: BLE001 - history or git unreadable: decide by category alone
                found = None
            changed = found.ran_changed_code if found is not None else None
        return should_retry(decision, attempt, self.spec, ran_changed_code=changed)

    def _run_attempt(
        self, item: pytest.Item, nextitem: pytest.Item | None, attempt: int
    ) -> tuple[list[pytest.TestReport], bool]:
        """One setup/call/teardown; returns the reports and whether to run again."""
        has_request = hasattr(item, "_request")
        if has_request and not item._request:  # type: ignore[attr-defined]
            item._initrequest()  # type: ignore[attr-defined]
        rearmed = attempt > 1 and _rearm_timeout(item)
        try:
            reports = [call_and_report(item, "setup", log=False)]
            if reports[0].passed and not item.config.getoption("setuponly", False):
                reports.append(call_and_report(item, "call", log=False))
            retry = self._wants_retry(reports, item, attempt)
            if retry:
                _forget_failed_fixtures(item)
                # Tear down the test's own node only; its parents stay set up for the retry.
                teardown_to: Any = item.parent
            elif item.session.shouldfail or item.session.shouldstop:
                teardown_to = None
            else:
                teardown_to = nextitem
            reports.append(call_and_report(item, "teardown", log=False, nextitem=teardown_to))
        finally:
            if rearmed:
                item.config.hook.pytest_timeout_cancel_timer(item=item)
            if has_request:
                item._request = False  # type: ignore[attr-defined]
                item.funcargs = None  # type: ignore[attr-defined]
        return reports, retry

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool:
        ihook = item.ihook
        attempt = 0
        while True:
            attempt += 1
            ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
            reports, retry = self._run_attempt(item, nextitem, attempt)
            for report in reports:
                channel.write(report, channel.ATTEMPT, attempt)
            if retry:
                for report in reports:
                    if _failed(report):
                        report.outcome = RERUN  # type: ignore[assignment]
                        ihook.pytest_runtest_logreport(report=report)
            else:
                passed = not any(_failed(report) for report in reports)
                for report in reports:
                    channel.write(report, channel.ATTEMPTS, attempt)
                    channel.write(report, channel.PASSED_ON_RETRY, passed and attempt > 1)
                    ihook.pytest_runtest_logreport(report=report)
            ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
            if not retry:
                return True


def _rearm_timeout(item: pytest.Item) -> bool:
    """Arm pytest-timeout's timer again for a retry.

    pytest-timeout sets its timer once around the whole runtest protocol, so
    without this a retry runs untimed and a test that timed out "passes" on
    its retry: a deterministic timeout would be called flaky.
    """
    if not item.config.pluginmanager.has_plugin("timeout"):
        return False
    try:
        import pytest_timeout

        settings = pytest_timeout._get_item_settings(item)
    except Exception:  # noqa: BLE001 - an unknown pytest-timeout version: keep its own behaviour
        return False
    if not settings.timeout:
        return False
    item.config.hook.pytest_timeout_set_timer(item=item, settings=settings)
    return True
