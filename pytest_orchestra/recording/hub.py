"""The controller's recorder: run records, the gate, reports and the terminal summary.

Registered only in the process that sees every report (no xdist, or the xdist
controller), so records and reports are written once. Per-test work is kept
to keeping the report: reports are folded into records, and the records
written to history, in batches (every ``FOLD_EVERY_REPORTS`` reports or
``FLUSH_EVERY_SECONDS``, whichever comes first), so a killed run keeps what it
finished up to the last batch.
"""

from __future__ import annotations

import os
import time
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import pytest

from pytest_orchestra.core.gates import GATE_FAILED_EXIT_CODE, evaluate_gates
from pytest_orchestra.core.records import (
    FAILING_OUTCOMES,
    GateVerdict,
    RecordListener,
    RunRecord,
    RunResult,
    TestRecord,
    success_rate,
)
from pytest_orchestra.core.runinfo import (
    detect_trigger,
    git_state,
    host_name,
    new_run_id,
)
from pytest_orchestra.recording.folding import RecordFolder, collection_error_record
from pytest_orchestra.recording.terminal import style, summary_lines

if TYPE_CHECKING:
    from pytest_orchestra.core.codestate import CodeStateReader
    from pytest_orchestra.history import RunHistory
    from pytest_orchestra.settings import OrchestraSettings

#: Fold the phase reports received so far into records, and write those to the
#: history database, this often: about every 500 tests, and at least every 2 seconds.
FOLD_EVERY_REPORTS = 1500
FLUSH_EVERY_SECONDS = 2.0

_monotonic = time.monotonic

_WORKER = attrgetter("worker")
_QUARANTINED = attrgetter("quarantined")

#: Exit statuses after which a run counts as complete.
COMPLETE_EXIT_STATUSES = frozenset({0, 1, 5, GATE_FAILED_EXIT_CODE})


