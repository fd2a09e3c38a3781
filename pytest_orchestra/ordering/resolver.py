"""The ordering resolver: a pure function of the collected tests, their markers and the apps.

It turns ``@pytest.mark.after`` / ``@pytest.mark.requires`` and the workflow's
``apps.*.depends_on`` into a constraint graph, then returns

* the run order: a stable topological sort that keeps the given order wherever
  no constraint applies (so a shuffle by pytest-randomly survives where allowed),
* the chains: tests connected by constraints, which must share an xdist worker
  and a CI shard,
* each test's outcome dependencies (the tests and apps it ``requires``).

Same inputs, same answer, in every process: nothing here depends on hashing
order or the environment. Problems raise :class:`OrderingError` with a message
that names the marker, the test and the reference, or prints the cycle.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.workflow.sections import find_cycle


class OrderingError(OrchestraError, ValueError):
    """A constraint that cannot hold: an unknown reference or a cycle."""


@dataclass(frozen=True)
class Reference:
    """One argument of an ordering marker on one test."""

    text: str
    marker: str  # "after" or "requires"


@dataclass(frozen=True)
class TestNode:
    """What the resolver needs to know about one collected test."""

    __test__ = False  # not a pytest test class

    nodeid: str
    app: Optional[str] = None
    aliases: Tuple[str, ...] = ()
    references: Tuple[Reference, ...] = ()

    @property
    def base(self) -> str:
        """The node id without its parametrization: ``test_x[1-a]`` -> ``test_x``."""
        bracket = self.nodeid.find("[")
        return self.nodeid if bracket < 0 else self.nodeid[:bracket]

    @property
    def file(self) -> str:
        return self.nodeid.split("::", 1)[0]


@dataclass(frozen=True)
class Upstream:
    """An outcome dependency: a test (by node id) or a whole app."""

    kind: str  # "test" | "app"
    name: str
    #: How the dependent named it, for skip reasons: "requires('login')", "apps.billing.depends_on".
    via: str


@dataclass
class Resolution:
    #: Indices into the input tests, in run order.
    order: List[int]
    #: Chain key per test index, for tests in a chain (the chain's first node id in run order).
    chain_of: Dict[int, str] = field(default_factory=dict)
    #: Outcome dependencies per test index (only tests that have some).
    upstreams: Dict[int, Tuple[Upstream, ...]] = field(default_factory=dict)

    def chains(self) -> Dict[str, List[int]]:
        """Chain key -> its test indices in run order."""
        result: Dict[str, List[int]] = {}
        for index in self.order:
            key = self.chain_of.get(index)
            if key is not None:
                result.setdefault(key, []).append(index)
        return result


def suffixes(name: str) -> List[str]:
    """``a/b.py::C::t`` -> itself, ``b.py::C::t``, ``C::t``, ``t``, and its file ``a/b.py``, ``b.py``."""
    path, sep, rest = name.partition("::")
    parts = path.split("/")
    result = [name]
    result += ["/".join(parts[start:]) + sep + rest for start in range(1, len(parts))]
    if sep:
        pieces = rest.split("::")
        result += ["::".join(pieces[start:]) for start in range(len(pieces))]
        result += ["/".join(parts[start:]) for start in range(len(parts))]
    return result


class ReferenceIndex:
    """Finds the tests a reference names: an alias, an app, or a node-id suffix.

    A node-id suffix matches at a ``::`` or ``/`` boundary, with or without the
    parametrization, so ``test_pay`` names every ``test_pay[...]`` and
    ``test_auth.py`` every test of that file. When a suffix matches tests in
    several files, those in the referring test's own file win.
    """

    def __init__(self, tests: Sequence[TestNode], apps: Iterable[str]) -> None:
        self.tests = tests
        self.apps: Set[str] = set(apps) | {t.app for t in tests if t.app}
        self.aliases: Dict[str, List[int]] = {}
        self.by_suffix: Dict[str, List[int]] = {}
        self.by_app: Dict[str, List[int]] = {}
        for index, test in enumerate(tests):
            for alias in test.aliases:
                self.aliases.setdefault(alias, []).append(index)
            if test.app:
                self.by_app.setdefault(test.app, []).append(index)
            for suffix in set(suffixes(test.nodeid)) | set(suffixes(test.base)):
                self.by_suffix.setdefault(suffix, []).append(index)

    def resolve(self, text: str, referrer: int) -> Tuple[str, List[int]]:
        """``("alias" | "app" | "test", indices)``; raises KeyError when nothing matches."""
        if text in self.aliases:
            return "alias", [i for i in self.aliases[text] if i != referrer]
        if text in self.apps:
            return "app", [i for i in self.by_app.get(text, ()) if i != referrer]
        found = self.by_suffix.get(text.strip("/"))
        if not found:
            raise KeyError(text)
        matches = [i for i in found if i != referrer]
        own_file = self.tests[referrer].file
        local = [i for i in matches if self.tests[i].file == own_file]
        return "test", local or matches


class _Graph:
    """Tests 0..n-1 plus one virtual "app done" node per app something depends on.

    Going through the app's node makes app-level edges cost O(tests), not O(tests²).
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.app_node: Dict[str, int] = {}
        self.successors: Dict[int, List[int]] = {}
        self.labels: Dict[Tuple[int, int], str] = {}

    @property
    def total(self) -> int:
        return self.count + len(self.app_node)

    def done(self, app: str) -> int:
        if app not in self.app_node:
            self.app_node[app] = self.count + len(self.app_node)
        return self.app_node[app]

    def edge(self, before: int, after: int, label: str = "") -> None:
        self.successors.setdefault(before, []).append(after)
        if label:
            self.labels.setdefault((before, after), label)


