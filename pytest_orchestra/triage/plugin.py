"""Pytest wiring of triage: evidence, classification, retries, quarantine, routing.

Three plugin objects, each registered only where it has work:

- :class:`EvidenceCollector` where tests run (the single process, or each
  xdist worker): puts the failing exception's evidence on the report as plain
  data, so the controller classifies the same way with and without ``-n``;
- the retry runner (``retries.py``) where tests run, when retries are on, with
  :class:`RetryEvidence` telling it which failures ran code changed since their
  last pass (those are not flake suspects);
- the ``TriageController`` (``controller.py``) on the controller: classifies
  each failure as the recorder finishes it and applies the quarantine; at the
  end of the run (``end_of_run.py``) judges flakiness from history, clusters,
  routes to sinks and writes ``triage.json``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import pytest

from pytest_orchestra.core import channel
from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.triage.specs import QuarantineSpec, TriageSpec

if TYPE_CHECKING:
    from pytest_orchestra.core.roles import ProcessRole
    from pytest_orchestra.settings import OrchestraSettings
    from pytest_orchestra.triage.classifier import Classifier, Decision
    from pytest_orchestra.triage.failure import Failure

# The classification modules (rules, evidence, fingerprints) are imported on the
# first failure: a green run never pays for compiling their patterns.


class _EvidenceReader:
    """Reads a failure's evidence from its live exception (best effort: the longrepr remains)."""

    def __init__(self, rootdir: Path, test_file_patterns: Sequence[str]) -> None:
        self.rootdir = rootdir
        self.test_file_patterns = tuple(test_file_patterns)

    def _read(self, node: Any, excinfo: Any) -> Optional[Tuple[Optional[Dict[str, Any]], List[str]]]:
        """(evidence, the node's marker names) of a failure; None when ``excinfo`` is none (a skip, an xfail...)."""
        if excinfo is None or excinfo.errisinstance(_NOT_FAILURES):
            return None
        evidence: Optional[Dict[str, Any]]
        try:
            # Imported here, inside the guard: the failure may be the machine running out of
            # file descriptors or memory, and then even importing a module fails.
            from pytest_orchestra.triage.exception_evidence import evidence_from_excinfo

            evidence = evidence_from_excinfo(
                excinfo, rootdir=self.rootdir, test_file_patterns=self.test_file_patterns
            ).to_dict()
        except Exception:  # noqa: BLE001 - evidence is best effort; the longrepr fallback remains
            evidence = None
        return evidence, sorted({m.name for m in node.iter_markers()})

    def attach_to_collect_report(self, node: Any, call: Any, report: Any) -> None:
        """A collection error's evidence, from its live exception (pytest logs the report afterwards)."""
        if not report.failed:
            return
        read = self._read(node, call.excinfo)
        if read is not None and read[0] is not None:
            channel.write(report, channel.EVIDENCE, read[0])


class EvidenceCollector(_EvidenceReader):
    """Attaches ``orchestra_evidence`` (and the item's marker names) to failing reports.

    A plain makereport sees the live exception before pytest builds the report
    (this plugin registers after pytest's runner, so its implementation runs
    first among the plain ones) and after the ``tryfirst`` ones that still
    change ``call.excinfo`` (unittest's puts the TestCase's own exception
    there); the evidence waits here until the report is logged, where a
    ``tryfirst`` logreport attaches it before xdist serializes the report. (A
    makereport wrapper would do it in one place, but costs every passing phase
    a generator.) That logreport lives on :class:`EvidenceAttacher`, registered
    on the first failure: a green run pays for no logreport call at all.
    Collection errors get theirs in ``pytest_exception_interact``, which pytest
    calls before it logs a collect report.
    """

    def __init__(
        self, rootdir: Path, test_file_patterns: Sequence[str], pluginmanager: Optional[Any] = None
    ) -> None:
        super().__init__(rootdir, test_file_patterns)
        self.pluginmanager = pluginmanager
        self._pending: Dict[Tuple[str, str], Tuple[Optional[Dict[str, Any]], List[str]]] = {}

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
                channel.write(report, channel.EVIDENCE, evidence)
            channel.write(report, channel.MARKERS, markers)
        return report


    @pytest.hookimpl(tryfirst=True)
    def pytest_exception_interact(self, node: Any, call: Any, report: Any) -> None:
        if isinstance(report, pytest.CollectReport):
            self.attach_to_collect_report(node, call, report)


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
        if isinstance(report, pytest.CollectReport):
            self.attach_to_collect_report(node, call, report)
            return
        if not isinstance(report, pytest.TestReport) or not report.failed:
            return
        read = self._read(node, call.excinfo)
        if read is None:
            return
        evidence, markers = read
        channel.write(report, channel.MARKERS, markers)
        if evidence is not None:
            channel.write(report, channel.EVIDENCE, evidence)


