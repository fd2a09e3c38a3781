"""Pytest wiring of ordering, dependency skipping, hand-off and sharding, by process role.

* :class:`OrderingPlugin` (here; every process that collects): resolves the
  order after collection, pulls back deselected requirements, keeps this
  shard's tests, and offers ``orchestra_handoff``.
* :class:`~pytest_orchestra.ordering.guard.DependencyGuard` (every process that
  runs tests, only when some test has a dependency): skips a test whose
  dependency did not pass, and tags its reports.
* :class:`~pytest_orchestra.ordering.controller.OrderingRecorder` (the
  controller): category ``dependency`` on records, the summary section; and
  :class:`~pytest_orchestra.ordering.controller.XdistHooks` (the xdist
  controller): the chain scheduler and the run's shared folder for the workers.

The decisions are pure functions over plain data: ``resolver.resolve`` and
``resolver.missing_requirements`` (the order, the chains, what a kept test
still needs), ``sharding.chain_units`` and ``sharding.plan_shards`` (which
tests this machine runs).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest

from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.core.marks import marker_survey
from pytest_orchestra.ordering.config import (
    ORDERING_MARKERS,
    OrderingSpec,
    ShardingSpec,
    ordering_spec,
    sharding_spec,
)
from pytest_orchestra.ordering.controller import DIST_INPUT, SHARED_DIR_INPUT, OrderingRecorder, XdistHooks
from pytest_orchestra.ordering.guard import APP_KEY, UPSTREAMS_KEY, DependencyGuard
from pytest_orchestra.tagging import AppResolver

if TYPE_CHECKING:
    from pytest_orchestra.core.roles import ProcessRole
    from pytest_orchestra.ordering.handoff import Handoff, HandoffStore
    from pytest_orchestra.ordering.resolver import Reference, TestNode
    from pytest_orchestra.ordering.sharding import ShardPlan, ShardRequest
    from pytest_orchestra.settings import OrchestraSettings



def register(config: pytest.Config, settings: "OrchestraSettings", role: "ProcessRole") -> None:
    runs_tests, is_controller = role.runs_tests, role.records
    workflow = settings.workflow
    ordering = ordering_spec(workflow.sections.get("ordering"))
    sharding = sharding_spec(workflow.sections.get("sharding"))
    shard = _shard_request(config)
    if config.getoption("orchestra_shard_plan") and not runs_tests:
        raise OrchestraError("--orchestra-shard-plan plans without running tests: leave out -n")
    shared_dir = _shared_dir(config)
    if runs_tests:
        config.pluginmanager.register(
            OrderingPlugin(config, settings, ordering, sharding, shard, shared_dir), "orchestra-ordering"
        )
    if is_controller:
        config.pluginmanager.register(OrderingRecorder(shard), "orchestra-ordering-recorder")
        if config.pluginmanager.hasplugin("xdist") and not runs_tests:
            config.pluginmanager.register(XdistHooks(config), "orchestra-ordering-xdist")


def _shard_request(config: pytest.Config) -> Optional["ShardRequest"]:
    text = config.getoption("orchestra_shard")
    if not text and not os.environ.get("CI_NODE_TOTAL"):
        return None
    from pytest_orchestra.ordering.sharding import (
        parse_shard,
        shard_from_environment,
    )

    return parse_shard(text) if text else shard_from_environment(os.environ)


def _shared_dir(config: pytest.Config) -> Optional[Path]:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and workerinput.get(SHARED_DIR_INPUT):
        return Path(workerinput[SHARED_DIR_INPUT])
    return None


# --- collection ---------------------------------------------------------------------


ORDERING_MARKER_NAMES = frozenset(ORDERING_MARKERS)


def _any_ordering_marker(config: pytest.Config, items: Sequence[pytest.Item]) -> bool:
    return not ORDERING_MARKER_NAMES.isdisjoint(marker_survey(config, items).seen)


def _markers(item: pytest.Item) -> Tuple[Tuple[str, ...], Tuple["Reference", ...]]:
    from pytest_orchestra.ordering.resolver import Reference

    aliases: List[str] = []
    references: List[Reference] = []
    for marker in item.iter_markers():
        if marker.name in ("after", "requires"):
            for arg in marker.args:
                if not isinstance(arg, str) or not arg:
                    raise OrchestraError(
                        f"{item.nodeid}: @pytest.mark.{marker.name}: expected names (strings), got {arg!r}"
                    )
                references.append(Reference(arg, marker.name))
        elif marker.name == "alias":
            aliases.extend(str(arg) for arg in marker.args)
    return tuple(aliases), tuple(references)


class OrderingPlugin:
    def __init__(
        self,
        config: pytest.Config,
        settings: "OrchestraSettings",
        ordering: OrderingSpec,
        sharding: ShardingSpec,
        shard: Optional["ShardRequest"],
        shared_dir: Optional[Path],
    ) -> None:
        self.config = config
        self.settings = settings
        self.ordering = ordering
        self.sharding = sharding
        self.shard = shard
        self.shared_dir = shared_dir
        self.app_dependencies = {
            name: app.depends_on for name, app in settings.workflow.apps.items() if app.depends_on
        }
        self.apps = AppResolver(settings.workflow.apps)
        self._handoffs: Optional["HandoffStore"] = None
        self.guard: Optional[DependencyGuard] = None
        self.plan: Optional["ShardPlan"] = None
        self.notes: List[str] = []

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: List[pytest.Item]
    ) -> Iterator[None]:
        collected = list(items)
        result = yield
        self._arrange(collected, items)
        return result

    def _arrange(self, collected: List[pytest.Item], items: List[pytest.Item]) -> None:
        if not self.app_dependencies and self.shard is None and not _any_ordering_marker(self.config, items):
            return  # the common case: the survey other capabilities took answers
        # The order as other plugins left it (a shuffle included), then what they deselected:
        # references still resolve against everything collected.
        kept = {id(item) for item in items}
        collected = list(items) + [item for item in collected if id(item) not in kept]
        nodes = [self._node(item) for item in collected]
        from pytest_orchestra.ordering.resolver import missing_requirements, resolve

        resolution = resolve(nodes, self.app_dependencies)
        guard = DependencyGuard(self.ordering, self.shared_dir) if resolution.upstreams else None
        if guard is not None:
            kept_positions = [i for i, item in enumerate(collected) if id(item) in kept]
            missing = missing_requirements(nodes, resolution, kept_positions)
            if missing and self.ordering.deselected_dependency == "include":
                self._pull_back([collected[i] for i in missing], kept)
            elif missing:
                guard.outcomes.mark_deselected(collected[i].nodeid for i in missing)
        ordered = [collected[i] for i in resolution.order if id(collected[i]) in kept]
        for position, upstreams in resolution.upstreams.items():
            collected[position].stash[UPSTREAMS_KEY] = upstreams
        for item, node in zip(collected, nodes):
            item.stash[APP_KEY] = node.app
        chain_of = {collected[i].nodeid: key for i, key in resolution.chain_of.items() if id(collected[i]) in kept}
        if self.shard is not None:
            ordered = self._keep_shard(ordered, chain_of)
        items[:] = ordered
        if self.shared_dir is not None:
            from pytest_orchestra.ordering.scheduler import write_chains

            write_chains(self.shared_dir, chain_of)
        dist = getattr(self.config, "workerinput", {}).get(DIST_INPUT, "load")
        if chain_of and dist != "load":
            warnings.warn(
                pytest.PytestWarning(
                    f"orchestra: --dist {dist} does not keep dependency chains on one worker: a test whose"
                    " requirement ran on another worker is skipped ('did not run in this process')."
                    " Leave --dist at its default (load) to keep chains together."
                ),
                stacklevel=2,
            )
        if guard is not None:
            self.guard = guard
            self.config.pluginmanager.register(guard, DependencyGuard.name)

    def _node(self, item: pytest.Item) -> "TestNode":
        from pytest_orchestra.ordering.resolver import TestNode

        aliases, references = _markers(item)
        marker = item.get_closest_marker("app")
        if marker is not None and marker.args:
            app: Optional[str] = str(marker.args[0])
        else:
            app = self.apps.by_path(_relpath(item, self.settings.rootdir)) if self.apps.globs else None
        return TestNode(item.nodeid, app, aliases, references)

    def _pull_back(self, missing: Sequence[pytest.Item], kept: set) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        pulled = {id(item) for item in missing}
        kept.update(pulled)
        if reporter is not None and reporter.stats.get("deselected"):
            reporter.stats["deselected"] = [i for i in reporter.stats["deselected"] if id(i) not in pulled]
        self.notes.append(f"orchestra: {len(missing)} deselected tests pulled back in: required by selected tests")

    def _keep_shard(self, ordered: List[pytest.Item], chain_of: Dict[str, str]) -> List[pytest.Item]:
        assert self.shard is not None
        from pytest_orchestra.ordering.sharding import chain_units, plan_shards

        units = chain_units([item.nodeid for item in ordered], chain_of)
        self.plan = plan_shards(units, self.shard.total, self._durations())
        mine = set(self.plan.shards[self.shard.index - 1].nodeids)
        keep = [item for item in ordered if item.nodeid in mine]
        others = [item for item in ordered if item.nodeid not in mine]
        if others:
            self.config.hook.pytest_deselected(items=others)
        return keep

    def _durations(self) -> Dict[str, float]:
        from pytest_orchestra.ordering.sharding import ShardError, load_durations_file

        if self.sharding.durations_file:
            path = self.settings.rootdir / self.sharding.durations_file
            if not path.exists():
                # A first run has none yet: every machine sees the same absence, so the plan
                # is still one plan, only less balanced.
                self.notes.append(f"orchestra: {path.name} (sharding.durations_file) not found: every test counts the same")
                return {}
            try:
                return load_durations_file(path)
            except ShardError as exc:
                raise OrchestraError(f"sharding.durations_file: {exc}") from None
        from pytest_orchestra.history.factory import open_history, planning_key

        with open_history(self.settings) as store:
            # Pinned per run group (or xdist session): every shard and worker plans from the same figures.
            return store.durations(limit_runs=self.sharding.history_runs, group=planning_key(self.config, self.settings))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and not hasattr(self.config, "workerinput"):
            for note in self.notes:
                reporter.write_line(note)
            if self.plan is not None and self.shard is not None:
                reporter.write_line(
                    f"orchestra: shard {self.shard} ({self.shard.source}): {len(session.items)} tests,"
                    f" ~{self.plan.shards[self.shard.index - 1].estimate:.2f}s of"
                    f" ~{sum(s.estimate for s in self.plan.shards):.2f}s"
                )
        if self.config.getoption("orchestra_shard_plan"):
            if self.plan is None:
                raise OrchestraError("--orchestra-shard-plan needs --orchestra-shard=K/N (or CI_NODE_TOTAL)")
            if reporter is not None:
                for line in self.plan.describe():
                    reporter.write_line(line)
            pytest.exit("orchestra: shard plan printed, no test run", returncode=0)

    @pytest.fixture
    def orchestra_handoff(self, request: pytest.FixtureRequest) -> "Handoff":
        """Publish values for downstream tests (``put``) and read upstream ones (``get``)."""
        from pytest_orchestra.ordering.handoff import Handoff, HandoffStore

        if self._handoffs is None:
            self._handoffs = HandoffStore(self.shared_dir)
        item = request.node
        upstreams = item.stash.get(UPSTREAMS_KEY, ())
        producers = [u.name for u in upstreams if u.kind == "test"]
        guard = self.guard
        state_of = guard.outcomes.states.get if guard is not None else (lambda nodeid: None)
        return Handoff(self._handoffs, item.nodeid, producers, state_of)


def _relpath(item: pytest.Item, rootdir: Path) -> str:
    try:
        return item.path.relative_to(rootdir).as_posix()
    except ValueError:
        return item.path.as_posix()
