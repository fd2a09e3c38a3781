"""What the selector takes and what it gives: plain data, no rules.

The collected tests and the workflow's ``selection`` rules it is given, the
read view of the map it asks (a :class:`~pytest_orchestra.selection.mapstore.MapStore`
or a test double), and the :class:`Selection` it returns: which tests run and
why, or why everything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import (
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    Optional,
    Protocol,
    Tuple,
)

from pytest_orchestra.selection.mapformat import Hit


@dataclass(frozen=True)
class CollectedTest:
    nodeid: str
    #: The test's file, relative to the rootdir, posix.
    path: str
    markers: FrozenSet[str] = frozenset()
    #: A folder whose every change affects the test (a foreign suite's ``cwd``): the map cannot
    #: see into processes the test starts.
    watches: Optional[str] = None


@dataclass(frozen=True)
class SelectionRules:
    """The workflow's ``selection`` section, as the selector uses it."""

    always_run_paths: Tuple[str, ...] = ()
    always_run_markers: Tuple[str, ...] = ()
    run_all_if_changed: Tuple[str, ...] = ()
    #: data glob -> test node id globs
    data_dependencies: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()


class MapView(Protocol):
    def contexts(self) -> Mapping[str, Tuple[str, Tuple[str, ...]]]: ...

    def hits_on(self, paths: Iterable[str]) -> Iterable[Hit]: ...

    def source(self, digest: str) -> Optional[str]: ...


@dataclass
class Selection:
    #: node id -> reasons, the first one shown
    reasons: Dict[str, List[str]] = field(default_factory=dict)
    #: node id -> changed lines it executed (for the order)
    changed_lines: Dict[str, int] = field(default_factory=dict)
    #: Set when every test runs: why.
    run_all: Optional[str] = None
    #: Changed places no test executed (``path:line (function)`` or a path).
    uncovered: List[str] = field(default_factory=list)
    #: Changed files and what the analysis made of each.
    files: Dict[str, str] = field(default_factory=dict)

    def add(self, nodeid: str, reason: str, lines: int = 0) -> None:
        reasons = self.reasons.setdefault(nodeid, [])
        if reason not in reasons and len(reasons) < 5:
            reasons.append(reason)
        if lines:
            self.changed_lines[nodeid] = self.changed_lines.get(nodeid, 0) + lines

    def selects(self, nodeid: str) -> bool:
        return self.run_all is not None or nodeid in self.reasons