def _not_failures() -> Tuple[type, ...]:
    from _pytest.outcomes import Skipped, XFailed

    return (Skipped, XFailed)


#: Exceptions that end a phase without failing it (skips and xfails).
_NOT_FAILURES = _not_failures()


def build_classifier(spec: TriageSpec, model_path: Path, rootdir: Path, labels: Any = None) -> "Classifier":
    from pytest_orchestra.triage.classifier import Classifier
    from pytest_orchestra.triage.learned import load_model
    from pytest_orchestra.triage.rules.project import ProjectIndex

    return Classifier(user_rules=spec.rules, threshold=spec.threshold, model=load_model(model_path),
                      labels=labels, project=ProjectIndex(rootdir))


class ClassifyFailure:
    """Classification as everywhere in the plugin: a reviewed label first, then the hook, then the classifier.

    The classifier, the project index and the reviewed labels are built on the first failure.
    """

    def __init__(self, config: pytest.Config, spec: TriageSpec, model_path: Path, rootdir: Path) -> None:
        self.config = config
        self.spec = spec
        self.model_path = model_path
        self.rootdir = rootdir
        self._classifier: Optional["Classifier"] = None
        self.labels: Any = None

    def load_labels(self) -> Any:
        """The reviewed labels (raises ``LabelsError`` for a malformed file)."""
        if self.labels is None:
            from pytest_orchestra.triage.labels import ReviewedLabels

            self.labels = ReviewedLabels.load(self.rootdir / self.spec.labels)
        return self.labels

    @property
    def classifier(self) -> "Classifier":
        if self._classifier is None:
            try:
                labels = self.load_labels()
            except ValueError:  # reported by the controller at session start; never break a worker
                labels = None
            self._classifier = build_classifier(self.spec, self.model_path, self.rootdir, labels)
        return self._classifier

    def __call__(self, failure: "Failure", fingerprint: Optional[str] = None) -> "Decision":
        if fingerprint is None:
            from pytest_orchestra.triage.fingerprint import (
                fingerprint as fingerprint_of,
            )

            fingerprint = fingerprint_of(failure)
        reviewed = self.classifier.reviewed(fingerprint)
        if reviewed is not None:
            return reviewed
        decided: Optional["Decision"] = self.config.hook.pytest_orchestra_classify(failure=failure)
        if decided is not None:
            return decided
        return self.classifier.classify(failure)


def failure_for(report: Any, rootdir: Path, *, app: Optional[str] = None, attempts: int = 1) -> "Failure":
    """A :class:`Failure` from one (possibly xdist-serialized) report."""
    from pytest_orchestra.triage.report_failure import failure_from_report

    markers = tuple(channel.read(report, channel.MARKERS, ()) or ())
    context = channel.context(report)
    return failure_from_report(
        report, rootdir=rootdir, markers=markers, app=app, attempts=attempts, context=context
    )


