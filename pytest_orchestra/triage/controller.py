"""Triage on the controller, per test: classify each failure as the recorder finishes its record.

For each record (a record listener, see ``core.records.RecordListener``):
apply the quarantine list, then fingerprint the failure and classify it (a
reviewed label first, see ``labels``; a pass on a retry of the same run makes
it flaky). The work left for the end of the run (history, clusters, sinks,
``triage.json``) is :class:`~pytest_orchestra.triage.end_of_run.EndOfRunTriage`'s:
this plugin object hands it the run's last hooks.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

import pytest

from pytest_orchestra.core.records import ReportSection, RunResult, TestRecord
from pytest_orchestra.triage.end_of_run import EndOfRunTriage
from pytest_orchestra.triage.entry import TriageEntry
from pytest_orchestra.triage.specs import QuarantineSpec, TriageSpec

if TYPE_CHECKING:
    from pytest_orchestra.settings import OrchestraSettings


class TriageController:
    """Classifies the run's failures on the controller as they are recorded; then judges, clusters and routes them."""

    def __init__(
        self,
        config: pytest.Config,
        settings: "OrchestraSettings",
        spec: TriageSpec,
        quarantine: QuarantineSpec,
        classify: Any,
        failure_for: Any,
    ) -> None:
        self.config = config
        self.settings = settings
        self.spec = spec
        self.quarantine_spec = quarantine
        self.classify = classify
        self.failure_for = failure_for
        self.entries: Dict[str, TriageEntry] = {}
        self.quarantine: Any = None
        self.end = EndOfRunTriage(config, settings, spec, quarantine)

    # -- per test ------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        path = self.settings.rootdir / self.quarantine_spec.file
        if not path.exists() and not self.quarantine_spec.auto:
            return  # nothing quarantined: no need to load the machinery
        from pytest_orchestra.triage.quarantine import QuarantineList

        self.quarantine = QuarantineList.load(path, today=date.today())

    # -- a record listener (``core.records.RecordListener``) ---------------------------------

    def pytest_orchestra_record_listeners(self, config: pytest.Config) -> List["TriageController"]:
        return [self]

    @property
    def wants_passing(self) -> bool:
        """A passing test matters only when it may be quarantined."""
        return self.quarantine is not None

    def wants(self, record: TestRecord) -> bool:
        return self.quarantine is not None or record.failed or record.flaky

    def recorded(self, record: TestRecord, reports: Sequence[Any]) -> None:
        if self.quarantine is not None and self.quarantine.active(record.nodeid) is not None:
            record.quarantined = True
        if not (record.failed or record.flaky):
            return
        deciding = _deciding_report(record, reports)
        if deciding is None:
            return
        from pytest_orchestra.triage.classifier import Decision
        from pytest_orchestra.triage.fingerprint import fingerprint

        failure = self.failure_for(deciding, app=record.app, attempts=record.attempts)
        failure.passed_on_retry = record.flaky
        print_id = fingerprint(failure)
        decision = self.classify(failure, print_id)
        if record.flaky and not decision.reviewed:
            decision = Decision(
                "flaky", 1.0, "retry", f"failed, then passed on attempt {record.attempts} of the same run"
            )
        record.category = decision.category
        record.fingerprint = print_id
        self.entries[record.nodeid] = TriageEntry(record, failure, decision, print_id)

    # -- end of run (``end_of_run``) -----------------------------------------------------------

    def pytest_orchestra_run_finished(self, result: RunResult) -> None:
        self.end.finish(result, self.entries, self.quarantine)

    def pytest_orchestra_report_sections(self, result: RunResult) -> List[ReportSection]:
        """``triage.json``, and the markdown sinks' sections of report.md."""
        return self.end.report_sections(self.entries)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        self.end.terminal_summary(terminalreporter)


def _deciding_report(record: TestRecord, reports: Sequence[Any]) -> Optional[Any]:
    candidates = [r for r in reports if getattr(r, "outcome", None) != "rerun" and r.failed]
    if record.flaky and not candidates:
        candidates = [r for r in reports if getattr(r, "outcome", None) == "rerun"]
    return candidates[0] if candidates else None
