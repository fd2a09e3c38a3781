"""What became of each test in this process, and whether a dependent may run.

Pure logic fed by phase reports. Chains run in one process (one xdist worker,
one CI shard), so the outcomes a dependent needs were recorded here before it
starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterable, Optional

from pytest_orchestra.ordering.resolver import Upstream

#: States that let a dependent run.
PASSING_STATES = frozenset({"passed"})

#: The outcome file the xdist controller writes in the run's shared folder.
OUTCOMES_FILE = "outcomes.tsv"

_STATE_TEXT = {
    "failed": "failed",
    "error": "errored",
    "skipped": "was skipped",
    "blocked": "was skipped because its own dependency did not pass",
    "xfailed": "failed (xfail)",
    "deselected": "was deselected (-k, -m or selection)",
}
_KNOWN_STATES = frozenset(_STATE_TEXT) | PASSING_STATES


class OutcomeBook:
    """Final state per node id (``passed``, ``failed``, ``error``, ``skipped``, ``blocked``...)
    and, per app, the first test that broke it."""

    def __init__(self) -> None:
        self.states: Dict[str, str] = {}
        self.broken_apps: Dict[str, str] = {}

    def record(self, report: Any, app: Optional[str], *, blocked: bool = False) -> None:
        """Fold one phase report (``rerun`` attempts are ignored: a retry follows)."""
        nodeid, when, outcome = report.nodeid, report.when, report.outcome
        if outcome == "rerun":
            return
        state: Optional[str] = None
        if outcome == "failed":
            state = "error" if when != "call" else "failed"
        elif outcome == "skipped":
            state = "blocked" if blocked else "xfailed" if getattr(report, "wasxfail", None) is not None else "skipped"
        elif outcome == "passed" and when == "call":
            state = "passed"
        if state is None:
            return
        previous = self.states.get(nodeid)
        if previous in ("failed", "error") and state == "passed":
            return  # a teardown pass never hides a failed call
        if when == "teardown" and previous not in (None, "passed"):
            return  # keep the more telling call/setup state
        self.states[nodeid] = state
        if app and state in ("failed", "error", "blocked") and app not in self.broken_apps:
            self.broken_apps[app] = f"{nodeid} {_STATE_TEXT[state]}"

    def record_state(self, nodeid: str, state: str, app: Optional[str]) -> bool:
        """Set a final state directly; True when it changed (what the outcome file carries)."""
        if self.states.get(nodeid) == state:
            return False
        self.states[nodeid] = state
        if app and state in ("failed", "error", "blocked") and app not in self.broken_apps:
            self.broken_apps[app] = f"{nodeid} {_STATE_TEXT[state]}"
        return True

    def merge_file(self, path: Path) -> None:
        """Fold in outcomes another process recorded (``nodeid<TAB>state<TAB>app`` lines).

        What this process saw itself wins: the file only fills gaps, e.g. the
        upstream tests that ran on a worker which then crashed.
        """
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            return
        for line in text.splitlines():
            parts = line.split("\t")
            if len(parts) == 3 and parts[0] not in self.states and parts[1] in _KNOWN_STATES:
                self.record_state(parts[0], parts[1], parts[2] or None)

    def mark_deselected(self, nodeids: Iterable[str]) -> None:
        for nodeid in nodeids:
            self.states.setdefault(nodeid, "deselected")

    def blocker(self, upstreams: Iterable[Upstream]) -> Optional[str]:
        """Why a test with these dependencies must not run, or None when all passed."""
        for upstream in upstreams:
            if upstream.kind == "app":
                broken = self.broken_apps.get(upstream.name)
                if broken:
                    return f"requires app {upstream.name} ({upstream.via}): {broken}"
                continue
            state = self.states.get(upstream.name)
            if state in PASSING_STATES:
                continue
            text = _STATE_TEXT.get(state or "", "did not run in this process")
            return f"requires {upstream.name} ({upstream.via}), which {text}"
        return None
