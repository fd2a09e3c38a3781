"""The controller's side of ordering: records of skipped dependents, and xdist's chain scheduling.

* :class:`OrderingRecorder` (the process that records): category
  ``dependency`` on skipped dependents' records, the report's ordering section.
* :class:`XdistHooks` (only the xdist controller): the chain scheduler, and
  the run's shared folder handed to the workers.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

import pytest

from pytest_orchestra.core import channel
from pytest_orchestra.ordering.guard import DEPENDENCY_CONTEXT

if TYPE_CHECKING:
    from pytest_orchestra.core.records import RunResult, TestRecord
    from pytest_orchestra.ordering.sharding import ShardRequest

#: workerinput keys the controller hands to each worker.
SHARED_DIR_INPUT = "orchestra_shared_dir"
DIST_INPUT = "orchestra_dist"


class OrderingRecorder:
    """Category ``dependency`` for skipped dependents; the summary's ordering section."""

    def __init__(self, shard: Optional["ShardRequest"]) -> None:
        self.shard = shard
        self.dependency_skipped: List[Dict[str, str]] = []

    #: A record listener (``core.records.RecordListener``): only skipped records are changed.
    wants_passing = False

    def pytest_orchestra_record_listeners(self, config: pytest.Config) -> List["OrderingRecorder"]:
        return [self]

    def wants(self, record: "TestRecord") -> bool:
        return record.outcome == "skipped"

    def recorded(self, record: "TestRecord", reports: Sequence[Any]) -> None:
        if record.outcome != "skipped":
            return
        for report in reports:
            reason = channel.fact(report, DEPENDENCY_CONTEXT)
            if reason:
                record.category = DEPENDENCY_CONTEXT
                record.message = reason
                self.dependency_skipped.append({"nodeid": record.nodeid, "reason": reason})
                return

    def pytest_orchestra_report_sections(self, config: pytest.Config, result: "RunResult") -> List[Any]:
        if self.shard is None and not self.dependency_skipped:
            return []
        from pytest_orchestra.ordering.report import report_section

        return [report_section({
            "shard": str(self.shard) if self.shard else None,
            "dependency_skipped": self.dependency_skipped,
        })]


class XdistHooks:
    """Only on the xdist controller: the chain scheduler and the workers' shared folder."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.shared_dir = Path(tempfile.mkdtemp(prefix="orchestra-run-"))
        self._members: Optional[set] = None
        self._book: Any = None

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[SHARED_DIR_INPUT] = str(self.shared_dir)
        node.workerinput[DIST_INPUT] = self.config.getvalue("dist")

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if config.getvalue("dist") != "load":
            return None  # the user chose a mode: keep it
        from pytest_orchestra.ordering.scheduler import ChainScheduling

        return ChainScheduling(config, log, shared_dir=self.shared_dir)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Write chain members' outcomes down, for a worker that takes over a crashed worker's chain."""
        if self._members is None:
            from pytest_orchestra.ordering.outcomes import OutcomeBook
            from pytest_orchestra.ordering.scheduler import read_chains

            self._members = set(read_chains(self.shared_dir))
            self._book = OutcomeBook()
        if report.nodeid not in self._members:
            return
        app = (getattr(report, "orchestra", None) or {}).get("app")
        before = self._book.states.get(report.nodeid)
        self._book.record(report, app)
        state = self._book.states.get(report.nodeid)
        if state is not None and state != before:
            from pytest_orchestra.ordering.outcomes import OUTCOMES_FILE

            with open(self.shared_dir / OUTCOMES_FILE, "a", encoding="utf-8") as handle:
                handle.write(f"{report.nodeid}\t{state}\t{app or ''}\n")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        shutil.rmtree(self.shared_dir, ignore_errors=True)
