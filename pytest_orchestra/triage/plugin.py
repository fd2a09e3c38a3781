"""Pytest wiring of triage: evidence, classification, retries, quarantine, routing.

Three plugin objects, each registered only where it has work:

- :class:`EvidenceCollector` where tests run (the single process, or each
  xdist worker): puts the failing exception's evidence on the report as plain
  data, so the controller classifies the same way with and without ``-n``;
- the retry runner (``retries.py``) where tests run, when retries are on;
- :class:`TriageController` on the controller: classifies each failure as the
  recorder finishes it, detects flakiness from history, applies the
  quarantine, clusters, routes to sinks and writes ``triage.json``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import pytest

from pytest_orchestra.plainclass import plainclass
from pytest_orchestra.records import RunResult, TestRecord
from pytest_orchestra.triage.config import QuarantineSpec, RetriesSpec, TriageSpec

if TYPE_CHECKING:
    from pytest_orchestra.settings import OrchestraSettings
    from pytest_orchestra.triage.classifier import Classifier, Decision
    from pytest_orchestra.triage.failure import Failure

# The classification modules (rules, evidence, fingerprints) are imported on the
# first failure: a green run never pays for compiling their patterns.

#: Runs whose failure share is above this are outages: no flakiness is read from them.
OUTAGE_SHARE = 0.8


class _EvidenceReader:
    """Reads a failure's evidence from its live exception (best effort: the longrepr remains)."""

    def __init__(self, rootdir: Path, test_file_patterns: Sequence[str]) -> None:
        self.rootdir = rootdir
        self.test_file_patterns = tuple(test_file_patterns)

    def _read(self, node: Any, excinfo: Any) -> Optional[Tuple[Optional[Dict[str, Any]], List[str]]]:
        """(evidence, the node's marker names) of a failure; None when ``excinfo`` is none (a skip, an xfail...)."""
        if excinfo is None or excinfo.errisinstance(_NOT_FAILURES):
            return None
        from pytest_orchestra.triage.evidence import evidence_from_excinfo

        evidence: Optional[Dict[str, Any]]
        try:
            evidence = evidence_from_excinfo(
                excinfo, rootdir=self.rootdir, test_file_patterns=self.test_file_patterns
            ).to_dict()
        except Exception:  # noqa: BLE001 - evidence is best effort; the longrepr fallback remains
            evidence = None
        return evidence, sorted({m.name for m in node.iter_markers()})


class EvidenceCollector(_EvidenceReader):
    """Attaches ``orchestra_evidence`` (and the item's marker names) to failing reports.

    A plain ``tryfirst`` makereport sees the live exception before pytest builds
    the report; the evidence waits here until the report is logged, where a
    ``tryfirst`` logreport attaches it before xdist serializes the report. (A
    makereport wrapper would do it in one place, but costs every passing phase
    a generator.) That logreport lives on :class:`EvidenceAttacher`, registered
    on the first failure: a green run pays for no logreport call at all.
    """

    def __init__(
        self, rootdir: Path, test_file_patterns: Sequence[str], pluginmanager: Optional[Any] = None
    ) -> None:
        super().__init__(rootdir, test_file_patterns)
        self.pluginmanager = pluginmanager
        self._pending: Dict[tuple, tuple] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]) -> None:
        read = self._read(item, call.excinfo)
        if read is None:
            return None
        self._pending[(item.nodeid, call.when)] = read
        manager = self.pluginmanager
        if manager is not None and not manager.has_plugin(EvidenceAttacher.name):
            manager.register(EvidenceAttacher(self), EvidenceAttacher.name)
        return None

    def attach(self, report: Any) -> Any:
        """Move waiting evidence onto ``report`` (also used by the retry runner before logging)."""
        pending = self._pending.pop((report.nodeid, report.when), None)
        if pending is not None and report.failed:
            evidence, markers = pending
            if evidence is not None:
                report.orchestra_evidence = evidence
            report.orchestra_markers = markers
        return report


