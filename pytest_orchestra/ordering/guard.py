"""Running: a test whose dependency did not pass is skipped, and its reports say why.

Registered by the ordering plugin only when some collected test has a
dependency, in every process that runs tests (each xdist worker keeps its own
outcome book; the controller writes crashed workers' outcomes to the shared
folder for whoever picks up the rest of a chain).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

import pytest

from pytest_orchestra.core import channel
from pytest_orchestra.ordering.config import OrderingSpec

if TYPE_CHECKING:
    from pytest_orchestra.ordering.resolver import Upstream

#: On each item after ordering: the tests, aliases and apps it runs after.
UPSTREAMS_KEY = pytest.StashKey[Tuple["Upstream", ...]]()
#: On each item after ordering: its app, for app-level dependencies.
APP_KEY = pytest.StashKey[Optional[str]]()
#: The channel fact (and record category) of a test skipped for its dependency.
DEPENDENCY_CONTEXT = "dependency"


class DependencyGuard:
    """Skips a test whose dependency did not pass; tags its reports for triage."""

    name = "orchestra-dependency-guard"

    def __init__(self, ordering: OrderingSpec, shared_dir: Optional[Path] = None) -> None:
        from pytest_orchestra.ordering.outcomes import OUTCOMES_FILE, OutcomeBook

        self.ordering = ordering
        self.outcomes = OutcomeBook()
        self.blocked: Dict[str, str] = {}
        self.outcome_file = shared_dir / OUTCOMES_FILE if shared_dir is not None else None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        upstreams = item.stash.get(UPSTREAMS_KEY, None)
        if not upstreams:
            return
        reason = self.outcomes.blocker(upstreams)
        if reason is not None and self.outcome_file is not None:
            # Part of this chain may have run on a worker that crashed: its outcomes reached
            # the controller, which wrote them down for whoever picks up the rest.
            self.outcomes.merge_file(self.outcome_file)
            reason = self.outcomes.blocker(upstreams)
        if reason is None:
            return
        self.blocked[item.nodeid] = reason
        if self.ordering.on_dependency_failure == "skip":
            # As a mark, so pytest's skipping plugin reports it at the test's own location.
            item.add_marker(pytest.mark.skip(reason=reason))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any) -> Any:
        report = yield
        reason = self.blocked.get(item.nodeid)
        if reason is None and call.excinfo is not None and _is_handoff_error(call.excinfo.value):
            reason = str(call.excinfo.value)
        if reason is not None and (report.skipped or report.failed):
            channel.add_fact(report, DEPENDENCY_CONTEXT, reason)
        self.outcomes.record(
            report, item.stash.get(APP_KEY, None), blocked=report.skipped and item.nodeid in self.blocked
        )
        return report


def _is_handoff_error(error: BaseException) -> bool:
    from pytest_orchestra.ordering.handoff import HandoffError

    return isinstance(error, HandoffError)
