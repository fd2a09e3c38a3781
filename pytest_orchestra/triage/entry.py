"""One failing test's triage: its record, its evidence, the decision, and what history and routing added.

Made by the controller as each failure is classified
(:class:`~pytest_orchestra.triage.controller.TriageController`), then
completed at the end of the run by history's judgement and the sinks' routing.
"""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING, List, Optional

from pytest_orchestra.core.plainclass import plainclass
from pytest_orchestra.core.records import TestRecord

if TYPE_CHECKING:
    from pytest_orchestra.triage.assessment import Assessment
    from pytest_orchestra.triage.classifier import Decision
    from pytest_orchestra.triage.failure import Failure


@plainclass
class TriageEntry:
    record: TestRecord
    failure: "Failure"
    decision: "Decision"
    fingerprint: str
    flakiness: str = ""
    routes: List[str] = field(default_factory=list)
    delivered: List[str] = field(default_factory=list)
    assessment: Optional["Assessment"] = None