def resolve(tests: Sequence[TestNode], app_dependencies: Mapping[str, Sequence[str]]) -> Resolution:
    """Order ``tests`` (in their given order) under their markers and the apps' ``depends_on``."""
    index = ReferenceIndex(tests, app_dependencies)
    graph = _Graph(len(tests))
    upstreams: Dict[int, List[Upstream]] = {}
    for position, test in enumerate(tests):
        for reference in test.references:
            _add_reference(graph, index, upstreams, position, test, reference)
    for app, depends_on in app_dependencies.items():
        label = f"apps.{app}.depends_on"
        for upstream_app in depends_on:
            for position in index.by_app.get(app, ()):
                graph.edge(graph.done(upstream_app), position, label)
                upstreams.setdefault(position, []).append(Upstream("app", upstream_app, label))
    for app, node in graph.app_node.items():
        for position in index.by_app.get(app, ()):
            graph.edge(position, node)
    order = _stable_topological_order(graph, tests)
    return Resolution(
        order=order,
        chain_of=_chains(graph, order, tests),
        upstreams={k: _unique(v) for k, v in upstreams.items()},
    )


def _add_reference(
    graph: _Graph,
    index: ReferenceIndex,
    upstreams: Dict[int, List[Upstream]],
    position: int,
    test: TestNode,
    reference: Reference,
) -> None:
    marker = f"@pytest.mark.{reference.marker}({reference.text!r})"
    try:
        kind, targets = index.resolve(reference.text, position)
    except KeyError:
        raise OrderingError(
            f"{test.nodeid}: {marker}: no test, alias or app matches {reference.text!r}"
        ) from None
    label = f"{reference.marker}({reference.text!r})"
    requires = reference.marker == "requires"
    if kind == "app":
        graph.edge(graph.done(reference.text), position, label)
        if requires:
            upstreams.setdefault(position, []).append(Upstream("app", reference.text, label))
        return
    if not targets:
        raise OrderingError(f"{test.nodeid}: {marker}: names only this test itself")
    for target in targets:
        graph.edge(target, position, label)
        if requires:
            upstreams.setdefault(position, []).append(Upstream("test", index.tests[target].nodeid, label))


def _unique(upstreams: List[Upstream]) -> Tuple[Upstream, ...]:
    seen: Dict[Tuple[str, str], Upstream] = {}
    for upstream in upstreams:
        seen.setdefault((upstream.kind, upstream.name), upstream)
    return tuple(seen.values())