class RetryEvidence:
    """Whether a failing test ran code changed since its last pass, for choosing retries (built on first use).

    Where tests run, while the run goes on: reads history and the map, and the
    code state now (one ``git status``), once per process.
    """

    def __init__(self, config: pytest.Config, settings: "OrchestraSettings", quarantine: QuarantineSpec) -> None:
        self.config = config
        self.settings = settings
        self.quarantine = quarantine
        self._assessor: Any = None
        self._store: Any = None
        self._failed = False

    def __call__(self, nodeid: str) -> Any:
        assessor = self._open()
        return assessor.verdict(nodeid) if assessor is not None else None

    def _open(self) -> Any:
        if self._assessor is not None or self._failed:
            return self._assessor
        self._failed = True
        from pytest_orchestra.core.codestate import session_code_state
        from pytest_orchestra.core.runinfo import git_state
        from pytest_orchestra.history.factory import open_history
        from pytest_orchestra.triage.assessment import HistoryAssessor, selection_map_path

        # The team's history when it is shared (a worker reads it like any reader), else the local file.
        self._store = open_history(self.settings, warn=lambda message: None)
        rootdir = self.settings.rootdir
        # The same state the run record holds (one read per process, the hub's when it is here).
        now = session_code_state(
            self.config.stash, rootdir, git_state(rootdir).commit, exclude=self.settings.output_dirs
        ).result()
        self._assessor = HistoryAssessor(self._store, now=now, rootdir=rootdir, map_path=selection_map_path(self.settings),
                                         min_runs=self.quarantine.min_runs, flip_rate=self.quarantine.flip_rate)
        self._failed = False
        return self._assessor

    def close(self) -> None:
        if self._assessor is not None:
            self._assessor.close()
        if self._store is not None:
            self._store.close()

    def pytest_sessionfinish(self) -> None:
        self.close()


def register(config: pytest.Config, settings: "OrchestraSettings", role: "ProcessRole") -> None:
    """Register triage's plugin objects where they have work (see the module docstring)."""
    runs_tests, is_controller = role.runs_tests, role.records
    from pytest_orchestra.triage.specs import (
        quarantine_spec,
        retries_spec,
        triage_spec,
    )

    sections = settings.workflow.sections
    triage = triage_spec(sections.get("triage"))
    retries = retries_spec(sections.get("retries"))
    quarantine = quarantine_spec(sections.get("quarantine"))
    reruns = config.getoption("orchestra_reruns")
    if reruns is not None:
        if reruns < 0:
            raise OrchestraError(f"--orchestra-reruns: expected an integer >= 0, got {reruns}")
        retries = dataclasses.replace(retries, max=reruns)
    model_path = settings.rootdir / (triage.model or f"{settings.workflow.reports.dir}/triage-model.json")
    classify = ClassifyFailure(config, triage, model_path, settings.rootdir)
    if is_controller and (settings.rootdir / triage.labels).exists():
        classify.load_labels()
    if runs_tests:
        patterns = config.getini("python_files") or ["test_*.py", "*_test.py"]
        if is_controller and retries.max == 0:
            config.pluginmanager.register(InProcessEvidence(settings.rootdir, patterns), InProcessEvidence.name)
        else:
            collector = EvidenceCollector(settings.rootdir, patterns, config.pluginmanager)
            config.pluginmanager.register(collector, "orchestra-evidence")
        if retries.max > 0:
            from pytest_orchestra.triage.retries import RetryRunner

            evidence = RetryEvidence(config, settings, quarantine)
            runner = RetryRunner(
                retries,
                classify,
                lambda report, item: failure_for(collector.attach(report), settings.rootdir),
                verdict=evidence,
            )
            config.pluginmanager.register(runner, "orchestra-retries")
            config.pluginmanager.register(evidence, "orchestra-retry-evidence")
    if is_controller and not runs_tests and retries.max > 0:
        from pytest_orchestra.triage.retries import RerunStatus

        config.pluginmanager.register(RerunStatus(), "orchestra-rerun-status")
    if is_controller:
        from pytest_orchestra.triage.controller import TriageController

        controller = TriageController(
            config, settings, triage, quarantine, classify,
            lambda report, app=None, attempts=1: failure_for(report, settings.rootdir, app=app, attempts=attempts),
        )
        config.pluginmanager.register(controller, "orchestra-triage")
