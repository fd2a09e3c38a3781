"""What history says about each failure of a run: its flakiness and whether it ran changed code.

One :class:`HistoryAssessor` per process that needs it (the controller at the
end of a run, or a process deciding retries): it reads the test's history
once, compares runs by the code they tested (per test when the selection map
says what the test executed, see ``changedcode``), and answers both questions
from that one read. Everything that cannot be read (no history, no map, no
repository) makes an answer "unknown", never "flaky".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from pytest_orchestra.core.codestate import CodeState, repository_root, state_of_run
from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.triage.changedcode import (
    ChangedCode,
    ChangeVerdict,
    GitObjects,
    MapFootprints,
)
from pytest_orchestra.triage.flaky import OUTAGE_SHARE, FlakinessStats, flakiness

if TYPE_CHECKING:
    from pytest_orchestra.settings import OrchestraSettings

#: Past runs of a test read from history.
HISTORY_DEPTH = 50


@dataclass(frozen=True)
class Assessment:
    nodeid: str
    stats: FlakinessStats
    verdict: ChangeVerdict


class HistoryAssessor:
    """Reads history, the map and git for one run's failures; close it when done."""

    def __init__(
        self,
        store: Any,
        *,
        now: Optional[CodeState],
        rootdir: Path,
        map_path: Optional[Path],
        min_runs: int,
        flip_rate: float,
        warn: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.store = store
        self.min_runs = min_runs
        self.flip_rate = flip_rate
        self._outages: Optional[set[str]] = None
        self.footprints: Optional[MapFootprints] = None
        if map_path is not None and map_path.exists():
            from pytest_orchestra.selection.mapstore import MapError

            try:
                self.footprints = MapFootprints(map_path)
            except MapError as error:
                warn(f"orchestra: triage cannot read the map ({error}); changed code is judged per run")
        root = repository_root(rootdir)
        prefix = ""
        if root is not None:
            try:
                prefix = rootdir.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                prefix = ""
        self.objects = GitObjects(root) if root is not None else None
        footprints = self.footprints
        self.changed = ChangedCode(
            now=now,
            objects=self.objects,
            prefix="" if prefix == "." else prefix,
            footprint_of=footprints.footprint if footprints is not None else (lambda nodeid: None),
            map_source=footprints.source if footprints is not None else (lambda digest: None),
            rootdir=rootdir,
        )

    def outage_runs(self) -> set[str]:
        """Past runs where more than 80% of the executed tests failed: outages, not flakes."""
        if self._outages is None:
            self._outages = {
                run.run_id
                for run in self.store.runs(limit=200)
                if run.success_rate is not None and run.success_rate < 1 - OUTAGE_SHARE
            }
        return self._outages

    def assess(self, record: TestRecord, run: Optional[RunRecord]) -> Assessment:
        """Flakiness and the changed-code verdict of ``record``, the test's result in ``run`` (this run)."""
        nodeid = record.nodeid
        current = run.run_id if run is not None else None
        past = [(r, t) for r, t in self.store.test_history(nodeid, limit=HISTORY_DEPTH) if r.run_id != current]
        history: List[Tuple[RunRecord, TestRecord]] = ([(run, record)] if run is not None else []) + past
        footprint = self.changed.footprint_of(nodeid)
        states: Dict[str, Optional[str]] = {}

        def state_of(past_run: RunRecord) -> Optional[str]:
            if past_run.run_id not in states:
                state = state_of_run(past_run.commit, past_run.code_state, past_run.code_changes)
                states[past_run.run_id] = self.changed.state_for_test(state, footprint)
            return states[past_run.run_id]

        stats = flakiness(history, min_runs=self.min_runs, flip_rate=self.flip_rate,
                          outage_runs=self.outage_runs(), state_of=state_of)
        verdict = self.changed.verdict(nodeid, past, current_run=current)
        return Assessment(nodeid, stats, verdict)

    def verdict(self, nodeid: str) -> ChangeVerdict:
        """Only the changed-code verdict (for deciding a retry while the run goes on)."""
        past = self.store.test_history(nodeid, limit=HISTORY_DEPTH)
        return self.changed.verdict(nodeid, past)

    def close(self) -> None:
        if self.objects is not None:
            self.objects.close()
        if self.footprints is not None:
            self.footprints.close()


def selection_map_path(settings: "OrchestraSettings") -> Path:
    """The selection map (what each test executed), where the workflow's ``selection.map`` puts it."""
    section = settings.workflow.sections.get("selection") or {}
    return settings.rootdir / str(section.get("map") or ".orchestra/map.db")
