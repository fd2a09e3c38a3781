"""Pytest wiring of change-based selection and map recording.

* :class:`MapRecording` (``--orchestra-record-map``, every process that runs
  tests): switches the recorders' context at each test and higher-scoped
  fixture, and merges what it saw into the map at the end. Recording starts in
  ``pytest_load_initial_conftests`` so imports by conftest files count.
* :class:`ChangeSelection` (``--orchestra-changed`` / ``--orchestra-audit``,
  every process that collects): computes the selection after collection,
  orders and deselects; skips collection when nothing changed.
* :class:`SelectionReport` (the controller): the terminal lines, the summary
  section, ``selection.json`` and the audit.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Generator, List, Optional, Sequence

import pytest

from pytest_orchestra.selection.mapformat import (
    KIND_COLLECT,
    KIND_FIXTURE,
    KIND_TEST,
    collect_context,
    fixture_context,
)
from pytest_orchestra.selection.recorder import IMPORT_CONTEXT

if TYPE_CHECKING:
    from pytest_orchestra.core.records import ReportSection, RunResult
    from pytest_orchestra.core.roles import ProcessRole
    from pytest_orchestra.selection.engine import SelectionOutcome
    from pytest_orchestra.selection.recorder import OpenRecorder, ProjectFiles
    from pytest_orchestra.settings import OrchestraSettings

RECORDERS_KEY = pytest.StashKey[Any]()
WORKER_OUTPUT_KEY = "orchestra_selection"


# --- recording ------------------------------------------------------------------------


def start_recording_early(early_config: pytest.Config) -> None:
    """Start the recorders before the initial conftests are imported."""
    from pytest_orchestra.selection.recorder import OpenRecorder, ProjectFiles
    from pytest_orchestra.selection.tracers import line_recorder

    root = Path(str(early_config.rootpath))
    package_dir = Path(__file__).resolve().parent.parent
    files = ProjectFiles(root, exclude=[package_dir])
    lines = line_recorder(files)
    opens = OpenRecorder(files)
    lines.start()
    opens.start()
    early_config.stash[RECORDERS_KEY] = (files, lines, opens)


def register(config: pytest.Config, settings: "OrchestraSettings", role: "ProcessRole") -> None:
    runs_tests, is_controller = role.runs_tests, role.records
    from pytest_orchestra.selection.config import selection_spec

    spec = selection_spec(settings.workflow.sections.get("selection"))
    map_path = settings.rootdir / spec.map
    recorders = config.stash.get(RECORDERS_KEY, None)
    if config.getoption("orchestra_record_map"):
        if runs_tests:
            if recorders is None:  # the plugin was loaded late (``-p``): record from here on
                start_recording_early(config)
                recorders = config.stash[RECORDERS_KEY]
            config.pluginmanager.register(MapRecording(config, settings, map_path, recorders), "orchestra-map")
        elif recorders is not None:
            recorders[1].stop()
            recorders[2].stop()
    changed = settings.changed
    audit = bool(config.getoption("orchestra_audit"))
    explain = bool(config.getoption("orchestra_explain"))
    if changed is None and explain and not audit:
        changed = ""
    if changed is None and not audit:
        return
    mode = "audit" if audit else "changed"
    if runs_tests:
        config.pluginmanager.register(
            ChangeSelection(config, settings, spec, map_path, mode=mode, ref=changed or None),
            "orchestra-selection",
        )
    if is_controller:
        config.pluginmanager.register(SelectionReport(config, mode=mode, explain=explain), "orchestra-selection-report")


class MapRecording:
    def __init__(self, config: pytest.Config, settings: "OrchestraSettings", map_path: Path, recorders: Any) -> None:
        self.config = config
        self.settings = settings
        self.map_path = map_path
        self.files: "ProjectFiles" = recorders[0]
        self.lines = recorders[1]
        self.opens: "OpenRecorder" = recorders[2]
        self.stack: List[str] = []
        self.fixtures: Dict[str, Sequence[str]] = {}
        self.kinds: Dict[str, str] = {}
        self.warning: Optional[str] = None

    def _switch(self, context: str) -> None:
        self.lines.switch(context)
        self.opens.switch(context)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, None, None]:
        nodeid = item.nodeid  # once per test: nothing imported here
        self.fixtures[nodeid] = tuple(getattr(item, "fixturenames", ()))
        self.kinds[nodeid] = KIND_TEST
        self.stack = [nodeid]
        self._switch(nodeid)
        yield
        self.stack = []
        self._switch(IMPORT_CONTEXT)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Generator[None, None, None]:
        if not isinstance(collector, pytest.Module):
            yield
            return
        # Imports and files read while this test file is imported belong to its tests.
        context = collect_context(collector.nodeid.split("::", 1)[0])
        self.kinds[context] = KIND_COLLECT
        self._switch(context)
        try:
            yield
        finally:
            self._switch(IMPORT_CONTEXT)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> Generator[None, None, None]:
        if fixturedef.scope == "function" or not self.stack:
            yield
            return
        context = fixture_context(fixturedef.argname, fixturedef.baseid or "")
        self.kinds[context] = KIND_FIXTURE
        self.stack.append(context)
        self._switch(context)
        try:
            yield
        finally:
            self.stack.pop()
            self._switch(self.stack[-1])

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from pytest_orchestra.core.runinfo import git_state
        from pytest_orchestra.selection.mapstore import MapError
        from pytest_orchestra.selection.recording import build_recording

        line_data = self.lines.stop()
        open_data = self.opens.stop()
        if not any(kind == "test" for kind in self.kinds.values()):
            return
        recording = build_recording(
            self.settings.rootdir, self.files, line_data, open_data, self.kinds, self.fixtures,
            commit=git_state(self.settings.rootdir).commit,
        )
        try:
            self.warning = save_with_retries(self.map_path, recording)
        except (OSError, MapError, Exception) as exc:  # never lose the run over the map
            self.warning = f"orchestra: could not write the map {self.map_path}: {exc}"
        if self.warning:
            _write_line(self.config, self.warning)
        if getattr(self.lines, "paused_other", False):
            _write_line(self.config, "orchestra: another coverage.py measurement (pytest-cov, coverage run) was "
                        "paused while the map recorded: its data for this run is incomplete; record the map "
                        "in a run without it")


def save_with_retries(map_path: Path, recording: Any, *, attempts: int = 120) -> Optional[str]:
    """Save, waiting out other processes (xdist workers, shards on one machine) that hold the map;
    returns the warning opening it gave, if any.

    SQLite's busy timeout does not cover every lock (switching to WAL while another
    process creates the file fails at once), so a locked map is retried for about a minute.
    """
    import sqlite3

    from pytest_orchestra.selection.mapstore import MapStore, _is_lock

    for attempt in range(attempts):
        try:
            store, warning = MapStore.open_for_recording(map_path)
            try:
                store.save(recording)
            finally:
                store.close()
            return warning
        except sqlite3.OperationalError as exc:
            if not _is_lock(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.5)
    return None  # pragma: no cover - the last attempt returns or raises


# --- selecting ------------------------------------------------------------------------


class ChangeSelection:
    def __init__(self, config: pytest.Config, settings: "OrchestraSettings", spec: Any, map_path: Path, *,
                 mode: str, ref: Optional[str]) -> None:
        from pytest_orchestra.selection.engine import SelectionEngine

        self.config = config
        self.mode = mode
        self.engine = SelectionEngine(settings, spec, map_path, ref=ref, mode=mode)
        self.outcome: Optional["SelectionOutcome"] = None
        self.skipped_collection = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> Optional[bool]:
        if self.mode != "changed" or self.config.getoption("orchestra_record_map"):
            return None
        outcome = self.engine.nothing_changed()
        if outcome is None:
            return None
        self.outcome = outcome
        self.skipped_collection = True
        session.items = []
        session.testscollected = 0
        self._publish()
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: List[pytest.Item]) -> None:
        outcome = self.engine.select(items)
        self.outcome = outcome
        if self.mode == "changed":
            by_id = {item.nodeid: item for item in items}
            keep = [by_id[nodeid] for nodeid in outcome.ordered]
            deselected = [item for item in items if item.nodeid not in outcome.kept]
            if deselected:
                config.hook.pytest_deselected(items=deselected)
            items[:] = keep
        self._publish()

    def _publish(self) -> None:
        assert self.outcome is not None
        data = self.outcome.to_json()
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[WORKER_OUTPUT_KEY] = json.dumps(data)
        report = self.config.pluginmanager.get_plugin("orchestra-selection-report")
        if report is not None:
            report.received(data)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.mode == "changed" and self.outcome is not None and not self.outcome.kept:
            if session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
                session.exitstatus = pytest.ExitCode.OK


# --- reporting (controller) -----------------------------------------------------------


class SelectionReport:
    def __init__(self, config: pytest.Config, *, mode: str, explain: bool) -> None:
        self.config = config
        self.mode = mode
        self.explain = explain
        self.data: Optional[Dict[str, Any]] = None
        self.printed = False

    def received(self, data: Dict[str, Any]) -> None:
        if self.data is None:
            self.data = data
            if not hasattr(self.config, "workerinput"):
                self._print_lines()

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        if WORKER_OUTPUT_KEY in output and self.data is None:
            self.data = json.loads(output[WORKER_OUTPUT_KEY])

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.mode == "changed" and self.data is not None and not self.data.get("selected"):
            if session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
                session.exitstatus = pytest.ExitCode.OK

    def pytest_orchestra_run_finished(self, config: pytest.Config, result: "RunResult") -> None:
        from pytest_orchestra.selection.engine import audit_violations

        if self.data is not None and self.mode == "audit":
            self.data["audit"] = audit_violations(self.data, result.tests)

    def pytest_orchestra_report_sections(self, config: pytest.Config, result: "RunResult") -> List["ReportSection"]:
        """summary.json's ``selection``, report.md's Selection section, and ``selection.json``."""
        if self.data is None:
            return []
        from pytest_orchestra.selection.engine import summary_section
        from pytest_orchestra.selection.report import report_section

        return [report_section(summary_section(self.data), json.dumps(self.data, indent=2, sort_keys=True) + "\n")]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.data is None:
            return
        if not self.printed:
            self._print_lines()
        audit = self.data.get("audit")
        if audit is not None:
            violations = audit.get("violations", [])
            if violations:
                terminalreporter.write_line(
                    f"orchestra: audit: {len(violations)} failing tests the selection would have left out:",
                    red=True, bold=True,
                )
                for nodeid in violations[:20]:
                    terminalreporter.write_line(f"orchestra:   {nodeid}", red=True)
            else:
                terminalreporter.write_line(
                    f"orchestra: audit: every failing test ({audit.get('failed', 0)}) was selected; "
                    "no safety violation"
                )

    def _print_lines(self) -> None:
        from pytest_orchestra.selection.engine import explain_lines, headline

        assert self.data is not None
        self.printed = True
        _write_line(self.config, headline(self.data, self.mode))
        if self.explain:
            for line in explain_lines(self.data):
                _write_line(self.config, line)


def _write_line(config: pytest.Config, line: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)
    else:  # pragma: no cover - only with -p no:terminal
        sys.stderr.write(line + "\n")
