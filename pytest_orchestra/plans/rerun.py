"""Reruns from history: which run, which of its tests, and how they fared before. Pure logic.

``--orchestra-rerun-filter`` is ``KEY=VALUE[,KEY=VALUE...]``: every pair must
match (AND), ``VALUE`` may list alternatives with ``|`` (OR). Keys: ``category``
(the triage category), ``app``, ``outcome`` (``failed`` or ``error``),
``nodeid`` (an fnmatch glob; ``*`` crosses ``/`` and ``::``), or a matrix
dimension (``role=Guest``; a test without that dimension does not match).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.core.records import FAILING_OUTCOMES, RunRecord, TestRecord

FILTER_KEYS = ("category", "app", "outcome", "nodeid")
#: How many runs back a rerun chain is followed.
MAX_CHAIN = 20


class RerunError(OrchestraError, ValueError):
    """A rerun that cannot be done; the message is the one line the user sees."""


@dataclass(frozen=True)
class RerunFilter:
    #: Key -> accepted values (globs for ``nodeid``).
    terms: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    text: str = ""

    def matches(self, test: TestRecord) -> bool:
        for key, values in self.terms:
            if key == "nodeid":
                if not any(fnmatch.fnmatchcase(test.nodeid, pattern) for pattern in values):
                    return False
                continue
            if key == "category":
                actual: Optional[str] = test.category
            elif key == "app":
                actual = test.app
            elif key == "outcome":
                actual = test.outcome
            else:
                actual = test.matrix.get(key)
            if actual not in values:
                return False
        return True


def parse_filter(text: Optional[str], *, dimensions: Iterable[str] = (), categories: Sequence[str] = ()) -> RerunFilter:
    """``category=product,role=Guest|CFO`` -> a :class:`RerunFilter`; raises :class:`RerunError`."""
    if not text or not text.strip():
        return RerunFilter()
    known_dimensions = list(dict.fromkeys(dimensions))
    terms: Dict[str, Tuple[str, ...]] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, raw = part.partition("=")
        key = key.strip()
        values = tuple(value.strip() for value in raw.split("|") if value.strip())
        if not sep or not key or not values:
            raise RerunError(f"--orchestra-rerun-filter: expected KEY=VALUE, got {part!r}")
        if key not in FILTER_KEYS and key not in known_dimensions:
            choices = ", ".join(FILTER_KEYS) + (
                f", or a matrix dimension ({', '.join(known_dimensions)})" if known_dimensions else ""
            )
            raise RerunError(f"--orchestra-rerun-filter: unknown key {key!r} (keys: {choices})")
        if key == "category" and categories:
            unknown = [value for value in values if value not in categories]
            if unknown:
                raise RerunError(
                    f"--orchestra-rerun-filter: unknown category {unknown[0]!r} (categories: {', '.join(categories)})"
                )
        if key == "outcome":
            unknown = [value for value in values if value not in FAILING_OUTCOMES]
            if unknown:
                raise RerunError(f"--orchestra-rerun-filter: outcome {unknown[0]!r}: reruns take failed or error")
        if key in terms:
            raise RerunError(f"--orchestra-rerun-filter: {key!r} is given twice (list alternatives with '|')")
        terms[key] = values
    return RerunFilter(tuple(terms.items()), text.strip())


def find_run(runs: Sequence[RunRecord], wanted: Optional[str], *, where: str = ".orchestra/history.db") -> RunRecord:
    """The run to rerun among ``runs`` (newest first): ``wanted`` (an id or unique prefix) or the last finished one."""
    finished = [run for run in runs if run.status != "running"]
    recent = ", ".join(run.run_id for run in finished[:3]) or "none"
    if wanted is None:
        if not finished:
            raise RerunError(f"--orchestra-rerun: no finished run in {where} to rerun")
        return finished[0]
    exact = [run for run in runs if run.run_id == wanted]
    found = exact or [run for run in runs if run.run_id.startswith(wanted)]
    if not found:
        raise RerunError(f"--orchestra-rerun: run {wanted} is not in {where} (last runs: {recent})")
    if len(found) > 1:
        raise RerunError(
            f"--orchestra-rerun: {wanted!r} names {len(found)} runs ({', '.join(r.run_id for r in found[:5])});"
            " give more of the id"
        )
    return found[0]


def pick(tests: Sequence[TestRecord], rerun_filter: RerunFilter) -> List[TestRecord]:
    """The run's failed and errored tests matching the filter, once each, in the run's order."""
    picked: Dict[str, TestRecord] = {}
    for test in tests:
        if test.outcome in FAILING_OUTCOMES and test.nodeid not in picked and rerun_filter.matches(test):
            picked[test.nodeid] = test
    return list(picked.values())


@dataclass(frozen=True)
class RerunRequest:
    """What a rerun runs, as plain data (it travels to xdist workers as is)."""

    run_id: str
    plan: Optional[str]
    #: Node ids of the tests to run again.
    nodeids: Tuple[str, ...]
    #: Files (or other collectors) whose collection failed: everything collected under them runs.
    collectors: Tuple[str, ...] = ()
    filter_text: str = ""
    _lookup: FrozenSet[str] = field(init=False, repr=False, compare=False, default=frozenset())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lookup", frozenset(self.nodeids))

    def wanted(self, nodeid: str) -> bool:
        return nodeid in self._lookup or any(
            nodeid == prefix or nodeid.startswith(prefix + "::") or nodeid.startswith(prefix.rstrip("/") + "/")
            for prefix in self.collectors
        )

    def to_json(self) -> Dict[str, object]:
        return {
            "run_id": self.run_id,
            "plan": self.plan,
            "nodeids": list(self.nodeids),
            "collectors": list(self.collectors),
            "filter_text": self.filter_text,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> "RerunRequest":
        return cls(
            run_id=str(data["run_id"]),
            plan=data.get("plan") or None,  # type: ignore[arg-type]
            nodeids=tuple(data.get("nodeids") or ()),  # type: ignore[arg-type]
            collectors=tuple(data.get("collectors") or ()),  # type: ignore[arg-type]
            filter_text=str(data.get("filter_text") or ""),
        )


def request_for(run: RunRecord, picked: Sequence[TestRecord], rerun_filter: RerunFilter) -> RerunRequest:
    return RerunRequest(
        run_id=run.run_id,
        plan=run.plan,
        nodeids=tuple(t.nodeid for t in picked if t.phase != "collect"),
        collectors=tuple(t.nodeid for t in picked if t.phase == "collect"),
        filter_text=rerun_filter.text,
    )


def split_collected(nodeids: Iterable[str], request: RerunRequest) -> Tuple[List[str], List[str]]:
    """``(kept, vanished)``: collected ids the rerun runs, and rerun ids nothing collected matches."""
    kept = [nodeid for nodeid in nodeids if request.wanted(nodeid)]
    found = set(kept)
    vanished = [nodeid for nodeid in request.nodeids if nodeid not in found]
    for prefix in request.collectors:
        probe = RerunRequest(request.run_id, None, (), (prefix,))
        if not any(probe.wanted(nodeid) for nodeid in kept):
            vanished.append(prefix)
    return kept, vanished


@dataclass
class RerunChain:
    """The runs a rerun descends from, oldest first, and each test's outcome in them."""

    runs: List[RunRecord] = field(default_factory=list)
    #: nodeid -> run id -> outcome.
    outcomes: Dict[str, Dict[str, str]] = field(default_factory=dict)


