"""Judging a run's classified failures against history, at the end of the run.

History is read once per failing test (``assessment``): a test whose history
flips between runs of the same code becomes ``flaky``, unless its failure ran
code changed since its last pass (DeFlaker's rule), a reviewed label decided
it, or its category names a cause flakiness would hide. When the quarantine
is automatic, tests found flaky on that evidence are quarantined from the
next run on, reusing what was read.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Callable, List, Sequence

import pytest

from pytest_orchestra.core.records import RunResult
from pytest_orchestra.triage.specs import QuarantineSpec

if TYPE_CHECKING:
    from pytest_orchestra.settings import OrchestraSettings
    from pytest_orchestra.triage.entry import TriageEntry

#: Categories history may turn into ``flaky``: the others name a cause that flakiness would hide.
FLAKY_MAY_OVERRIDE = frozenset({"product", "test", "data", "unknown"})


def judge_with_history(
    entries: Sequence["TriageEntry"],
    result: RunResult,
    *,
    config: pytest.Config,
    settings: "OrchestraSettings",
    quarantine_spec: QuarantineSpec,
    quarantine: Any,
    warn: Callable[[str], None],
) -> List[Any]:
    """Flakiness between runs of the same code, changed code since the last pass, auto-quarantine.

    Sets each entry's assessment (and flakiness, and the flaky verdict); returns
    the quarantine entries this run added (none without a history store).
    """
    store = _history_store(config)
    if store is None:
        return []
    from pytest_orchestra.core.codestate import state_of_run
    from pytest_orchestra.triage.assessment import HistoryAssessor, selection_map_path

    run = result.run
    assessor = HistoryAssessor(
        store,
        now=state_of_run(run.commit, run.code_state, run.code_changes),
        rootdir=settings.rootdir,
        map_path=selection_map_path(settings),
        min_runs=quarantine_spec.min_runs,
        flip_rate=quarantine_spec.flip_rate,
        warn=warn,
    )
    try:
        for entry in entries:
            entry.assessment = assessor.assess(entry.record, run)
            apply_history(entry)
    finally:
        assessor.close()
    return _auto_quarantine(entries, result, settings=settings, spec=quarantine_spec, quarantine=quarantine)


def apply_history(entry: "TriageEntry") -> None:
    """Call the entry's failure flaky when its history says so and nothing more specific stands against it."""
    from pytest_orchestra.triage.classifier import Decision

    assessment = entry.assessment
    if assessment is None:
        return
    stats = assessment.stats
    entry.flakiness = stats.evidence
    if entry.record.flaky or not stats.flaky or entry.decision.reviewed:
        return
    if assessment.verdict.ran_changed_code:
        # Past flips do not excuse a failure of code that just changed (DeFlaker's rule).
        entry.flakiness += f"; not called flaky: {assessment.verdict.reason}"
        return
    if entry.decision.category not in FLAKY_MAY_OVERRIDE:
        return
    entry.record.flaky = True
    entry.record.category = "flaky"
    entry.decision = Decision("flaky", min(1.0, 0.5 + stats.flip_rate), "history",
                              f"{stats.evidence}; {assessment.verdict.reason}")


def _auto_quarantine(
    entries: Sequence["TriageEntry"],
    result: RunResult,
    *,
    settings: "OrchestraSettings",
    spec: QuarantineSpec,
    quarantine: Any,
) -> List[Any]:
    if not spec.auto or quarantine is None:
        return []
    from pytest_orchestra.triage.quarantine import auto_quarantine

    candidates = [entry for entry in entries if entry.record.flaky and entry.assessment]
    if not candidates:
        return []
    changed = [e.record.nodeid for e in candidates if e.assessment and e.assessment.verdict.ran_changed_code]
    added = auto_quarantine(
        [entry.assessment.stats for entry in candidates if entry.assessment is not None],
        quarantine,
        today=date.today(),
        spec=spec,
        ran_changed_code=changed,
    )
    if not added:
        return []
    quarantine.save(settings.rootdir / spec.file)
    outcomes = {entry.record.nodeid: entry.record.outcome for entry in candidates}
    result.sections["quarantine"].extend(
        {"nodeid": entry.nodeid, "outcome": outcomes.get(entry.nodeid, ""),
         "reason": f"quarantined by this run from the next one on: {entry.reason}"}
        for entry in added
    )
    return added


def _history_store(config: pytest.Config) -> Any:
    from pytest_orchestra.recording.hub import session_history

    return session_history(config)