def _stable_topological_order(graph: _Graph, tests: Sequence[TestNode]) -> List[int]:
    """Kahn's algorithm, always taking the ready node that came first in the input."""
    count, total = graph.count, graph.total
    indegree = [0] * total
    for targets in graph.successors.values():
        for target in targets:
            indegree[target] += 1
    # Virtual nodes sort before every test: an app is "done" as soon as it can be.
    ready = [(-1 if node >= count else node, node) for node in range(total) if not indegree[node]]
    heapq.heapify(ready)
    order: List[int] = []
    emitted = 0
    while ready:
        _, node = heapq.heappop(ready)
        emitted += 1
        if node < count:
            order.append(node)
        for target in graph.successors.get(node, ()):
            indegree[target] -= 1
            if not indegree[target]:
                heapq.heappush(ready, (-1 if target >= count else target, target))
    if emitted < total:
        raise OrderingError(_describe_cycle(graph, indegree, tests))
    return order


def _describe_cycle(graph: _Graph, indegree: Sequence[int], tests: Sequence[TestNode]) -> str:
    count = graph.count
    app_of = {node: app for app, node in graph.app_node.items()}
    stuck = {node for node in range(graph.total) if indegree[node] > 0}
    edges = {
        node: tuple(t for t in graph.successors.get(node, ()) if t in stuck) for node in sorted(stuck)
    }
    # Edges point downstream; the cycle is read upstream-first, as "x before y".
    cycle = find_cycle(edges)

    def name(node: int) -> str:
        return tests[node].nodeid if node < count else app_of[node]

    steps = [name(cycle[0])]
    for before, after in zip(cycle, cycle[1:]):
        label = graph.labels.get((before, after))
        steps.append(f"{name(after)} [{label}]" if label else name(after))
    apps = [name(node) for node in cycle if node >= count]
    if len(set(apps)) >= 2:
        # A cycle through apps reads best as the apps alone: billing → auth → billing.
        return "ordering cycle: " + " → ".join(_closed(apps)) + " (through " + " → ".join(steps) + ")"
    return "ordering cycle: " + " → ".join(steps)


def _closed(names: List[str]) -> List[str]:
    result: List[str] = []
    for item in names:
        if not result or result[-1] != item:
            result.append(item)
    if result[0] != result[-1]:
        result.append(result[0])
    return result


def _chains(graph: _Graph, order: Sequence[int], tests: Sequence[TestNode]) -> Dict[int, str]:
    """Connected components of the constraint graph (through app nodes too) with 2+ tests."""
    parent = list(range(graph.total))

    def find(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for before, targets in graph.successors.items():
        for target in targets:
            a, b = find(before), find(target)
            if a != b:
                parent[max(a, b)] = min(a, b)
    members: Dict[int, List[int]] = {}
    for position in order:
        members.setdefault(find(position), []).append(position)
    chain_of: Dict[int, str] = {}
    for group in members.values():
        if len(group) > 1:
            key = tests[group[0]].nodeid
            for position in group:
                chain_of[position] = key
    return chain_of


def missing_requirements(nodes: Sequence["TestNode"], resolution: "Resolution", kept_positions: Sequence[int]) -> List[int]:
    """Positions of deselected tests that a kept test requires, directly or through others."""
    position_of = {node.nodeid: index for index, node in enumerate(nodes)}
    app_members: Dict[str, List[int]] = {}
    for index, node in enumerate(nodes):
        if node.app:
            app_members.setdefault(node.app, []).append(index)
    kept = set(kept_positions)
    missing: List[int] = []
    seen: Set[int] = set()
    stack = [position for position in kept_positions if position in resolution.upstreams]
    while stack:
        position = stack.pop()
        for upstream in resolution.upstreams.get(position, ()):
            if upstream.kind == "test":
                targets = [position_of[upstream.name]]
            else:
                targets = app_members.get(upstream.name, [])
            for target in targets:
                if target in seen:
                    continue
                seen.add(target)
                if target not in kept:
                    missing.append(target)
                    if target in resolution.upstreams:
                        stack.append(target)
    return sorted(missing)
