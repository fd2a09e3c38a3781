"""The xdist scheduler that keeps each chain on one worker, in order.

xdist's ``loadscope`` already sends a whole scope to one worker, in collection
order; only the scopes differ: a chain's tests share one scope (read from the
file the workers wrote after ordering), and the other tests are cut into small
runs of consecutive tests so they spread over all workers like ``load`` does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional

from xdist.scheduler import LoadScopeScheduling

CHAINS_FILE = "chains.json"

#: Work units per worker to aim for among tests outside chains (xdist's load sends ~4 rounds).
UNITS_PER_WORKER = 4


def write_chains(shared_dir: Path, chain_of: Dict[str, str]) -> None:
    """Written by every worker after ordering (the same content): nodeid -> chain key."""
    from pytest_orchestra.core.files import write_text_atomically

    write_text_atomically(shared_dir / CHAINS_FILE, json.dumps(chain_of))


def read_chains(shared_dir: Path) -> Dict[str, str]:
    try:
        data = json.loads((shared_dir / CHAINS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class ChainScheduling(LoadScopeScheduling):
    def __init__(self, config: Any, log: Any = None, *, shared_dir: Path) -> None:
        super().__init__(config, log)
        self.shared_dir = shared_dir
        self._scopes: Optional[Dict[str, str]] = None

    def remove_node(self, node: Any) -> Optional[str]:
        """A crashed worker's chain goes on elsewhere, without running the crashing test again.

        xdist's loadscope puts the crashed test back in the queue with the rest of
        its unit; xdist reports it as crashed, so here it counts as done before
        the rest of the unit is handed to another worker.
        """
        workload = self.assigned_work.pop(node)
        crashitem = next(
            (nodeid for unit in workload.values() for nodeid, done in unit.items() if not done), None
        )
        if crashitem is None:
            return None
        for unit in workload.values():
            if crashitem in unit:
                unit[crashitem] = True
        self.workqueue.update({scope: unit for scope, unit in workload.items() if not all(unit.values())})
        for other in self.assigned_work:
            self._reschedule(other)
        return crashitem

    def _reschedule(self, node: Any) -> None:
        """xdist's rescheduling, then: a worker keeps two tests to go, or is told to finish.

        An xdist worker holds back its last test until it is sent another or told to
        shut down (the next test decides which fixtures to tear down). xdist hands a
        worker one unit at a time; a replacement worker given a crashed worker's chain,
        with one test left, would wait forever for a second one that never comes.
        """
        super()._reschedule(node)
        if node.shutting_down or node not in self.assigned_work:
            return
        while self._pending_of(self.assigned_work[node]) < 2:
            if not self.workqueue:
                if self._pending_of(self.assigned_work[node]):
                    node.shutdown()  # it runs what it holds, then finishes
                return
            self._assign_work_unit(node)

    def _split_scope(self, nodeid: str) -> str:
        if self._scopes is None:
            self._scopes = self._build_scopes()
        return self._scopes.get(nodeid, nodeid)

    def _build_scopes(self) -> Dict[str, str]:
        chains = read_chains(self.shared_dir)
        collection = self.collection or []
        loose = [nodeid for nodeid in collection if nodeid not in chains]
        workers = max(1, len(self.nodes))
        size = max(1, len(loose) // (workers * UNITS_PER_WORKER))
        scopes = {nodeid: f"chain::{key}" for nodeid, key in chains.items()}
        for position, nodeid in enumerate(loose):
            scopes[nodeid] = f"run::{position // size}"
        return scopes