class EvidenceAttacher:
    """The logreport half of :class:`EvidenceCollector`, registered once a phase has failed."""

    name = "orchestra-evidence-attach"

    def __init__(self, collector: EvidenceCollector) -> None:
        self.collector = collector

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.collector._pending:
            self.collector.attach(report)


class InProcessEvidence(_EvidenceReader):
    """:class:`EvidenceCollector` for a process that also records the run, without retries.

    pytest calls ``pytest_exception_interact`` only for a failing phase (not a
    skip or xfail), right after logging its report; the recorder folds reports
    into records later (never right after a failing report), so evidence put
    on the report here is there when triage reads it, and a passing phase costs
    no hook call at all. Not for xdist workers, which serialize a report as
    soon as it is logged, nor for retries, which read evidence before logging.
    """

    name = "orchestra-evidence"

    @pytest.hookimpl(tryfirst=True)
    def pytest_exception_interact(self, node: Any, call: Any, report: Any) -> None:
        if not isinstance(report, pytest.TestReport) or not report.failed:
            return
        read = self._read(node, call.excinfo)
        if read is None:
            return
        evidence, report.orchestra_markers = read
        if evidence is not None:
            report.orchestra_evidence = evidence


def _not_failures() -> tuple:
    from _pytest.outcomes import Skipped, XFailed

    return (Skipped, XFailed)


#: Exceptions that end a phase without failing it (skips and xfails).
_NOT_FAILURES = _not_failures()


def build_classifier(spec: TriageSpec, model_path: Path) -> "Classifier":
    from pytest_orchestra.triage.classifier import Classifier
    from pytest_orchestra.triage.learned import load_model

    return Classifier(user_rules=spec.rules, threshold=spec.threshold, model=load_model(model_path))


def make_classify(config: pytest.Config, spec: TriageSpec, model_path: Path) -> Any:
    """Classification as everywhere in the plugin: the hook first, then the classifier.

    The classifier is built on the first failure.
    """
    built: List["Classifier"] = []

    def classify(failure: "Failure") -> "Decision":
        decided = config.hook.pytest_orchestra_classify(failure=failure)
        if decided is not None:
            return decided
        if not built:
            built.append(build_classifier(spec, model_path))
        return built[0].classify(failure)

    return classify


def failure_for(report: Any, rootdir: Path, *, app: Optional[str] = None, attempts: int = 1) -> "Failure":
    """A :class:`Failure` from one (possibly xdist-serialized) report."""
    from pytest_orchestra.triage.evidence import failure_from_report

    markers = tuple(getattr(report, "orchestra_markers", ()) or ())
    context = dict(getattr(report, "orchestra_context", {}) or {})
    return failure_from_report(
        report, rootdir=rootdir, markers=markers, app=app, attempts=attempts, context=context
    )


@plainclass
class TriageEntry:
    record: TestRecord
    failure: "Failure"
    decision: "Decision"
    fingerprint: str
    flakiness: str = ""
    routes: List[str] = field(default_factory=list)
    delivered: List[str] = field(default_factory=list)


