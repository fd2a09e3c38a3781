"""Collection: deselect what the plan (apps, matrix subset) or the rerun does not run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional, Sequence

import pytest

from pytest_orchestra.plans.rerun import RerunRequest
from pytest_orchestra.plans.state import VANISHED_OUTPUT, PlanState

if TYPE_CHECKING:
    from pytest_orchestra.settings import OrchestraSettings


class PlanSelector:
    """Deselects what the plan (apps, matrix subset) or the rerun does not run."""

    def __init__(self, config: pytest.Config, settings: "OrchestraSettings", state: PlanState) -> None:
        self.config = config
        self.settings = settings
        self.state = state
        self.vanished: Optional[List[str]] = None
        self.total = 0

    def pytest_collection_modifyitems(self, config: pytest.Config, items: List[pytest.Item]) -> None:
        rerun = self.state.rerun
        if rerun is not None:
            from pytest_orchestra.plans.rerun import split_collected

            kept_ids, self.vanished = split_collected([item.nodeid for item in items], rerun)
            self.total = len(rerun.nodeids) + len(rerun.collectors)
            keep = set(kept_ids)
            selected = [item for item in items if item.nodeid in keep]
            workeroutput = getattr(config, "workeroutput", None)
            if workeroutput is not None:
                workeroutput[VANISHED_OUTPUT] = list(self.vanished)
        else:
            selected = self._by_plan(items)
        if len(selected) != len(items):
            kept = {id(item) for item in selected}
            config.hook.pytest_deselected(items=[item for item in items if id(item) not in kept])
            items[:] = selected

    def _by_plan(self, items: Sequence[pytest.Item]) -> List[pytest.Item]:
        from pytest_orchestra.matrix.cells import cell_of
        from pytest_orchestra.plans.resolve import cell_kept
        from pytest_orchestra.tagging import AppResolver

        plan = self.state.plan
        assert plan is not None
        apps = set(plan.apps)
        resolver = AppResolver(self.settings.workflow.apps)
        selected = []
        for item in items:
            if apps and _app_of(item, resolver, self.settings.rootdir) not in apps:
                continue
            if plan.matrix is not None and not cell_kept(cell_of(item), plan.matrix):
                continue
            selected.append(item)
        return selected

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.vanished and not hasattr(self.config, "workerinput"):
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(vanished_line(self.state.rerun, self.vanished, self.total), yellow=True)


def _app_of(item: pytest.Item, resolver: Any, rootdir: Path) -> Optional[str]:
    marker = item.get_closest_marker("app")
    if marker is not None and marker.args:
        return str(marker.args[0])
    try:
        relpath = item.path.relative_to(rootdir).as_posix()
    except ValueError:
        relpath = item.path.as_posix()
    return resolver.by_path(relpath)


def vanished_line(rerun: Optional[RerunRequest], vanished: Sequence[str], total: int) -> str:
    run_id = rerun.run_id if rerun is not None else "?"
    rest = total - len(vanished)
    then = f"the other {rest} run" if rest else "nothing else to run"
    return (
        f"orchestra: --orchestra-rerun: {len(vanished)} of {total} failed tests of run {run_id} are not collected"
        f" (removed, renamed, or outside the paths given); {then}: {', '.join(vanished)}"
    )
