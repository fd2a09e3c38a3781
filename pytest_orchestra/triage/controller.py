"""Triage on the controller: classify each failure as it is recorded, then judge the run.

Per test (as the recorder finishes each record): fingerprint, classify
(a reviewed label first, see ``labels``), apply the quarantine list. At the end
of the run: read history once per failure (``assessment``) for flakiness
between runs of the same code and for whether the test ran code changed since
its last pass; auto-quarantine only on evidence; cluster; route to sinks; and
write ``triage.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

import pytest

from pytest_orchestra.core.plainclass import plainclass
from pytest_orchestra.core.records import ReportSection, RunResult, TestRecord
from pytest_orchestra.triage.config import QuarantineSpec, TriageSpec

if TYPE_CHECKING:
    from pytest_orchestra.settings import OrchestraSettings
    from pytest_orchestra.triage.assessment import Assessment
    from pytest_orchestra.triage.classifier import Decision
    from pytest_orchestra.triage.failure import Failure

#: Categories history may turn into ``flaky``: the others name a cause that flakiness would hide.
FLAKY_MAY_OVERRIDE = frozenset({"product", "test", "data", "unknown"})
#: Characters of a failure's model text kept in triage.json (what a reviewed label stores).
TEXT_LIMIT = 600


@plainclass
class TriageEntry:
    record: TestRecord
    failure: "Failure"
    decision: "Decision"
    fingerprint: str
    flakiness: str = ""
    routes: List[str] = field(default_factory=list)
    delivered: List[str] = field(default_factory=list)
    assessment: Optional["Assessment"] = None


class TriageController:
    """Classifies, judges, clusters and routes the run's failures on the controller."""

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
        self.deliveries: List[Any] = []
        self.annotation_lines: List[str] = []
        self.summary_line = ""
        self.auto_quarantined: List[Any] = []
        self.markdown_sections: List[str] = []

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

    # -- end of run ------------------------------------------------------------------------

    def pytest_orchestra_run_finished(self, result: RunResult) -> None:
        result.sections["quarantine"] = [
            {"nodeid": record.nodeid, "outcome": record.outcome, "reason": self._quarantine_reason(record.nodeid)}
            for record in result.tests
            if record.quarantined
        ]
        if not self.entries:
            self._drain_spools(result)
            return
        from pytest_orchestra.triage.fingerprint import clusters

        self._judge_with_history(result)
        groups = clusters(
            (entry.fingerprint, entry.decision.category, entry.failure) for entry in self.entries.values()
        )
        incidents = [
            c for c in groups if c.category == "infrastructure" and len(c.nodeids) >= self.spec.incident_min_tests
        ]
        self._route(result)
        result.sections["triage"] = {
            "clusters": [
                {
                    "id": c.id,
                    "category": c.category,
                    "exception_type": c.exception_type,
                    "message": c.normalized_message,
                    "tests": list(c.nodeids),
                }
                for c in groups
            ],
            "incidents": [c.id for c in incidents],
            "deliveries": [
                {"sink": d.sink, "delivered": d.delivered, "spooled": d.spooled, "error": d.error}
                for d in self.deliveries
            ],
            "decisions": {
                nodeid: {
                    "rule": entry.decision.rule,
                    "reviewed": entry.decision.reviewed,
                    "reason": entry.decision.reason,
                }
                for nodeid, entry in self.entries.items()
            },
        }
        counts: Dict[str, int] = {}
        for entry in self.entries.values():
            counts[entry.decision.category] = counts.get(entry.decision.category, 0) + 1
        if counts:
            shown = ", ".join(f"{n} {name}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
            reviewed = sum(1 for entry in self.entries.values() if entry.decision.reviewed)
            extra = f"; {len(incidents)} incident(s)" if incidents else ""
            extra += f"; {reviewed} by reviewed labels" if reviewed else ""
            self.summary_line = f"orchestra: triage: {shown}; {len(groups)} cluster(s){extra}"

    def _quarantine_reason(self, nodeid: str) -> str:
        entry = self.quarantine.active(nodeid) if self.quarantine is not None else None
        if entry is None:
            return ""
        owner = f" ({entry.owner})" if entry.owner else ""
        until = f", until {entry.expires}" if entry.expires else ""
        return f"{entry.reason}{owner}{until}"

    def _judge_with_history(self, result: RunResult) -> None:
        """Flakiness between runs of the same code, changed code since the last pass, auto-quarantine.

        History is read once per failing test; auto-quarantine reuses what was read.
        """
        store = _history_store(self.config)
        if store is None:
            return
        from pytest_orchestra.core.codestate import state_of_run
        from pytest_orchestra.triage.assessment import HistoryAssessor

        run = result.run
        spec = self.quarantine_spec
        assessor = HistoryAssessor(
            store,
            now=state_of_run(run.commit, run.code_state, run.code_changes),
            rootdir=self.settings.rootdir,
            map_path=_map_path(self.settings),
            min_runs=spec.min_runs,
            flip_rate=spec.flip_rate,
            warn=self._warn,
        )
        try:
            for entry in self.entries.values():
                entry.assessment = assessor.assess(entry.record, run)
                self._apply_history(entry)
        finally:
            assessor.close()
        self._auto_quarantine(result)

    def _apply_history(self, entry: TriageEntry) -> None:
        from pytest_orchestra.triage.classifier import Decision

        assessment = entry.assessment
        if assessment is None:
            return
        stats = assessment.stats
        entry.flakiness = stats.evidence
        if entry.record.flaky or not stats.flaky or entry.decision.reviewed:
            return
        if assessment.verdict.ran_changed_code:
            # Past flips do not excuse a failure of code that just changed (DeFlaker's rule).
            entry.flakiness += f"; not called flaky: {assessment.verdict.reason}"
            return
        if entry.decision.category not in FLAKY_MAY_OVERRIDE:
            return
        entry.record.flaky = True
        entry.record.category = "flaky"
        entry.decision = Decision("flaky", min(1.0, 0.5 + stats.flip_rate), "history",
                                  f"{stats.evidence}; {assessment.verdict.reason}")

    def _auto_quarantine(self, result: RunResult) -> None:
        if not self.quarantine_spec.auto or self.quarantine is None:
            return
        from pytest_orchestra.triage.quarantine import auto_quarantine

        candidates = [entry for entry in self.entries.values() if entry.record.flaky and entry.assessment]
        if not candidates:
            return
        changed = [e.record.nodeid for e in candidates if e.assessment and e.assessment.verdict.ran_changed_code]
        added = auto_quarantine(
            [entry.assessment.stats for entry in candidates if entry.assessment is not None],
            self.quarantine,
            today=date.today(),
            spec=self.quarantine_spec,
            ran_changed_code=changed,
        )
        if added:
            self.quarantine.save(self.settings.rootdir / self.quarantine_spec.file)
            self.auto_quarantined = added
            outcomes = {entry.record.nodeid: entry.record.outcome for entry in candidates}
            result.sections["quarantine"].extend(
                {"nodeid": entry.nodeid, "outcome": outcomes.get(entry.nodeid, ""),
                 "reason": f"quarantined by this run from the next one on: {entry.reason}"}
                for entry in added
            )

    def _drain_spools(self, result: RunResult) -> None:
        """A green run still delivers what earlier runs spooled while a sink was down."""
        spool_root = self.settings.base_dir / "spool"
        if not self.spec.sinks or not spool_root.is_dir():
            return
        waiting = [name for name in self.spec.sinks if any((spool_root / name).glob("*.json"))]
        if not waiting:
            return
        sinks = self._build_sinks()
        for name in waiting:
            if name in sinks:
                self.deliveries.append(sinks[name].deliver([], result.run))

    def _build_sinks(self) -> Dict[str, Any]:
        from pytest_orchestra.triage.sinks import build_sinks

        return build_sinks(
            self.spec.sinks,
            base_dir=self.settings.base_dir,
            environ=os.environ,
            redactor=self.settings.redactor,
            rootdir=self.settings.rootdir,
        )

    def _route(self, result: RunResult) -> None:
        from pytest_orchestra.triage.codeowners import CodeOwners
        from pytest_orchestra.triage.routing import RoutedFailure, route

        owners = CodeOwners.load(self.settings.rootdir)
        sinks = self._build_sinks()
        batches: Dict[str, List[Any]] = {}
        extra_sinks: Dict[str, Any] = {}
        for entry in self.entries.values():
            record = entry.record
            file_path = record.nodeid.split("::", 1)[0]
            routed = RoutedFailure(
                nodeid=record.nodeid,
                category=entry.decision.category,
                confidence=entry.decision.confidence,
                rule=entry.decision.rule,
                reason=entry.decision.reason,
                fingerprint=entry.fingerprint,
                cluster_id=entry.fingerprint,
                phase=record.phase,
                app=record.app,
                owners=owners.owners_for(file_path) if owners else [],
                attempts=record.attempts,
                flaky=record.flaky,
                quarantined=record.quarantined,
                message=record.message,
                location=list(record.location) if record.location else None,
                markers=tuple(entry.failure.markers),
                exception=entry.failure.evidence.short_type if entry.failure.evidence else "",
            )
            names = route(routed, self.spec.routes, file_path=file_path, markers=entry.failure.markers)
            for added in self.config.hook.pytest_orchestra_route(failure=routed, sinks=names):
                for sink in added or ():
                    extra_sinks[sink.name] = sink
                    names.append(sink.name)
            entry.routes = list(dict.fromkeys(names))
            for name in entry.routes:
                batches.setdefault(name, []).append(routed)
        markdown_sections: List[str] = []
        for name, failures in batches.items():
            sink = sinks.get(name) or extra_sinks.get(name)
            if sink is None:
                continue
            outcome = sink.deliver(failures, result.run)
            section = getattr(sink, "markdown_section", None)
            if callable(section):
                markdown_sections.append(section())
            self.deliveries.append(outcome)
            self.annotation_lines.extend(getattr(outcome, "lines", ()) or ())
            if not outcome.error:
                for failure in failures:
                    self.entries[failure.nodeid].delivered.append(name)
        #: report.md's sections of the markdown sinks (their destination), contributed with triage.json.
        self.markdown_sections = markdown_sections

    # -- outputs -----------------------------------------------------------------------------

    def pytest_orchestra_report_sections(self, result: RunResult) -> List[ReportSection]:
        """``triage.json``, and the markdown sinks' sections of report.md."""
        sections = []
        if self.markdown_sections:
            sections.append(ReportSection("markdown_sinks", list(self.markdown_sections),
                                          tuple(section.rstrip("\n") for section in self.markdown_sections),
                                          order=60))
        sections.append(ReportSection("triage.json", None, files=(("triage.json", self._triage_json()),)))
        return sections

    def _triage_json(self) -> str:
        from pytest_orchestra.triage.learned import failure_text

        records = []
        for entry in self.entries.values():
            assessment = entry.assessment
            stats = assessment.stats if assessment is not None else None
            records.append({
                "nodeid": entry.record.nodeid,
                "phase": entry.record.phase,
                "category": entry.decision.category,
                "confidence": round(entry.decision.confidence, 3),
                "rule": entry.decision.rule,
                "reviewed": entry.decision.reviewed,
                "fingerprint": entry.fingerprint,
                "cluster": entry.fingerprint,
                "attempts": entry.record.attempts,
                "flaky": entry.record.flaky,
                "flakiness": entry.flakiness or None,
                "flaky_evidence": list(stats.evidence_kinds) if stats is not None and entry.record.flaky else
                ((["retry"] if entry.record.flaky else [])),
                "changed_code": assessment.verdict.as_dict() if assessment is not None else None,
                "quarantined": entry.record.quarantined,
                "auto_quarantined": any(added.nodeid == entry.record.nodeid for added in self.auto_quarantined),
                "routes": entry.routes,
                "delivered": entry.delivered,
                "reason": entry.decision.reason,
                "exception": entry.failure.evidence.exception_type if entry.failure.evidence else None,
                "text": failure_text(entry.failure)[:TEXT_LIMIT],
            })
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if os.environ.get("GITHUB_ACTIONS") == "true":
            for line in self.annotation_lines:
                terminalreporter.write_line(line)
        if self.summary_line:
            terminalreporter.write_line(self.summary_line)
        for added in self.auto_quarantined:
            terminalreporter.write_line(f"orchestra: quarantined {added.nodeid}: {added.reason}", yellow=True)
        for outcome in self.deliveries:
            if outcome.error:
                terminalreporter.write_line(
                    f"orchestra: sink {outcome.sink}: {outcome.error} ({outcome.spooled} spooled for the next run)",
                    yellow=True,
                )

    def _warn(self, message: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(message, yellow=True)


def _deciding_report(record: TestRecord, reports: Sequence[Any]) -> Optional[Any]:
    candidates = [r for r in reports if getattr(r, "outcome", None) != "rerun" and r.failed]
    if record.flaky and not candidates:
        candidates = [r for r in reports if getattr(r, "outcome", None) == "rerun"]
    return candidates[0] if candidates else None


def _history_store(config: pytest.Config) -> Any:
    from pytest_orchestra.recording.hub import session_history

    return session_history(config)


def _map_path(settings: "OrchestraSettings") -> Path:
    section = settings.workflow.sections.get("selection") or {}
    return settings.rootdir / str(section.get("map") or ".orchestra/map.db")
