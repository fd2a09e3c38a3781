"""Which collected tests a set of file changes can affect, and why.

Pure logic over plain data (:mod:`~pytest_orchestra.selection.model`): the
collected tests, the changes, a read view of the map and the current files.
The rules, in the order a reader meets them:

1. A change the selection cannot reason about (a ``run_all_if_changed`` file, a
   compiled extension, an unknown file inside a package, a data file read at
   import time, an unknown ref) runs everything, with the one line why.
2. Python files: line-level changes select the tests that executed a changed
   statement (the whole function for inserted lines); module-level changes the
   tests that read what they bind (:mod:`reach`), or when that cannot be known
   every user of the module and the tests whose files import it.
3. Files without map data (new, never executed, deleted): the import graph.
4. Other files: the tests that opened them, plus ``data_dependencies``.
5. Tests the map does not know (new, renamed, never recorded) always run, and
   so do ``always_run`` tests.
"""

from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath
from typing import (
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Optional,
    Sequence,
)

from pytest_orchestra.selection.changes import (
    ADDED,
    DELETED,
    REF_CHANGED,
    ChangeSet,
    FileDelta,
)
from pytest_orchestra.selection.imports import ImportGraph
from pytest_orchestra.selection.mapformat import (
    KIND_COLLECT,
    KIND_FIXTURE,
    KIND_IMPORT,
    KIND_TEST,
    Hit,
    parse_fixture_context,
)
from pytest_orchestra.selection.model import (
    CollectedTest,
    MapView,
    Selection,
    SelectionRules,
)
from pytest_orchestra.selection.pychange import PythonChange, analyze_change
from pytest_orchestra.selection.reach import reach_files
from pytest_orchestra.selection.recorder import IMPORT_CONTEXT

COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".c", ".h", ".cc", ".cpp", ".pyx", ".pxd", ".pxi")


def _is_test_file(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def matches(path: str, pattern: str) -> bool:
    """gitignore-like: a pattern without ``/`` matches the file name at any depth."""
    if pattern.endswith("/"):
        return path.startswith(pattern.lstrip("/"))
    if "/" not in pattern:
        return fnmatch.fnmatchcase(PurePosixPath(path).name, pattern)
    pattern = pattern.lstrip("/")
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern.replace("**/", ""))


