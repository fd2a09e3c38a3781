"""The history reads a session makes, at team scale: each under 100 ms at 1,000,000 test rows.

Fills one history with 500 runs of 2,000 tests (1,000,000 test rows; five
branches, 1% failures, a few flaky tests), then times what a session reads:
- flakiness of the failing tests: ``test_history(nodeid, limit=50)`` per
  failing test (20 here) and ``runs(limit=200)`` for the outage check;
- shard durations: ``durations(limit_runs=20)``, and pinned for a new group;
- the last complete run on a branch (``no_regression``), of a shard outside
  its own group, and of a plan;
- the report's trends (20 logical runs).
Each query runs 5 times; the median is reported. Both backends, same data.
PostgreSQL's statistics are refreshed once after loading (``ANALYZE``, what
autovacuum does on a real server; the test server runs without it).

Usage: ``python benchmarks/history_queries.py [--runs 500] [--tests 2000] [--json]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_orchestra.core.records import RunRecord, TestRecord  # noqa: E402

TARGET_MS = 100.0
BRANCHES = ("main", "main", "main", "feature/cart", "feature/login", "release/2.1", "main", "bugfix/tz")


def fill(store: Any, runs: int, tests: int) -> List[str]:
    """Load the history; returns the nodeids that fail in the newest run."""
    nodeids = [f"tests/app{i % 9}/test_module_{i // 40:03d}.py::test_case_{i}" for i in range(tests)]
    failing: List[str] = []
    for number in range(runs):
        run_id = f"2026{number:06d}-{number:06x}"
        group = f"github-{number // 4}" if number % 8 < 4 else None
        run = RunRecord(run_id=run_id, started=1.76e9 + number * 600, branch=BRANCHES[number % len(BRANCHES)],
                        run_group=group, shard=f"{number % 4 + 1}/4" if group else None,
                        plan="nightly" if number % 10 == 0 else None, host="ci", pid=number)
        store.begin_run(run)
        records = []
        for index, nodeid in enumerate(nodeids):
            flaky = index % 97 == 0 and (number + index) % 3 == 0
            failed = (index * 31 + number * 17) % 100 == 0 or flaky
            records.append(TestRecord(nodeid, "failed" if failed else "passed", duration=0.001 * (index % 50 + 1),
                                      start=run.started + index * 0.01, category="product" if failed else None,
                                      message="AssertionError: boom" if failed else ""))
            if failed and number == runs - 1:
                failing.append(nodeid)
        for offset in range(0, tests, 500):
            store.add_tests(run_id, records[offset:offset + 500])
        run.status, run.ended, run.exit_status = "complete", run.started + 300, 1
        store.finish_run(run)
    return failing[:20]


def timed(call: Callable[[], Any], repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def measure(store: Any, failing: List[str]) -> Dict[str, float]:
    from pytest_orchestra.history.trends import compute_trends

    per_test = [timed(lambda nodeid=nodeid: store.test_history(nodeid, limit=50)) for nodeid in failing]
    pinned = iter(range(100))
    return {
        "flakiness: test_history per failing test (median)": statistics.median(per_test),
        "flakiness: test_history per failing test (slowest)": max(per_test),
        "flakiness: runs(limit=200) for outages": timed(lambda: store.runs(limit=200)),
        "shard durations: durations(limit_runs=20)": timed(lambda: store.durations(limit_runs=20)),
        "shard durations: pinned for a new group": timed(lambda: store.durations(limit_runs=20,
                                                                                 group=f"new-{next(pinned)}")),
        "last complete run on a branch": timed(lambda: store.last_run(branch="main", exclude="x")),
        "last complete run of a shard outside its group": timed(
            lambda: store.last_run(branch="main", exclude="x", shard="2/4", exclude_group="github-9999")),
        "last complete run of a plan": timed(lambda: store.last_run(branch=None, plan="nightly", exclude="x")),
        "report trends (20 runs)": timed(lambda: compute_trends(store, branch="main", runs=20)),
    }


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from pytest_orchestra.environments.throwaway import ThrowawayPostgres
    from pytest_orchestra.history.location import parse_history_url
    from pytest_orchestra.history.postgres import PostgresHistoryStore
    from pytest_orchestra.history.store import HistoryStore

    results: Dict[str, Any] = {"rows": args.runs * args.tests, "target_ms": TARGET_MS}
    with tempfile.TemporaryDirectory(prefix="orchestra-queries-") as temp, ThrowawayPostgres() as server:
        url = server.create_database("bench")
        for name, opener in (("sqlite", lambda: HistoryStore.open(Path(temp) / "history.db")),
                             ("postgresql", lambda: PostgresHistoryStore.open(
                                 parse_history_url(url, "history.url"), timeout=600, on_failure=print))):
            began = time.perf_counter()
            with opener() as store:
                failing = fill(store, args.runs, args.tests)
            loaded = time.perf_counter() - began
            if name == "postgresql":
                server.sql("ANALYZE", dbname="bench")
            with opener() as store:
                figures = measure(store, failing)
            results[name] = {"load_s": round(loaded, 1), "queries_ms": {k: round(v, 2) for k, v in figures.items()},
                             "within_target": all(v < TARGET_MS for v in figures.values())}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{results['rows']:,} test rows; median of 5 calls, ms (target < {TARGET_MS:g} each)")
    names = list(results["sqlite"]["queries_ms"])
    print(f"{'':52} {'sqlite':>9} {'postgresql':>11}")
    for name in names:
        print(f"{name:52} {results['sqlite']['queries_ms'][name]:>9.2f} {results['postgresql']['queries_ms'][name]:>11.2f}")
    print(f"{'(loading the history, s)':52} {results['sqlite']['load_s']:>9} {results['postgresql']['load_s']:>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
