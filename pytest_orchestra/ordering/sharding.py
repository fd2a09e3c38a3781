"""Shard plans: split the selected tests across N CI machines, balanced by duration.

Pure logic. Units are chains (kept whole) and single tests; each unit's cost is
the sum of its tests' known durations, unknown ones counting as the median of
the known (or 1 s when nothing is known). Greedy longest-processing-time: the
costliest unit goes to the least-loaded shard. Ties break on the unit's first
node id, never on collection order, so every machine that collects the same
tests computes the same plan, whatever pytest-randomly did to the order.
"""

from __future__ import annotations

import heapq
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from pytest_orchestra.core.errors import OrchestraError

#: Cost of a test when no duration at all is known.
UNKNOWN_DURATION = 1.0


class ShardError(OrchestraError, ValueError):
    """A bad shard request (``K/N`` out of range, unreadable durations file)."""


@dataclass(frozen=True)
class ShardRequest:
    index: int  # 1-based
    total: int
    source: str  # "--orchestra-shard" or "CI_NODE_INDEX/CI_NODE_TOTAL"

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


@dataclass
class Shard:
    index: int  # 1-based
    nodeids: List[str] = field(default_factory=list)
    estimate: float = 0.0
    units: int = 0


@dataclass
class ShardPlan:
    shards: List[Shard]
    #: Tests whose duration was unknown and counted as ``default_duration``.
    estimated: int
    default_duration: float

    def shard_of(self) -> Dict[str, int]:
        return {nodeid: shard.index for shard in self.shards for nodeid in shard.nodeids}

    def imbalance(self) -> float:
        """Longest shard over the mean shard (1.0 is perfect)."""
        loads = [shard.estimate for shard in self.shards]
        mean = sum(loads) / len(loads) if loads else 0.0
        return max(loads) / mean if mean else 1.0

    def describe(self) -> List[str]:
        lines = [
            f"orchestra shard plan: {len(self.shards)} shards, longest/mean {self.imbalance():.3f}"
            + (f", {self.estimated} tests without history counted as {self.default_duration:.3f}s"
               if self.estimated else "")
        ]
        for shard in self.shards:
            lines.append(
                f"  shard {shard.index}/{len(self.shards)}: {len(shard.nodeids)} tests"
                f" in {shard.units} units, ~{shard.estimate:.2f}s"
            )
        return lines


def parse_shard(text: str, source: str = "--orchestra-shard") -> ShardRequest:
    """``"2/4"`` -> ShardRequest(2, 4); 1-based, K between 1 and N."""
    index_text, slash, total_text = text.strip().partition("/")
    try:
        index, total = int(index_text), int(total_text)
    except ValueError:
        index = total = 0
    if not slash or total < 1 or not 1 <= index <= total:
        raise ShardError(f"{source}: expected K/N with 1 <= K <= N (e.g. 2/4), got {text!r}")
    return ShardRequest(index, total, source)


def shard_from_environment(environ: Mapping[str, str]) -> Optional[ShardRequest]:
    """GitLab-style ``CI_NODE_INDEX`` (1-based) and ``CI_NODE_TOTAL``, when both are set."""
    index, total = environ.get("CI_NODE_INDEX"), environ.get("CI_NODE_TOTAL")
    if not index or not total:
        return None
    return parse_shard(f"{index}/{total}", "CI_NODE_INDEX/CI_NODE_TOTAL")


def load_durations_file(path: Path) -> Dict[str, float]:
    """``{nodeid: seconds}`` from a JSON file (pytest-split's ``.test_durations`` format)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ShardError(f"{path}: cannot read the durations file ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ShardError(f"{path}: not valid JSON ({exc})") from None
    if isinstance(data, list):  # pytest-split's older format: [[nodeid, seconds], ...]
        data = dict(item for item in data if isinstance(item, list) and len(item) == 2)
    if not isinstance(data, dict):
        raise ShardError(f"{path}: expected a JSON object of nodeid -> seconds")
    result: Dict[str, float] = {}
    for nodeid, seconds in data.items():
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds >= 0:
            result[str(nodeid)] = float(seconds)
    return result


def plan_shards(
    units: Sequence[Sequence[str]],
    total: int,
    durations: Mapping[str, float],
) -> ShardPlan:
    """Split ``units`` (each a list of node ids that must stay together) into ``total`` shards.

    Within a shard, node ids keep the order they have in ``units`` and the
    units keep their given order, so the run order survives sharding.
    """
    known = [durations[nodeid] for unit in units for nodeid in unit if nodeid in durations]
    default = statistics.median(known) if known else UNKNOWN_DURATION
    estimated = 0
    costs: List[Tuple[float, str, int]] = []
    for position, unit in enumerate(units):
        cost = 0.0
        for nodeid in unit:
            if nodeid in durations:
                cost += durations[nodeid]
            else:
                cost += default
                estimated += 1
        costs.append((cost, unit[0] if unit else "", position))
    shards = [Shard(index + 1) for index in range(total)]
    # (load, index) heap: the least-loaded shard, the lowest index on a tie.
    loads = [(0.0, index) for index in range(total)]
    assigned: List[List[int]] = [[] for _ in range(total)]
    for cost, _, position in sorted(costs, key=lambda c: (-c[0], c[1])):
        load, index = heapq.heappop(loads)
        assigned[index].append(position)
        heapq.heappush(loads, (load + cost, index))
        shards[index].estimate += cost
    for index, positions in enumerate(assigned):
        shards[index].units = len(positions)
        for position in sorted(positions):
            shards[index].nodeids.extend(units[position])
    return ShardPlan(shards=shards, estimated=estimated, default_duration=default)


def chain_units(nodeids: Sequence[str], chain_of: Mapping[str, str]) -> List[List[str]]:
    """The units a shard plan moves whole: one per test, one per dependency chain (in order)."""
    units: List[List[str]] = []
    unit_of_chain: Dict[str, List[str]] = {}
    for nodeid in nodeids:
        key = chain_of.get(nodeid)
        if key is None:
            units.append([nodeid])
        elif key in unit_of_chain:
            unit_of_chain[key].append(nodeid)
        else:
            unit_of_chain[key] = [nodeid]
            units.append(unit_of_chain[key])
    return units