class TriageController:
    """Classifies, clusters and routes the run's failures on the controller."""

    def __init__(
        self,
        config: pytest.Config,
        settings: "OrchestraSettings",
        spec: TriageSpec,
        quarantine: QuarantineSpec,
        classify: Any,
    ) -> None:
        self.config = config
        self.settings = settings
        self.spec = spec
        self.quarantine_spec = quarantine
        self.classify = classify
        self.entries: Dict[str, TriageEntry] = {}
        self.quarantine: Any = None
        self.deliveries: List[Any] = []
        self.annotation_lines: List[str] = []
        self.summary_line = ""

    # -- per test ------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        path = self.settings.rootdir / self.quarantine_spec.file
        if not path.exists() and not self.quarantine_spec.auto:
            return  # nothing quarantined: no need to load the machinery
        from pytest_orchestra.triage.quarantine import QuarantineError, QuarantineList

        try:
            self.quarantine = QuarantineList.load(path, today=date.today())
        except QuarantineError as exc:
            raise pytest.UsageError(str(exc)) from None

    @property
    def orchestra_wants_passing_records(self) -> bool:
        """A passing test matters only when it may be quarantined (see reporting's ``record_filters``)."""
        return self.quarantine is not None

    def orchestra_wants_record(self, record: TestRecord) -> bool:
        """Whether :meth:`pytest_orchestra_test_recorded` can change ``record`` (see reporting's ``record_filters``)."""
        return self.quarantine is not None or record.failed or record.flaky

    def pytest_orchestra_test_recorded(self, record: TestRecord, reports: Sequence[Any]) -> None:
        if self.quarantine is not None and self.quarantine.active(record.nodeid) is not None:
            record.quarantined = True
        if not (record.failed or record.flaky):
            return
        deciding = _deciding_report(record, reports)
        if deciding is None:
            return
        from pytest_orchestra.triage.classifier import Decision
        from pytest_orchestra.triage.fingerprint import fingerprint

        failure = failure_for(deciding, self.settings.rootdir, app=record.app, attempts=record.attempts)
        failure.passed_on_retry = record.flaky
        if record.flaky:
            decision = Decision(
                "flaky", 1.0, "retry", f"failed, then passed on attempt {record.attempts} of the same run"
            )
        else:
            decision = self.classify(failure)
        record.category = decision.category
        self.entries[record.nodeid] = TriageEntry(record, failure, decision, fingerprint(failure))

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

        self._auto_quarantine(self._flakiness_from_history())
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
        }
        counts: Dict[str, int] = {}
        for entry in self.entries.values():
            counts[entry.decision.category] = counts.get(entry.decision.category, 0) + 1
        if counts:
            shown = ", ".join(f"{n} {name}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
            extra = f"; {len(incidents)} incident(s)" if incidents else ""
            self.summary_line = f"orchestra: triage: {shown}; {len(groups)} cluster(s){extra}"

    def _quarantine_reason(self, nodeid: str) -> str:
        entry = self.quarantine.active(nodeid) if self.quarantine is not None else None
        if entry is None:
            return ""
        owner = f" ({entry.owner})" if entry.owner else ""
        until = f", until {entry.expires}" if entry.expires else ""
        return f"{entry.reason}{owner}{until}"

    def _flakiness_from_history(self) -> List[Any]:
        """Mark failures whose history flips as flaky; return every entry's stats.

        History is read once per failing test here; auto-quarantine reuses the
        stats rather than reading it again.
        """
        from pytest_orchestra.triage.classifier import Decision
        from pytest_orchestra.triage.flaky import flakiness

        store = _history_store(self.config)
        if store is None:
            return []
        spec = self.quarantine_spec
        outages = _outage_runs(store)
        all_stats = []
        for entry in self.entries.values():
            history = store.test_history(entry.record.nodeid, limit=50)
            stats = flakiness(history, min_runs=spec.min_runs, flip_rate=spec.flip_rate, outage_runs=outages)
            all_stats.append((entry, stats))
            if stats.flaky and not entry.record.flaky:
                entry.record.flaky = True
                entry.record.category = "flaky"
                entry.decision = Decision("flaky", min(1.0, 0.5 + stats.flip_rate), "history", stats.evidence)
                entry.flakiness = stats.evidence
        return all_stats

    def _auto_quarantine(self, all_stats: List[Any]) -> None:
        if not self.quarantine_spec.auto or self.quarantine is None or not all_stats:
            return
        from pytest_orchestra.triage.quarantine import auto_quarantine

        spec = self.quarantine_spec
        stats = [entry_stats for entry, entry_stats in all_stats if entry.record.flaky]
        added = auto_quarantine(stats, self.quarantine, today=date.today(), spec=spec)
        if added:
            self.quarantine.save(self.settings.rootdir / spec.file)

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
        if markdown_sections:
            # report.md renders these sections (the markdown sink's destination).
            result.sections["markdown_sinks"] = markdown_sections

    # -- outputs -----------------------------------------------------------------------------

    def pytest_orchestra_reports_written(self, result: RunResult, report_dir: Path) -> None:
        from pytest_orchestra.reporting.writer import write_text_atomically

        records = [
            {
                "nodeid": entry.record.nodeid,
                "phase": entry.record.phase,
                "category": entry.decision.category,
                "confidence": round(entry.decision.confidence, 3),
                "rule": entry.decision.rule,
                "fingerprint": entry.fingerprint,
                "cluster": entry.fingerprint,
                "attempts": entry.record.attempts,
                "flaky": entry.record.flaky,
                "flakiness": entry.flakiness or None,
                "quarantined": entry.record.quarantined,
                "routes": entry.routes,
                "delivered": entry.delivered,
                "reason": entry.decision.reason,
                "exception": entry.failure.evidence.exception_type if entry.failure.evidence else None,
            }
            for entry in self.entries.values()
        ]
        text = json.dumps(records, indent=2, ensure_ascii=False) + "\n"
        write_text_atomically(Path(report_dir) / "triage.json", self.settings.redactor.redact(text))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if os.environ.get("GITHUB_ACTIONS") == "true":
            for line in self.annotation_lines:
                terminalreporter.write_line(line)
        if self.summary_line:
            terminalreporter.write_line(self.summary_line)
        for outcome in self.deliveries:
            if outcome.error:
                terminalreporter.write_line(
                    f"orchestra: sink {outcome.sink}: {outcome.error} ({outcome.spooled} spooled for the next run)",
                    yellow=True,
                )


def _deciding_report(record: TestRecord, reports: Sequence[Any]) -> Optional[Any]:
    candidates = [r for r in reports if getattr(r, "outcome", None) != "rerun" and r.failed]
    if record.flaky and not candidates:
        candidates = [r for r in reports if getattr(r, "outcome", None) == "rerun"]
    return candidates[0] if candidates else None


def _outage_runs(store: Any) -> set:
    """Past runs where more than 80% of the executed tests failed: outages, not flakes."""
    return {
        run.run_id
        for run in store.runs(limit=200)
        if run.success_rate is not None and run.success_rate < 1 - OUTAGE_SHARE
    }


def _history_store(config: pytest.Config) -> Any:
    recorder = config.pluginmanager.get_plugin("orchestra-recorder")
    return getattr(recorder, "store", None)


def register_triage(
    config: pytest.Config, settings: "OrchestraSettings", *, runs_tests: bool, is_controller: bool
) -> None:
    """Register triage's plugin objects where they have work (see the module docstring)."""
    from pytest_orchestra.triage.config import quarantine_spec, retries_spec, triage_spec

    sections = settings.workflow.sections
    triage = triage_spec(sections.get("triage"))
    retries = retries_spec(sections.get("retries"))
    reruns = config.getoption("orchestra_reruns")
    if reruns is not None:
        if reruns < 0:
            raise pytest.UsageError(f"--orchestra-reruns: expected an integer >= 0, got {reruns}")
        retries = dataclasses.replace(retries, max=reruns)
    model_path = settings.rootdir / (triage.model or f"{settings.workflow.reports.dir}/triage-model.json")
    classify = make_classify(config, triage, model_path)
    if runs_tests:
        patterns = config.getini("python_files") or ["test_*.py", "*_test.py"]
        if is_controller and retries.max == 0:
            config.pluginmanager.register(InProcessEvidence(settings.rootdir, patterns), InProcessEvidence.name)
        else:
            collector = EvidenceCollector(settings.rootdir, patterns, config.pluginmanager)
            config.pluginmanager.register(collector, "orchestra-evidence")
        if retries.max > 0:
            from pytest_orchestra.triage.retries import RetryRunner

            runner = RetryRunner(
                retries,
                classify,
                lambda report, item: failure_for(collector.attach(report), settings.rootdir),
            )
            config.pluginmanager.register(runner, "orchestra-retries")
    if is_controller and not runs_tests and retries.max > 0:
        from pytest_orchestra.triage.retries import RerunStatus

        config.pluginmanager.register(RerunStatus(), "orchestra-rerun-status")
    if is_controller:
        controller = TriageController(
            config, settings, triage, quarantine_spec(sections.get("quarantine")), classify
        )
        config.pluginmanager.register(controller, "orchestra-triage")
