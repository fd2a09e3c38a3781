"""One selection from start to end: the map, the changes, the selector, the order, the budget.

Also the words the selection speaks: the headline, ``--orchestra-explain``'s
lines, the summary section and the audit. Every process that collects computes
the same outcome from the same map and working tree.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
)

from pytest_orchestra.selection.changes import (
    ChangeSet,
    compute_changes,
    list_project_files,
    read_text,
)
from pytest_orchestra.selection.config import DEFAULT_RUN_ALL_IF_CHANGED, SelectionSpec
from pytest_orchestra.selection.mapstore import MapError, MapStore
from pytest_orchestra.selection.model import CollectedTest, Selection, SelectionRules
from pytest_orchestra.selection.priority import (
    PastResults,
    apply_budget,
    history_from_records,
    priority_order,
)
from pytest_orchestra.selection.recording import python_tag
from pytest_orchestra.selection.selector import Selector

if TYPE_CHECKING:
    from pytest_orchestra.core.records import TestRecord
    from pytest_orchestra.settings import OrchestraSettings

EXPLAIN_LIMIT = 500


@dataclass
class SelectionOutcome:
    mode: str
    total: int
    kept: Dict[str, List[str]] = field(default_factory=dict)
    ordered: List[str] = field(default_factory=list)
    run_all: Optional[str] = None
    note: Optional[str] = None
    uncovered: List[str] = field(default_factory=list)
    files: Dict[str, str] = field(default_factory=dict)
    changed: Dict[str, str] = field(default_factory=dict)
    cut: List[str] = field(default_factory=list)
    ref: Optional[str] = None
    map_info: Dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0

    def to_json(self) -> Dict[str, Any]:
        return {
            "mode": self.mode,
            "ref": self.ref,
            "map": self.map_info,
            "total": self.total,
            "selected": len(self.kept),
            "deselected": self.total - len(self.kept) if self.mode == "changed" else 0,
            "run_all": self.run_all,
            "note": self.note,
            "unsafe": f"budget cut {len(self.cut)} selected tests" if self.cut else None,
            "cut": self.cut,
            "changed_files": self.changed,
            "analysis": self.files,
            "uncovered": self.uncovered,
            "tests": {nodeid: self.kept[nodeid] for nodeid in self.ordered if nodeid in self.kept},
            "elapsed": round(self.elapsed, 4),
        }


class SelectionEngine:
    def __init__(self, settings: "OrchestraSettings", spec: SelectionSpec, map_path: Path, *,
                 ref: Optional[str], mode: str = "changed") -> None:
        self.settings = settings
        self.mode = mode
        self.root = settings.rootdir
        self.spec = spec
        self.map_path = map_path
        self.ref = ref
        workflow_file = str(settings.workflow.source or "").split("[", 1)[0].strip()
        extra = (workflow_file,) if workflow_file and "/" not in workflow_file else ()
        self.rules = SelectionRules(
            always_run_paths=spec.always_run_paths,
            always_run_markers=spec.always_run_markers,
            run_all_if_changed=DEFAULT_RUN_ALL_IF_CHANGED + spec.run_all_if_changed + extra,
            data_dependencies=spec.data_dependencies,
        )
        self._store: Optional[MapStore] = None
        self._problem: Optional[str] = None
        self._opened = False
        self._changes: Optional[ChangeSet] = None
        self._listing: Optional[List[str]] = None
        #: Seconds spent selecting (not collecting): what the headline reports.
        self.spent = 0.0

    # -- map and changes -----------------------------------------------------------

    def _open(self) -> Tuple[Optional[MapStore], Optional[str]]:
        if not self._opened:
            self._opened = True
            try:
                store = MapStore.open_for_reading(self.map_path)
            except MapError as exc:
                self._problem = str(exc)
            else:
                meta = store.meta()
                if meta.get("python") != python_tag():
                    self._problem = (f"the map was recorded with {meta.get('python') or 'an unknown Python'}, "
                                     f"this is {python_tag()}")
                elif meta.get("root") != str(self.root.resolve()):
                    self._problem = f"the map was recorded in {meta.get('root')}, this checkout is {self.root}"
                if self._problem:
                    store.close()
                else:
                    self._store = store
        return self._store, self._problem

    def _listing_now(self) -> List[str]:
        if self._listing is None:
            self._listing = list_project_files(self.root)
        return self._listing

    def _changes_now(self, store: MapStore) -> ChangeSet:
        if self._changes is None:
            try:
                self._changes = compute_changes(
                    self.root, versions=store.versions(), recorded_files=store.files(),
                    listing=self._listing_now(), ref=self.ref,
                )
            except Exception as exc:  # a map that reads but holds nonsense
                self._changes = ChangeSet(unknown=f"the map {self.map_path} could not be compared ({exc})")
        return self._changes

    def nothing_changed(self) -> Optional[SelectionOutcome]:
        """An outcome selecting nothing when no file changed at all, else None (collect and select)."""
        started = time.perf_counter()
        outcome = self._nothing_changed()
        self.spent += time.perf_counter() - started
        if outcome is not None:
            outcome.elapsed = self.spent
        return outcome

    def _nothing_changed(self) -> Optional[SelectionOutcome]:
        store, problem = self._open()
        if store is None or problem:
            return None
        changes = self._changes_now(store)
        if not changes.empty:
            return None
        outcome = self._outcome(0, store)
        outcome.note = "no file changed since the map"
        return outcome

    # -- selection -------------------------------------------------------------------

    def select(self, items: Sequence[Any]) -> SelectionOutcome:
        started = time.perf_counter()
        outcome = self._select(items)
        self.spent += time.perf_counter() - started
        outcome.elapsed = self.spent
        return outcome

    def _select(self, items: Sequence[Any]) -> SelectionOutcome:
        tests = [self._collected(item) for item in items]
        nodeids = [test.nodeid for test in tests]
        store, problem = self._open()
        outcome = self._outcome(len(tests), store)
        if store is None or problem:
            outcome.run_all = problem or "no map"
            selection = Selection(run_all=outcome.run_all)
        else:
            changes = self._changes_now(store)
            outcome.changed = {path: delta.status for path, delta in sorted(changes.deltas.items())}
            # The import graph and the selector both read the changed files: once each is enough.
            read_current = functools.lru_cache(maxsize=None)(lambda path: read_text(self.root, path))
            selector = Selector(
                tests, map_view=store, graph=lambda: self._graph(store, changes, read_current),
                read_current=read_current, rules=self.rules,
                package_dirs=self._package_dirs(),
            )
            selection = selector.select(changes)
            outcome.run_all = selection.run_all
            outcome.uncovered = selection.uncovered
            outcome.files = selection.files
        if selection.run_all is not None:
            outcome.kept = {nodeid: [] for nodeid in nodeids}
            outcome.ordered = list(nodeids)
        else:
            chosen = [nodeid for nodeid in nodeids if nodeid in selection.reasons]
            history = self._history()
            ordered = priority_order(chosen, changed_lines=selection.changed_lines, history=history)
            kept, cut = apply_budget(ordered, max_tests=self.spec.max_tests, max_seconds=self.spec.max_seconds,
                                     durations=history.durations)
            outcome.ordered = kept
            outcome.cut = cut
            outcome.kept = {nodeid: selection.reasons[nodeid] for nodeid in kept}
        return outcome

    def _outcome(self, total: int, store: Optional[MapStore]) -> SelectionOutcome:
        info: Dict[str, Any] = {"path": _shown(self.map_path, self.root)}
        if store is not None:
            meta = store.meta()
            info.update(commit=meta.get("commit"), python=meta.get("python"), updated=_float(meta.get("updated")))
        return SelectionOutcome(mode=self.mode, total=total, ref=self.ref, map_info=info,
                                elapsed=self.spent)

    def _collected(self, item: Any) -> CollectedTest:
        path = item.nodeid.split("::", 1)[0]
        # Marker names only matter to always_run; walking them costs on large suites.
        markers = (frozenset(marker.name for marker in item.iter_markers())
                   if self.rules.always_run_markers else frozenset())
        watches = None
        item_path = getattr(item, "path", None)
        if item_path is not None and not path.endswith(".py") and Path(item_path).is_dir():
            watches = _shown(Path(item_path), self.root)  # a foreign suite's folder
        return CollectedTest(item.nodeid, path, markers, watches)

    def _package_dirs(self) -> FrozenSet[str]:
        return frozenset(path.rsplit("/", 1)[0] for path in self._listing_now() if path.endswith("/__init__.py"))

    def _graph(self, store: MapStore, changes: ChangeSet, read_current: Callable[[str], Optional[str]]) -> Any:
        from pytest_orchestra.selection.imports import (
            ImportGraph,
            ModuleIndex,
            imported_names,
        )

        listing = self._listing_now()
        imports = dict(store.imports())
        for path, delta in changes.deltas.items():
            if path.endswith(".py") and delta.new_hash is not None:
                imports[path] = imported_names(read_current(path) or "")
        known = set(listing) | set(imports)
        return ImportGraph(ModuleIndex(known), imports)

    def _history(self) -> PastResults:
        from pytest_orchestra.history.factory import open_history

        store = open_history(self.settings, warn=lambda message: None)
        try:
            last = store.last_run(branch=None)
            rows = store.outcomes(last.run_id) if last else []
            return history_from_records(rows, store.durations())
        finally:
            store.close()


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _float(text: Optional[str]) -> Optional[float]:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


# --- words ------------------------------------------------------------------------------


def headline(data: Dict[str, Any], mode: str) -> str:
    total, selected = data.get("total", 0), data.get("selected", 0)
    commit = (data.get("map") or {}).get("commit") or ""
    against = f"the map of {commit[:8]}" if commit else "the map"
    if data.get("ref"):
        against += f" and {data['ref']}"
    changed = len(data.get("changed_files") or {})
    if mode == "audit":
        if data.get("run_all"):
            return f"orchestra: audit: the selection would run every test ({data['run_all']})"
        return f"orchestra: audit: the selection would run {selected} of {total} tests ({changed} changed files)"
    if data.get("note"):
        return f"orchestra: selection: {data['note']} ({against}); nothing to run"
    if data.get("run_all"):
        return f"orchestra: selection: running all {total} tests: {data['run_all']}"
    if not selected:
        return (f"orchestra: selection: no test is affected by the {changed} changed files "
                f"(vs {against}); nothing to run")
    line = (f"orchestra: selection: {selected} of {total} tests selected in {data.get('elapsed', 0):.2f}s "
            f"({changed} changed files vs {against})")
    if data.get("unsafe"):
        line += f"; UNSAFE: {data['unsafe']} (selection.budget)"
    return line


def explain_lines(data: Dict[str, Any]) -> List[str]:
    lines = []
    tests = data.get("tests") or {}
    for index, (nodeid, reasons) in enumerate(tests.items()):
        if index >= EXPLAIN_LIMIT:
            lines.append(f"orchestra:   ... and {len(tests) - EXPLAIN_LIMIT} more (selection.json has all)")
            break
        lines.append(f"orchestra:   {nodeid}: {'; '.join(reasons) if reasons else 'selected'}")
    for path, analysis in (data.get("analysis") or {}).items():
        lines.append(f"orchestra: changed {path}: {analysis}")
    for place in data.get("uncovered") or []:
        lines.append(f"orchestra: changed, no test covers it: {place}")
    for nodeid in data.get("cut") or []:
        lines.append(f"orchestra: cut by the budget: {nodeid}")
    return lines


def audit_violations(data: Dict[str, Any], records: Iterable["TestRecord"]) -> Dict[str, Any]:
    failed = sorted({r.nodeid for r in records if r.outcome in ("failed", "error")})
    if data.get("run_all"):
        violations: List[str] = []
    else:
        selected = set(data.get("tests") or {})
        violations = [nodeid for nodeid in failed if nodeid not in selected]
    return {"failed": len(failed), "violations": violations}


def summary_section(data: Dict[str, Any]) -> Dict[str, Any]:
    mode = data.get("mode", "changed")
    details = []
    if data.get("run_all"):
        details.append(f"Ran everything: {data['run_all']}.")
    if data.get("unsafe"):
        details.append(f"**Unsafe**: {data['unsafe']} (selection.budget): " + ", ".join(data.get("cut", [])[:20]))
    if data.get("uncovered"):
        details.append(f"{len(data['uncovered'])} changed places no test covers: "
                       + ", ".join(f"`{u}`" for u in data["uncovered"][:10]))
    audit = data.get("audit")
    if audit is not None:
        if audit["violations"]:
            details.append(f"**Audit: {len(audit['violations'])} safety violations** (failed, not selected): "
                           + ", ".join(f"`{v}`" for v in audit["violations"][:20]))
        else:
            details.append(f"Audit: no safety violation ({audit['failed']} failing tests, all selected).")
    return {
        "summary": headline(data, mode).replace("orchestra: ", "", 1).replace("selection: ", "", 1),
        "details": details,
        "mode": mode,
        "selected": data.get("selected"),
        "total": data.get("total"),
        "deselected": data.get("deselected"),
        "run_all": data.get("run_all"),
        "unsafe": data.get("unsafe"),
        "changed_files": len(data.get("changed_files") or {}),
        "uncovered": len(data.get("uncovered") or []),
        "audit": audit,
    }
