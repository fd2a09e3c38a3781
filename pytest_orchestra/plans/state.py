"""What the plans capability decided at configure time, shared by its plugin objects.

:func:`~pytest_orchestra.plans.plugin.apply_plan` fills a :class:`PlanState`
into ``config.stash``; the selector, the recorder and the xdist hooks read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import pytest

from pytest_orchestra.plans.config import PlanSpec
from pytest_orchestra.plans.rerun import RerunChain, RerunRequest
from pytest_orchestra.plans.resolve import PlanChoice

#: workerinput / workeroutput keys between the xdist controller and its workers.
PLAN_INPUT = "orchestra_plan"
RERUN_INPUT = "orchestra_rerun"
VANISHED_OUTPUT = "orchestra_rerun_vanished"


@dataclass
class PlanState:
    """What :func:`apply_plan` decided, for :func:`register_plans`."""

    choice: Optional[PlanChoice] = None
    rerun: Optional[RerunRequest] = None
    #: The rerun's ancestry (controller only).
    chain: Optional[RerunChain] = None
    notes: List[str] = field(default_factory=list)

    @property
    def plan(self) -> Optional[PlanSpec]:
        return self.choice.plan if self.choice is not None else None


STATE_KEY = pytest.StashKey[PlanState]()