class Selector:
    def __init__(
        self,
        tests: Sequence[CollectedTest],
        *,
        map_view: MapView,
        graph: Callable[[], ImportGraph],
        read_current: Callable[[str], Optional[str]],
        rules: SelectionRules,
        package_dirs: FrozenSet[str] = frozenset(),
    ) -> None:
        self.tests = tests
        self.map = map_view
        self._graph_factory = graph
        self._graph: Optional[ImportGraph] = None
        self.read_current = read_current
        self.rules = rules
        self.package_dirs = package_dirs
        self.contexts = map_view.contexts()
        self.by_path: Dict[str, List[CollectedTest]] = {}
        for test in tests:
            self.by_path.setdefault(test.path, []).append(test)
        self.collected = {test.nodeid for test in tests}
        self.selection = Selection()

    @property
    def graph(self) -> ImportGraph:
        if self._graph is None:
            self._graph = self._graph_factory()
        return self._graph

    # -- entry point ---------------------------------------------------------------

    def select(self, changes: ChangeSet) -> Selection:
        selection = self.selection
        if changes.unknown:
            selection.run_all = changes.unknown
            return selection
        for path in sorted(changes.deltas):
            for pattern in self.rules.run_all_if_changed:
                if matches(path, pattern):
                    selection.run_all = f"{path} changed (selection.run_all_if_changed: {pattern!r})"
                    return selection
        hits: Dict[str, List[Hit]] = {}
        for hit in self.map.hits_on(changes.deltas):
            hits.setdefault(hit.path, []).append(hit)
        for path in sorted(changes.deltas):
            delta = changes.deltas[path]
            watched = self._watchers(delta)
            if path.endswith(".py"):
                self._python(delta, hits.get(path, []))
            else:
                self._other(delta, hits.get(path, []), watched=watched)
            if selection.run_all is not None:
                return selection
            if watched:
                selection.uncovered = [u for u in selection.uncovered if not u.startswith(path)]
                selection.files[path] = f"in the folder of {watched} foreign tests"
        self._unmapped_and_always()
        return selection

    # -- Python files ----------------------------------------------------------------

    def _python(self, delta: FileDelta, hits: List[Hit]) -> None:
        path = delta.path
        if not hits:
            self._by_import_graph(path, f"{delta.status} module without map data")
            return
        if delta.status == DELETED:
            self._users(path, hits, f"used {path}, which was deleted")
            self._by_import_graph(path, "deleted module", files_only=True)
            return
        if delta.status == REF_CHANGED:
            self._users(path, hits, f"used {path}, changed since the ref")
            return
        current = self.read_current(path)
        by_version: Dict[str, List[Hit]] = {}
        for hit in hits:
            by_version.setdefault(hit.hash, []).append(hit)
        outcomes = []
        for digest in delta.old_hashes:
            version_hits = by_version.get(digest)
            if not version_hits:
                continue
            old = self.map.source(digest)
            if old is None or current is None:
                self._users(path, version_hits, f"used {path}, whose recorded version is not in the map")
                outcomes.append("module level (no recorded source)")
                continue
            change = analyze_change(old, current)
            outcomes.append(self._apply(path, change, version_hits))
            if not change.is_empty and not _is_test_file(path):
                # Tests collected from a module that is not a test file: doctests read its text.
                for test in self.by_path.get(path, ()):
                    self._test(test.nodeid, f"collected from {path}, which changed")
        self.selection.files[path] = "; ".join(dict.fromkeys(outcomes)) or "no test version differs"

    def _apply(self, path: str, change: PythonChange, hits: List[Hit]) -> str:
        if change.is_empty:
            return "no code change (comments or formatting)"
        if change.is_module_level:
            described = f"{'; '.join(change.module_level[:3])}"
            if change.bindings is not None and self._readers(path, change, hits):
                labels = sorted({binding.label for binding in change.bindings})
                return f"module level, read through {', '.join(labels) or 'no name'}: {described}"
            why = f"; {change.wide_reason}" if change.wide_reason else ""
            self._users(path, hits, f"uses {path}, whose module level changed ({change.module_level[0]}{why})")
            self._by_import_graph(path, "module-level change", files_only=True)
            return f"module level: {described}"
        for line_change in change.line_changes:
            touched = False
            for hit in hits:
                if not hit.lines:
                    continue
                common = hit.lines & line_change.lines
                if not common:
                    continue
                touched = True
                first = min(common)
                what = "the block of lines added to" if line_change.inserted else "changed"
                reason = (f"executed {path}:{first} ({what} {line_change.function})"
                          if line_change.inserted else f"executed {path}:{first} (changed, in {line_change.function})")
                if self._at_import(hit.context):
                    # Code run at import time shapes the module every user sees.
                    self._users(path, hits, f"uses {path}, whose import-time code changed ({path}:{first})")
                    continue
                self._context(hit.context, reason, len(common))
            if not touched:
                self.selection.uncovered.append(f"{path}:{line_change.first_line} ({line_change.function})")
        for name in sorted(change.fixtures):
            folder = path.rsplit("/", 1)[0] if "/" in path else ""
            for nodeid, (kind, fixtures) in self.contexts.items():
                if kind == KIND_TEST and name in fixtures and nodeid.startswith(folder):
                    self._test(nodeid, f"uses fixture {name!r}, changed in {path}")
        return "line level: " + ", ".join(sorted({c.function for c in change.line_changes}))

    def _readers(self, path: str, change: PythonChange, hits: List[Hit]) -> bool:
        """Select the tests that read what the change binds (:mod:`reach`); False when unknowable."""
        index = self.graph.index
        if index.module_of.get(path) is None or change.bindings is None:
            return False
        files = sorted(self.graph.importers_of([path]) | {path})
        by_file: Dict[str, Dict[str, List[Hit]]] = {}
        for hit in self.map.hits_on([f for f in files if f != path]):
            by_file.setdefault(hit.path, {}).setdefault(hit.hash, []).append(hit)
        for hit in hits:
            by_file.setdefault(path, {}).setdefault(hit.hash, []).append(hit)
        versions = {file: list(by_file.get(file) or [""]) for file in files}
        outcome = reach_files(path, change.bindings, versions, index=index, recorded=self.map.source,
                              current=self.read_current)
        if outcome is None:
            return False
        found, unreadable = outcome
        wide = {**unreadable, **{file: f"uses {file}, which {why}" if why.startswith(("reads", "imports"))
                                 else f"uses {file}: {why}" for file, why in found.wide.items()}}
        for file, reason in sorted(wide.items()):
            self._users(file, [h for group in by_file.get(file, {}).values() for h in group], reason)
            self._by_import_graph(file, "module-level change it reads", files_only=True)
        for (file, digest), lines in sorted(found.lines.items()):
            if file in wide or not lines:
                continue
            version_hits = by_file.get(file, {}).get(digest, [])
            for hit in version_hits:
                common = (hit.lines or frozenset()) & lines.keys()
                if not common:
                    continue
                first = min(common)
                if self._at_import(hit.context):
                    self._users(file, version_hits, f"uses {file}, whose import-time code {lines[first]}")
                else:
                    self._context(hit.context, f"{lines[first]}; executed {file}:{first}", len(common))
        for test in self.by_path.get(path, ()):
            self._test(test.nodeid, f"defined in {path}, which changed at module level")
        return True

    def _users(self, path: str, hits: Iterable[Hit], reason: str) -> None:
        for hit in hits:
            if hit.context == IMPORT_CONTEXT:
                continue
            self._context(hit.context, reason, len(hit.lines or ()) and 1)
        for test in self.by_path.get(path, ()):
            self._test(test.nodeid, reason)

    def _by_import_graph(self, path: str, what: str, *, files_only: bool = False) -> None:
        importers = self.graph.importers_of([path]) | {path}
        count = 0
        for importer in sorted(importers):
            for test in self.by_path.get(importer, ()):
                via = "" if importer == path else f" through {importer}"
                self._test(test.nodeid, f"imports {path}{via} ({what}: import graph)")
                count += 1
        if not count and not files_only:
            self.selection.uncovered.append(f"{path} ({what}; no test imports it)")
        if not files_only:
            self.selection.files[path] = f"{what}: {count} tests through the import graph"

    # -- other files -----------------------------------------------------------------

    def _watchers(self, delta: FileDelta) -> int:
        count = 0
        for test in self.tests:
            folder = test.watches
            if folder is not None and (folder in ("", ".") or delta.path.startswith(folder.rstrip("/") + "/")):
                self._test(test.nodeid, f"runs in {folder or '.'}/, where {delta.path} is {delta.status}")
                count += 1
        return count

    def _other(self, delta: FileDelta, hits: List[Hit], *, watched: int = 0) -> None:
        path = delta.path
        selection = self.selection
        readers = [hit for hit in hits if hit.lines is None]
        if any(hit.context == IMPORT_CONTEXT for hit in readers):
            # Read outside any test file's collection (a conftest, a plugin): anyone may depend on it.
            selection.run_all = f"{path} changed and was read at import or collection time"
            return
        for hit in readers:
            self._context(hit.context, f"read {path} ({delta.status})")
        dependents = 0
        for pattern, test_globs in self.rules.data_dependencies:
            if matches(path, pattern):
                for test in self.tests:
                    if any(fnmatch.fnmatchcase(test.nodeid, g) or matches(test.path, g) for g in test_globs):
                        self._test(test.nodeid, f"depends on {path} (selection.data_dependencies: {pattern!r})")
                        dependents += 1
        if readers or dependents or watched:
            selection.files[path] = f"data file: {len(readers)} readers, {dependents} declared dependents"
            return
        if path.endswith(COMPILED_SUFFIXES):
            selection.run_all = f"{path} changed: compiled extension code the map cannot see into"
            return
        package = self._package_of(path)
        if package is not None and delta.status != ADDED:
            selection.run_all = f"{path} changed inside package {package} and no test was seen reading it"
            return
        selection.uncovered.append(f"{path} ({delta.status}; no test read it)")
        selection.files[path] = "no test read it"

    def _package_of(self, path: str) -> Optional[str]:
        folder = path.rsplit("/", 1)[0] if "/" in path else ""
        while folder:
            if folder in self.package_dirs:
                return folder
            folder = folder.rsplit("/", 1)[0] if "/" in folder else ""
        return None

    # -- contexts to tests -----------------------------------------------------------

    def _at_import(self, context: str) -> bool:
        return context == IMPORT_CONTEXT or self.contexts.get(context, (KIND_TEST,))[0] == KIND_COLLECT

    def _context(self, context: str, reason: str, lines: int = 0) -> None:
        kind = self.contexts.get(context, (KIND_TEST, ()))[0]
        if kind == KIND_COLLECT:
            path = context[len("collect "):]
            for test in self.by_path.get(path, ()):
                self._test(test.nodeid, f"{reason} when {path} was collected", lines)
        elif kind == KIND_FIXTURE:
            argname, baseid = parse_fixture_context(context)
            for nodeid, (test_kind, fixtures) in self.contexts.items():
                if test_kind == KIND_TEST and argname in fixtures and nodeid.startswith(baseid):
                    self._test(nodeid, f"{reason} in fixture {argname!r}", lines)
        elif kind == KIND_IMPORT:
            return
        else:
            self._test(context, reason, lines)

    def _test(self, nodeid: str, reason: str, lines: int = 0) -> None:
        if nodeid in self.collected:
            self.selection.add(nodeid, reason, lines)

    def _unmapped_and_always(self) -> None:
        known = {name for name, (kind, _) in self.contexts.items() if kind == KIND_TEST}
        markers = set(self.rules.always_run_markers)
        for test in self.tests:
            if test.nodeid not in known:
                self.selection.add(test.nodeid, "not in the map (new, renamed or never recorded)")
            if markers & test.markers:
                self.selection.add(test.nodeid, f"always_run marker {sorted(markers & test.markers)[0]!r}")
            elif any(fnmatch.fnmatchcase(test.nodeid, g) or matches(test.path, g)
                     for g in self.rules.always_run_paths):
                self.selection.add(test.nodeid, "always_run path")
