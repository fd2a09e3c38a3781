"""What each test carries to the controller: its app, matrix cell and markers.

Tags are computed once per item where the item lives (the only process
without xdist, a worker with it) and travel on every phase report as the plain
``report.orchestra`` dict, which xdist serializes like any report attribute.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, Mapping, Optional, Sequence, Tuple

import pytest

from pytest_orchestra.core import channel
from pytest_orchestra.core.marks import closest_marker, marker_survey
from pytest_orchestra.matrix.cells import CELL_ARGNAME, cell_of

TAGS_KEY = pytest.StashKey[Dict[str, Any]]()


class AppResolver:
    """Maps a test to its app: ``@pytest.mark.app`` first, then the workflow's path globs."""

    def __init__(self, apps: Mapping[str, Any]) -> None:
        self.globs: Tuple[Tuple[str, str], ...] = tuple(
            (pattern, name) for name, app in apps.items() for pattern in app.paths
        )

    def by_path(self, relpath: str) -> Optional[str]:
        for pattern, name in self.globs:
            if fnmatch.fnmatchcase(relpath, pattern):
                return name
        return None


def item_tags(
    item: pytest.Item,
    resolver: AppResolver,
    tracked_markers: Iterable[str],
    rootdir: Path,
    names: Optional[FrozenSet[str]] = None,
) -> Dict[str, Any]:
    """The item's app, matrix cell and tracked markers (``names``: its marker names, when known)."""
    tags: Dict[str, Any] = {}
    if names is None:
        names = frozenset(marker.name for marker in item.iter_markers())
    app_marker = closest_marker(item, "app") if "app" in names else None
    if app_marker is not None and app_marker.args:
        tags["app"] = str(app_marker.args[0])
    elif resolver.globs:
        app = resolver.by_path(_relpath(item, rootdir))
        if app:
            tags["app"] = app
    cell = cell_of(item)
    if cell:
        tags["matrix"] = cell
    markers = [name for name in tracked_markers if name in names]
    if markers:
        tags["markers"] = markers
    return tags


def _relpath(item: pytest.Item, rootdir: Path) -> str:
    path = item.path
    try:
        return path.relative_to(rootdir).as_posix()
    except ValueError:
        return path.as_posix()


class ItemTagger:
    """Tags items after collection; copies tags onto reports only when some item has any."""

    def __init__(
        self,
        pluginmanager: pytest.PytestPluginManager,
        apps: Mapping[str, Any],
        tracked_markers: Sequence[str],
        rootdir: Path,
    ) -> None:
        self.pluginmanager = pluginmanager
        self.resolver = AppResolver(apps)
        self.tracked_markers = tuple(tracked_markers)
        self.rootdir = rootdir

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: Sequence[pytest.Item]) -> None:
        survey = marker_survey(config, items)
        # An item without these markers, app globs or a matrix cell has no tags: most items.
        telling = frozenset(("app",) + self.tracked_markers)
        by_path = bool(self.resolver.globs)
        if not by_path and telling.isdisjoint(survey.seen) and "matrix" not in survey.seen:
            return  # no test can have a tag (cells come only from matrix markers)
        tagged = False
        for item in items:
            names = survey.of(item)
            if not by_path and telling.isdisjoint(names):
                callspec = getattr(item, "callspec", None)
                if callspec is None or CELL_ARGNAME not in callspec.params:
                    continue
            tags = item_tags(item, self.resolver, self.tracked_markers, self.rootdir, names)
            if tags:
                item.stash[TAGS_KEY] = tags
                tagged = True
        # A suite without apps, matrices or tracked markers pays nothing per report.
        if tagged and not self.pluginmanager.has_plugin(ReportTagger.name):
            self.pluginmanager.register(ReportTagger(), ReportTagger.name)


class ReportTagger:
    """Puts an item's tags on each of its phase reports as ``report.orchestra``."""

    name = "orchestra-report-tags"

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any) -> Any:
        report = yield
        tags = item.stash.get(TAGS_KEY, None)
        if tags:
            channel.write(report, channel.TAGS, tags)
        return report


def register(config: pytest.Config, settings: Any, role: Any) -> None:
    workflow = settings.workflow
    config.pluginmanager.register(
        ItemTagger(config.pluginmanager, workflow.apps, settings.tracked_markers, settings.rootdir), "orchestra-tagging"
    )
