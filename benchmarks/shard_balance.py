"""Shard balance on skewed durations: pytest-orchestra beside pytest-split's least_duration.

The script writes a suite of FREE independent tests plus CHAINS chains of
four tests (``@pytest.mark.requires``), and a durations file with skewed
(Pareto) known durations for every test, which both tools read. For N = 4 and
8 it asks each tool which tests shard K of N runs (``--collect-only``: the real
plugins decide, on the same collected suite), then reports the longest shard
over the mean shard (1.0 is perfect) and how many chains each tool split
across machines (a split chain runs its dependents without their upstream).

pytest-split is installed into a temporary folder for the run (never into the
project's environment).

Usage: ``python benchmarks/shard_balance.py [--free 400] [--chains 20] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

PYTEST_SPLIT = "pytest-split==0.11.0"
TARGET = 1.10


def write_suite(root: Path, free: int, chains: int, seed: int) -> Dict[str, float]:
    rng = random.Random(seed)
    durations: Dict[str, float] = {}
    lines = ["import pytest\n\n"]
    for i in range(free):
        lines.append(f"def test_free_{i}():\n    pass\n\n")
        durations[f"test_suite.py::test_free_{i}"] = round(min(rng.paretovariate(1.2) * 0.2, 60.0), 3)
    for c in range(chains):
        previous = None
        for step in range(4):
            name = f"test_chain_{c}_{step}"
            marker = f"@pytest.mark.requires('test_chain_{c}_{step - 1}')\n" if previous else ""
            lines.append(f"{marker}def {name}():\n    pass\n\n")
            durations[f"test_suite.py::{name}"] = round(rng.uniform(0.5, 3.0), 3)
            previous = name
    (root / "test_suite.py").write_text("".join(lines))
    (root / "durations.json").write_text(json.dumps(durations))
    (root / "orchestra.yaml").write_text("sharding: {durations_file: durations.json}\n")
    return durations


def collected(root: Path, args: List[str], env: Dict[str, str]) -> List[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=root, capture_output=True, text=True, env=env,
    )
    if done.returncode not in (0, 5):
        raise SystemExit(f"pytest {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return [line for line in done.stdout.splitlines() if "::" in line and not line.startswith(" ")]


def measure(shards: List[List[str]], durations: Dict[str, float], chains: int) -> Dict[str, float]:
    loads = [sum(durations[n] for n in shard) for shard in shards]
    mean = sum(loads) / len(loads)
    where = {n: i for i, shard in enumerate(shards) for n in shard}
    split = sum(
        1 for c in range(chains)
        if len({where.get(f"test_suite.py::test_chain_{c}_{s}") for s in range(4)}) > 1
    )
    covered = sorted(n for shard in shards for n in shard)
    return {
        "longest_over_mean": round(max(loads) / mean, 4),
        "chains_split": split,
        "every_test_once": covered == sorted(durations),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--free", type=int, default=400)
    parser.add_argument("--chains", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="orchestra-shard-bench-") as folder:
        root = Path(folder) / "suite"
        root.mkdir()
        split_site = Path(folder) / "pytest-split"
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "--no-deps", "--target", str(split_site), PYTEST_SPLIT], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        durations = write_suite(root, args.free, args.chains, args.seed)
        plain_env = {k: v for k, v in os.environ.items() if k not in ("CI_NODE_INDEX", "CI_NODE_TOTAL")}
        split_env = {**plain_env, "PYTHONPATH": os.pathsep.join(filter(None, [str(split_site),
                                                                               plain_env.get("PYTHONPATH")]))}
        for total in (4, 8):
            ours = [collected(root, [f"--orchestra-shard={k}/{total}"], plain_env) for k in range(1, total + 1)]
            theirs = [
                collected(root, ["-p", "no:orchestra", "--splits", str(total), "--group", str(k),
                                 "--splitting-algorithm", "least_duration", "--durations-path", "durations.json"],
                          split_env)
                for k in range(1, total + 1)
            ]
            results.append({
                "shards": total,
                "pytest-orchestra": measure(ours, durations, args.chains),
                "pytest-split least_duration": measure(theirs, durations, args.chains),
            })
    ok = all(r["pytest-orchestra"]["longest_over_mean"] <= TARGET and r["pytest-orchestra"]["every_test_once"]
             and r["pytest-orchestra"]["chains_split"] == 0 for r in results)
    if args.json:
        print(json.dumps({"tests": len(durations), "results": results, "target": TARGET}, indent=2))
    else:
        print(f"{len(durations)} tests ({args.free} free with Pareto durations, {args.chains} chains of 4);"
              f" target longest/mean <= {TARGET}")
        for r in results:
            o, s = r["pytest-orchestra"], r["pytest-split least_duration"]
            print(f"  N={r['shards']}: pytest-orchestra {o['longest_over_mean']:.4f} ({o['chains_split']} chains split)"
                  f" | pytest-split least_duration {s['longest_over_mean']:.4f} ({s['chains_split']} chains split)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