def follow_chain(
    start: RunRecord,
    get_run: Callable[[str], Optional[RunRecord]],
    get_tests: Callable[[str], Sequence[TestRecord]],
    nodeids: Iterable[str],
    *,
    limit: int = MAX_CHAIN,
) -> RerunChain:
    """``start`` and the runs it reran (through ``rerun_of``), with the outcomes of ``nodeids`` in each.

    Stops at a run no longer in history, a loop, or ``limit`` runs.
    """
    wanted = set(nodeids)
    runs: List[RunRecord] = []
    seen: Set[str] = set()
    run: Optional[RunRecord] = start
    while run is not None and run.run_id not in seen and len(runs) < limit:
        seen.add(run.run_id)
        runs.append(run)
        run = get_run(run.rerun_of) if run.rerun_of else None
    runs.reverse()
    outcomes: Dict[str, Dict[str, str]] = {}
    for past in runs:
        for test in get_tests(past.run_id):
            if test.nodeid in wanted:
                outcomes.setdefault(test.nodeid, {})[past.run_id] = test.outcome
    return RerunChain(runs, outcomes)


def rerun_section(
    request: RerunRequest,
    chain: RerunChain,
    tests: Sequence[TestRecord],
    vanished: Sequence[str],
) -> Dict[str, object]:
    """summary.json's ``rerun``: per test, its outcome in each earlier run of the chain and now."""
    now = {test.nodeid: test for test in tests}
    rows = []
    extra = [nodeid for nodeid in now if request.collectors and nodeid not in request.nodeids and request.wanted(nodeid)]
    for nodeid in list(request.nodeids) + extra:
        if nodeid in vanished:
            continue
        earlier = chain.outcomes.get(nodeid, {})
        test = now.get(nodeid)
        rows.append(
            {
                "nodeid": nodeid,
                "before": earlier.get(request.run_id),
                "after": test.outcome if test is not None else None,
                "history": [{"run": run.run_id, "outcome": earlier.get(run.run_id)} for run in chain.runs],
            }
        )
    return {
        "of": request.run_id,
        "chain": [run.run_id for run in chain.runs],
        "filter": request.filter_text or None,
        "requested": len(request.nodeids) + len(request.collectors),
        "vanished": list(vanished),
        "fixed": sum(1 for row in rows if row["after"] in ("passed", "xpassed", "xfailed")),
        "still_failing": sum(1 for row in rows if row["after"] in FAILING_OUTCOMES),
        "tests": rows,
    }