class RunHub:
    """The run's hub on the controller: records, history, the gate, the reports, the exit status.

    Capabilities reach the run through it: they are told of each record they
    declare an interest in (``pytest_orchestra_record_listeners``), contribute
    sections and files to the report (``pytest_orchestra_report_sections``),
    and read the session's history through :attr:`store`.
    """

    #: The name this plugin is registered under.
    name = "orchestra-hub"

    def __init__(self, config: pytest.Config, settings: "OrchestraSettings") -> None:
        self.config = config
        self.settings = settings
        self.redactor = settings.redactor
        self.folder = RecordFolder(settings.rootdir)
        self.records: List[TestRecord] = []
        self.pending: List[TestRecord] = []
        #: Phase reports not folded into records yet (see FOLD_EVERY_REPORTS).
        self.unfolded: List[Any] = []
        self.collect_errors: set[str] = set()
        self.store: Optional["RunHistory"] = None
        self.run: Optional[RunRecord] = None
        self.result: Optional[RunResult] = None
        self.report_path: Optional[Path] = None
        self.notes: List[str] = []
        self.annotations: List[str] = []
        self._next_flush = _monotonic() + FLUSH_EVERY_SECONDS
        #: The capabilities told of the records they want (see ``RecordListener``).
        self.listeners: List[RecordListener] = []
        #: Whether any listener may act on a plain passing record.
        self._passing_wanted = False
        #: Whether some plugin (a user's conftest) implements ``pytest_orchestra_test_recorded``:
        #: it gets every record, as documented.
        self._hook_wanted = False
        #: Reads the code state the run tests beside the tests (see ``codestate``).
        self._code_state: Optional["CodeStateReader"] = None

    # -- session lifecycle -------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        git = git_state(self.settings.rootdir)
        self.run = RunRecord(
            run_id=new_run_id(),
            started=time.time(),
            commit=git.commit,
            branch=git.branch,
            trigger=detect_trigger(),
            host=host_name(),
            pid=os.getpid(),
            args=self.redactor.redact(" ".join(self.config.invocation_params.args)),
            run_group=self.settings.history.group,
            shard=self.settings.history.shard,
        )
        if self.settings.records:
            from pytest_orchestra.history.factory import open_history

            if git.commit:
                from pytest_orchestra.core.codestate import session_code_state

                self._code_state = session_code_state(
                    self.config.stash, self.settings.rootdir, git.commit, exclude=self.settings.output_dirs
                )
            self.store = open_history(self.settings, warn=self._warn, record=True)
            self.store.begin_run(self.run)
        hook = self.config.hook
        self.listeners = [listener for found in hook.pytest_orchestra_record_listeners(config=self.config)
                          for listener in found or ()]
        self._passing_wanted = any(listener.wants_passing for listener in self.listeners)
        self._hook_wanted = bool(hook.pytest_orchestra_test_recorded.get_hookimpls())
        hook.pytest_orchestra_run_started(config=self.config, run=self.run)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Called for every phase of every test: keep the report, fold later. Never right
        # after a failing report: pytest_exception_interact may still add to it (triage's evidence).
        unfolded = self.unfolded
        unfolded.append(report)
        if (len(unfolded) >= FOLD_EVERY_REPORTS or _monotonic() >= self._next_flush) and report.outcome != "failed":
            self._fold()
            self._flush()

    def _fold(self) -> None:
        """Turn the reports received so far into records (those whose teardown came)."""
        unfolded, self.unfolded = self.unfolded, []
        if unfolded:
            self.folder.add_all(unfolded, self._finish_record)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if not report.failed:
            return
        record = collection_error_record(report, self.settings.rootdir)
        if record.nodeid in self.collect_errors:
            return
        self.collect_errors.add(record.nodeid)
        self._fold()  # records stay in the order pytest reported them
        self._finish_record(record, [report])

    def _finish_record(self, record: TestRecord, reports: Sequence[Any]) -> None:
        if record.message:
            record.message = self.redactor.redact(record.message)
        if record.outcome != "passed" or record.flaky or self._passing_wanted:  # most records: a plain pass
            for listener in self.listeners:
                if listener.wants(record):
                    listener.recorded(record, reports)
        if self._hook_wanted:
            self.config.hook.pytest_orchestra_test_recorded(config=self.config, record=record, reports=reports)
        self.records.append(record)
        if self.store is not None:
            self.pending.append(record)

    def _flush(self) -> None:
        if self.store is not None and self.pending and self.run is not None:
            self.store.add_tests(self.run.run_id, self.pending)
        self.pending = []
        self._next_flush = _monotonic() + FLUSH_EVERY_SECONDS

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        run = self.run
        if run is None:  # sessionstart never ran (a usage error before it)
            return
        self._fold()
        for record, reports in self.folder.drain():
            self._finish_record(record, reports)
        run.ended = time.time()
        if self._code_state is not None:
            state = self._code_state.result()
            if state is not None:
                run.code_state, run.code_changes = state.key, state.changes_json()
        records = self.records
        # Over every record of the run, so counted in C (map) rather than per record in Python.
        run.workers = len(set(map(_WORKER, records)) - {None, ""})
        quarantined = any(map(_QUARANTINED, records))
        run.success_rate = success_rate([r for r in records if not r.quarantined] if quarantined else records)
        dimensions, values = self._matrix_tables()
        result = RunResult(
            run=run,
            tests=self.records,
            workflow_source=self.settings.workflow.source,
            matrix_dimensions=dimensions,
            sections={"matrix_values": values},
        )
        result.gate = self._evaluate_gate(result)
        status = int(session.exitstatus)
        failing = [r for r in records if r.outcome in FAILING_OUTCOMES] if quarantined else []
        if status == pytest.ExitCode.TESTS_FAILED and failing and all(r.quarantined for r in failing):
            # Quarantined tests still run and are reported, but fail nothing.
            session.exitstatus = status = pytest.ExitCode.OK
        if result.gate.enabled and not result.gate.passed and status in (0, 1):
            session.exitstatus = GATE_FAILED_EXIT_CODE
        run.exit_status = int(session.exitstatus)
        run.gate_passed = result.gate.passed if result.gate.enabled else None
        run.status = (
            "complete"
            if run.exit_status in COMPLETE_EXIT_STATUSES
            else "interrupted"
            if run.exit_status == pytest.ExitCode.INTERRUPTED
            else "incomplete"
        )
        self.config.hook.pytest_orchestra_run_finished(config=self.config, result=result)
        for sections in self.config.hook.pytest_orchestra_report_sections(config=self.config, result=result):
            for section in sections or ():
                result.add_section(section)
        self.result = result
        if self.settings.records:
            self._write(result)

    def _evaluate_gate(self, result: RunResult) -> GateVerdict:
        gates = self.settings.gates
        if gates is None:
            return GateVerdict()
        previous = None
        if gates.no_regression and self.store is not None:
            # A shard compares with the same shard of an earlier pipeline, never with its siblings.
            run = result.run
            previous = self.store.last_run(branch=run.branch, exclude=run.run_id, shard=run.shard,
                                           exclude_group=run.run_group)
        verdict = evaluate_gates(
            gates,
            result.tests,
            previous_rate=previous.success_rate if previous else None,
            previous_run_id=previous.run_id if previous else None,
            branch=result.run.branch,
        )
        for extra in self.config.hook.pytest_orchestra_gate_checks(config=self.config, result=result, gates=gates):
            verdict.checks.extend(extra or ())
        return verdict

    def _matrix_tables(self) -> Tuple[List[str], Dict[str, List[str]]]:
        """The matrix dimensions the run's tests used, in declaration order, then as first seen,
        and every dimension's values: the declared ones, then others as the tests met them."""
        declared = self.settings.workflow.matrix.dimensions
        values: Dict[str, List[str]] = {dim: list(known) for dim, known in declared.items()}
        undeclared: List[str] = []
        used: set = set()
        for record in self.records:
            matrix = record.matrix
            if not matrix:  # most tests: one check
                continue
            for dim, value in matrix.items():
                bucket = values.get(dim)
                if bucket is None:
                    bucket = values[dim] = []
                    undeclared.append(dim)
                if value not in bucket:
                    bucket.append(value)
                used.add(dim)
        dimensions = [dim for dim in [*declared, *undeclared] if dim in used]
        return dimensions, values

    # -- writing -----------------------------------------------------------------------

    def _write(self, result: RunResult) -> None:
        from pytest_orchestra.reporting.writer import (
            prune_reports,
            update_latest,
            write_reports,
        )

        run = result.run
        self._flush()
        reports = self.settings.workflow.reports
        explicit = self.settings.report_dir
        run_dir = explicit if explicit is not None else self.settings.reports_root / run.run_id
        if self.store is not None:
            from pytest_orchestra.history.trends import report_trends

            self.store.finish_run(run)
            trends = report_trends(self.store, run, runs=self.settings.history.trend_runs)
            if trends is not None:
                from pytest_orchestra.history.render import report_section

                result.add_section(report_section(trends))
        try:
            paths = write_reports(result, run_dir, redactor=self.redactor)
            if explicit is None:
                update_latest(self.settings.reports_root, run_dir)
                prune_reports(self.settings.reports_root, reports.keep)
        except OSError as exc:
            self._warn(f"orchestra: could not write reports to {run_dir}: {exc}")
            paths = None
        if self.store is not None:
            self.store.prune(self.settings.history.keep_runs)
            self.store.close()
        if paths is None:
            return
        self.report_path = paths.markdown
        if run.trigger == "github-actions":
            self._github(result, paths.markdown)
        if reports.otel and (
            os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        ):
            from pytest_orchestra.reporting.events import build_spans
            from pytest_orchestra.reporting.otlp import export_spans

            reason = export_spans(build_spans(result), redactor=self.redactor)
            if reason:
                self.notes.append(self.redactor.redact(f"orchestra: {reason}"))
        self.config.hook.pytest_orchestra_reports_written(config=self.config, result=result, report_dir=run_dir)

    def _github(self, result: RunResult, markdown_path: Path) -> None:
        from pytest_orchestra.reporting.github import (
            annotation_lines,
            append_step_summary,
        )

        github = self.settings.workflow.reports.github
        summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
        if github.step_summary and summary_file:
            try:
                if append_step_summary(Path(summary_file), markdown_path.read_text(encoding="utf-8")):
                    self.notes.append("orchestra: report.md was cut to fit GitHub's 1 MiB step summary")
            except OSError as exc:
                self._warn(f"orchestra: could not append to GITHUB_STEP_SUMMARY ({summary_file}): {exc}")
        if github.annotations:
            workspace = os.environ.get("GITHUB_WORKSPACE")
            lines = annotation_lines(
                result,
                rootdir=self.settings.rootdir,
                workspace=Path(workspace) if workspace else None,
                max_annotations=github.max_annotations,
            )
            self.annotations = [self.redactor.redact(line) for line in lines]

    # -- output ------------------------------------------------------------------------

    def _warn(self, message: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(message, yellow=True)
        else:  # pragma: no cover - only with -p no:terminal
            import sys

            sys.stderr.write(message + "\n")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        result = self.result
        if result is None:
            return
        for line in self.annotations:
            terminalreporter.write_line(line)
        for line in summary_lines(result, self.report_path, self.settings.rootdir):
            terminalreporter.write_line(line, **style(line))
        for note in self.notes:
            terminalreporter.write_line(note, yellow=True)


def session_history(config: pytest.Config) -> Optional["RunHistory"]:
    """The history store the hub opened for this session (None when runs are not recorded)."""
    hub = config.pluginmanager.get_plugin(RunHub.name)
    return getattr(hub, "store", None)



def register(config: pytest.Config, settings: "OrchestraSettings", role: Any) -> None:
    """The hub lives where every report arrives: the only process, or xdist's controller."""
    if role.records:
        config.pluginmanager.register(RunHub(config, settings), RunHub.name)
