"""The controller's side of foreign runners: their runs in summary.json and the report folder.

* :class:`RunnersController` (the process that records): the ``runners``
  section of summary.json, the runners' output in the report folder, a
  summary line per runner problem, and old run folders cleaned up;
* :class:`XdistRunnerHooks` (only the xdist controller): the run's shared
  folder, handed to each worker.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Dict, List

import pytest

from pytest_orchestra.core import channel

#: workerinput key: the run's shared folder.
RUN_DIR_INPUT = "orchestra_runners_dir"
#: Runs whose runner output stays under .orchestra/runners/runs when no report took it.
KEEP_RUNS = 5


class RunnersController:
    def __init__(self, run_dir: Path, redactor: Any) -> None:
        self.run_dir = run_dir
        self.redactor = redactor
        self.runs: List[Dict[str, Any]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        run = channel.read(report, channel.RUNNER_RUN)
        if run:
            self.runs.append(run)

    def pytest_orchestra_report_sections(self, config: pytest.Config, result: Any) -> List[Any]:
        """summary.json's ``runners`` (each suite's run) and the suites' own reports and logs, under ``runners/``."""
        from pytest_orchestra.core.records import ReportSection

        runs = sorted(self.runs, key=lambda r: (r["runner"], r["cell"], r["artifacts"])) if self.runs else None
        files = []
        if self.run_dir.is_dir():
            for source in sorted(self.run_dir.rglob("*")):
                if source.is_file() and not source.name.endswith(".lock"):
                    name = (Path("runners") / source.relative_to(self.run_dir)).as_posix()
                    files.append((name, source.read_text(encoding="utf-8", errors="replace")))
        if runs is None and not files:
            return []
        return [ReportSection("runners", runs, files=tuple(files))]

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        root = self.run_dir.parent
        if not root.is_dir():
            return
        runs = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in runs[KEEP_RUNS:]:
            shutil.rmtree(old, ignore_errors=True)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        lines = []
        for run in self.runs:
            label = f"{run['runner']}[{run['cell']}]" if run["cell"] else run["runner"]
            if run["failure"]:
                lines.append(f"orchestra: runner {label}: {run['failure']['category']}: {run['failure']['message']}")
            for problem in run["problems"]:
                lines.append(f"orchestra: runner {label}: {problem}")
        for line in dict.fromkeys(lines):
            terminalreporter.write_line(line, yellow=True)


class XdistRunnerHooks:
    """Gives each xdist worker the run's shared folder (registered only with xdist)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[RUN_DIR_INPUT] = str(self.run_dir)
