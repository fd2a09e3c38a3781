"""Runs recorded in the local file while the shared database was out of reach, waiting to go up.

One small file per run in ``<reports.dir>/history-spool/``, naming the run
and the database it belongs to; the records themselves are in the local
``history.db``. The next session that reaches that database uploads each run
with ``import_run`` (which stores a run's tests exactly once, whatever part
of them arrived before the failure) and then removes its file. A session
killed between the two uploads the run again, and nothing is doubled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, List, Tuple

from pytest_orchestra.core.files import write_text_atomically


class Spool:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def add(self, run_id: str, database: str) -> None:
        """Note that ``run_id`` (in the local file) belongs in ``database`` (a URL identity)."""
        write_text_atomically(self._path(run_id), json.dumps({"run_id": run_id, "database": database}),
                              make_parents=True)

    def pending(self, database: str) -> List[str]:
        """Runs waiting for ``database``, oldest first (run ids sort by their start)."""
        try:
            names = sorted(os.listdir(self.folder))
        except OSError:
            return []
        waiting: List[str] = []
        for name in names:
            if not name.endswith(".json") or name.startswith("."):
                continue
            try:
                entry = json.loads((self.folder / name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # another session just uploaded it, or a half-written file
            if isinstance(entry, dict) and entry.get("database") == database and entry.get("run_id"):
                waiting.append(str(entry["run_id"]))
        return waiting

    def done(self, run_id: str) -> None:
        try:
            self._path(run_id).unlink()
        except FileNotFoundError:
            pass

    def _path(self, run_id: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
        return self.folder / f"{safe}.json"


def upload_pending(spool: Spool, database: str, local: Any, shared: Any) -> Tuple[int, int]:
    """Upload the runs waiting for ``database`` from ``local`` to ``shared``; (runs, tests) uploaded.

    A run still being recorded by another session is left for later; one whose
    local records are gone (pruned) is dropped from the spool. Stops at the first
    failure of ``shared`` (its ``failure`` is set): the rest stay spooled.
    """
    runs = tests = 0
    for run_id in spool.pending(database):
        run = local.get_run(run_id)
        if run is None:
            spool.done(run_id)
            continue
        if run.status == "running":
            continue
        added = shared.import_run(run, local.tests(run_id))
        if getattr(shared, "failure", None) is not None:
            break
        spool.done(run_id)
        runs += 1
        tests += added
    return runs, tests
