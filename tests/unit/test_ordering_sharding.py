"""Shard plans: parsing K/N, balance, determinism, chains kept whole, durations files."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from pytest_orchestra.ordering.sharding import (
    ShardError,
    load_durations_file,
    parse_shard,
    plan_shards,
    shard_from_environment,
)


@pytest.mark.parametrize("text", ["0/4", "5/4", "2", "a/b", "1/0", ""])
def test_bad_shard_requests_name_the_source(text: str) -> None:
    with pytest.raises(ShardError, match=r"--orchestra-shard: expected K/N with 1 <= K <= N"):
        parse_shard(text)


def test_environment_shard_is_gitlab_style_one_based() -> None:
    assert str(shard_from_environment({"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "3"})) == "2/3"
    assert shard_from_environment({"CI_NODE_TOTAL": "3"}) is None
    with pytest.raises(ShardError, match="CI_NODE_INDEX/CI_NODE_TOTAL"):
        shard_from_environment({"CI_NODE_INDEX": "0", "CI_NODE_TOTAL": "3"})


def test_skewed_durations_balance_within_ten_percent() -> None:
    rng = random.Random(7)
    durations = {f"t.py::test_{i}": rng.paretovariate(1.5) for i in range(400)}
    units = [[nodeid] for nodeid in durations]
    for total in (4, 8):
        plan = plan_shards(units, total, durations)
        assert plan.imbalance() <= 1.1
        assert sorted(n for s in plan.shards for n in s.nodeids) == sorted(durations)


def test_plan_ignores_input_order_and_keeps_chains_whole() -> None:
    durations = {f"t.py::test_{i}": float(i % 13 + 1) for i in range(60)}
    chain = ["t.py::test_1", "t.py::test_2", "t.py::test_3"]
    units = [chain] + [[n] for n in durations if n not in chain]
    plan = plan_shards(units, 3, durations)
    shuffled = [chain] + random.Random(1).sample(units[1:], len(units) - 1)
    again = plan_shards(shuffled, 3, durations)
    assert [set(s.nodeids) for s in plan.shards] == [set(s.nodeids) for s in again.shards]
    holder = [s for s in plan.shards if "t.py::test_1" in s.nodeids][0]
    position = holder.nodeids.index("t.py::test_1")
    assert holder.nodeids[position:position + 3] == chain


def test_unknown_durations_count_as_the_median() -> None:
    durations = {"a": 1.0, "b": 3.0, "c": 5.0}
    plan = plan_shards([["a"], ["b"], ["c"], ["new"]], 2, durations)
    assert plan.estimated == 1 and plan.default_duration == 3.0
    assert sum(s.estimate for s in plan.shards) == pytest.approx(12.0)
    assert "1 tests without history counted as 3.000s" in plan.describe()[0]


def test_durations_file_formats_and_errors(tmp_path: Path) -> None:
    path = tmp_path / ".test_durations"
    path.write_text(json.dumps({"t.py::a": 1.5, "t.py::b": "x"}))
    assert load_durations_file(path) == {"t.py::a": 1.5}
    path.write_text(json.dumps([["t.py::a", 2.0]]))
    assert load_durations_file(path) == {"t.py::a": 2.0}
    path.write_text("{not json")
    with pytest.raises(ShardError, match="not valid JSON"):
        load_durations_file(path)
    path.write_text("3")
    with pytest.raises(ShardError, match="expected a JSON object"):
        load_durations_file(path)
    with pytest.raises(ShardError, match="cannot read"):
        load_durations_file(tmp_path / "missing.json")
