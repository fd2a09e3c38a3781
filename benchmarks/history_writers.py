"""Many writers at once into one history: rows lost or doubled, and what a run's write costs.

Target: 8 writer processes, each recording 25 runs of 2,000 tests into one
PostgreSQL history, lose and double no row; a run's write costs at most 1.5x
what the SQLite backend's costs in the same benchmark (8 writers into one
SQLite file).

Each writer does what the recorder does: begin_run, the tests in batches of
500 (the recorder flushes about every 500 tests), finish_run. A run's write
cost is the wall time of those calls, as the writer sees it (waiting for other
writers included: that is what a shard pays). Both backends run in the same
process tree, one after the other; the ratio is of medians. The server is a
throwaway PostgreSQL on this machine (fsync off, as CI's would be on tmpfs).

Usage: ``python benchmarks/history_writers.py [--writers 8] [--runs 25] [--tests 2000] [--json]``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_orchestra.core.records import RunRecord, TestRecord  # noqa: E402

TARGET_RATIO = 1.5
BATCH = 500


def make_tests(count: int, seed: int) -> List[TestRecord]:
    """A realistic run: mostly plain passes, some skips, 1% failures with a message and category."""
    tests: List[TestRecord] = []
    for index in range(count):
        nodeid = f"tests/app{index % 7}/test_module_{index // 40:03d}.py::test_case_{index}"
        if (index * 7919 + seed) % 100 == 0:
            tests.append(TestRecord(nodeid, "failed", duration=0.25, start=1.7e9 + index, category="product",
                                    message=f"AssertionError: expected {index} got {index + seed}",
                                    location=(nodeid.split("::")[0], 12), worker="gw0", app=f"app{index % 7}"))
        elif index % 50 == 7:
            tests.append(TestRecord(nodeid, "skipped", duration=0.0, start=1.7e9 + index, message="not on linux"))
        else:
            tests.append(TestRecord(nodeid, "passed", duration=0.001 * (index % 13), start=1.7e9 + index))
    return tests


def open_store(backend: str, where: str) -> Any:
    if backend == "sqlite":
        from pytest_orchestra.history.store import HistoryStore

        return HistoryStore.open(Path(where))
    from pytest_orchestra.history.location import parse_history_url
    from pytest_orchestra.history.postgres import PostgresHistoryStore

    return PostgresHistoryStore.open(parse_history_url(where, "history.url"), timeout=120, on_failure=print)


def writer(backend: str, where: str, number: int, runs: int, tests: int, start: Any, out: Any) -> None:
    records = make_tests(tests, number)
    costs: List[float] = []
    with open_store(backend, where) as store:
        start.wait()
        for index in range(runs):
            run_id = f"w{number:02d}-r{index:03d}"
            began = time.perf_counter()
            run = RunRecord(run_id=run_id, started=time.time(), branch=f"branch-{number % 3}", host="bench", pid=number)
            store.begin_run(run)
            for offset in range(0, tests, BATCH):
                store.add_tests(run_id, records[offset:offset + BATCH])
            run.status, run.ended, run.exit_status = "complete", time.time(), 1
            store.finish_run(run)
            costs.append(time.perf_counter() - began)
    out.put((number, costs))


def run_backend(backend: str, where: str, writers: int, runs: int, tests: int) -> Dict[str, Any]:
    open_store(backend, where).close()  # the schema exists before the writers start, as after a first run
    context = multiprocessing.get_context("spawn")
    start, out = context.Event(), context.Queue()
    processes = [context.Process(target=writer, args=(backend, where, n, runs, tests, start, out))
                 for n in range(writers)]
    for process in processes:
        process.start()
    time.sleep(1.0)  # every writer connected and waiting
    began = time.perf_counter()
    start.set()
    costs: List[float] = []
    for _ in processes:
        costs.extend(out.get(timeout=1800)[1])
    wall = time.perf_counter() - began
    for process in processes:
        process.join()
    with open_store(backend, where) as store:
        found = store.runs()
        counts = store.known_runs([run.run_id for run in found])
        distinct = sum(len({t.nodeid for t in store.tests(run.run_id)}) for run in found)
    expected_rows = writers * runs * tests
    stored_rows = sum(rows for _, rows in counts.values())
    return {
        "runs_expected": writers * runs,
        "runs_stored": len(found),
        "rows_expected": expected_rows,
        "rows_stored": stored_rows,
        "rows_lost": expected_rows - distinct,
        "rows_doubled": stored_rows - distinct,
        "incomplete_runs": sum(1 for status, _ in counts.values() if status != "complete"),
        "run_write_median_s": round(statistics.median(costs), 4),
        "run_write_mean_s": round(statistics.mean(costs), 4),
        "run_write_p90_s": round(sorted(costs)[int(len(costs) * 0.9)], 4),
        "wall_s": round(wall, 2),
    }


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from pytest_orchestra.environments.throwaway import ThrowawayPostgres

    results: Dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="orchestra-writers-") as temp, ThrowawayPostgres() as server:
        results["sqlite"] = run_backend("sqlite", str(Path(temp) / "history.db"), args.writers, args.runs, args.tests)
        results["postgresql"] = run_backend("postgresql", server.create_database("bench"), args.writers, args.runs,
                                            args.tests)
    ratio = results["postgresql"]["run_write_median_s"] / results["sqlite"]["run_write_median_s"]
    mean_ratio = results["postgresql"]["run_write_mean_s"] / results["sqlite"]["run_write_mean_s"]
    results.update(writers=args.writers, runs=args.runs, tests=args.tests, ratio=round(ratio, 3),
                   mean_ratio=round(mean_ratio, 3),
                   target_ratio=TARGET_RATIO, within_target=ratio <= TARGET_RATIO)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for name in ("sqlite", "postgresql"):
        r = results[name]
        print(f"{name:>10}: {r['runs_stored']}/{r['runs_expected']} runs, {r['rows_stored']} rows, lost "
              f"{r['rows_lost']}, doubled {r['rows_doubled']}; a run's write: median {r['run_write_median_s']:.3f} s, "
              f"mean {r['run_write_mean_s']:.3f} s, "
              f"p90 {r['run_write_p90_s']:.3f} s; all writers {r['wall_s']:.1f} s")
    print(f"ratio postgresql/sqlite: median run write {ratio:.2f}, mean {mean_ratio:.2f} (target <= {TARGET_RATIO})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
