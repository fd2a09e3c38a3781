"""What a shared PostgreSQL history costs a passive run: at most 1.10x ``-p no:orchestra``.

The suite of ``overhead.py`` (5,000 generated tests, no workflow file), timed
in three variants, interleaved, medians of N runs: without the plugin, with
the plugin's default SQLite history, and with ``ORCHESTRA_HISTORY_URL``
pointing at a PostgreSQL server on this machine (whose CPU time, on the same
two cores, is part of the wall time measured). Every variant after the first
runs also reads the history back for report.md's trends. Wall time on a shared
machine is noisy; CPU time (the pytest process's, plus the server's during the
run for the PostgreSQL variant) is printed beside it.

Usage: ``python benchmarks/history_overhead.py [--runs 7] [--tests 5000] [--workers N] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import generate_suite, pytest_command, run_environment  # noqa: E402

TARGET_RATIO = 1.10


def server_cpu(pid: int) -> float:
    """CPU seconds the server has used: the postmaster, its finished backends, its live ones."""
    from pytest_orchestra.environments.throwaway import _children_of

    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for number, process in enumerate([pid] + _children_of(pid)):
        try:
            with open(f"/proc/{process}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if number == 0 else 0)
    return total / ticks


def timed(command: List[str], cwd: Path, env: Dict[str, str], server: int) -> tuple[float, float]:
    """Wall time, and CPU time of the pytest process plus the database server's during the run."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = usage.ru_utime + usage.ru_stime + server_cpu(server)
    began = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime + server_cpu(server) - cpu_before
    if done.returncode != 0 or "history database" in done.stdout:
        raise SystemExit(f"history_overhead: {' '.join(command)} exited {done.returncode}:\n{done.stdout[-2000:]}")
    return elapsed, cpu


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from pytest_orchestra.environments.throwaway import ThrowawayPostgres

    env = run_environment(False)
    for name in ("ORCHESTRA_HISTORY_URL", "PYTEST_ADDOPTS"):
        env.pop(name, None)
    with tempfile.TemporaryDirectory(prefix="orchestra-history-overhead-") as temp, ThrowawayPostgres() as server:
        root = Path(temp)
        generate_suite(root, args.tests)
        shared_env = {**env, "ORCHESTRA_HISTORY_URL": server.create_database("overhead")}
        variants = {
            "baseline": (pytest_command(False, args.workers), env),
            "sqlite": (pytest_command(True, args.workers), env),
            "postgresql": (pytest_command(True, args.workers), shared_env),
        }
        assert server.record is not None
        postmaster = server.record.pid
        for command, variant_env in variants.values():  # warm-up, and a first run in each history
            timed(command, root, variant_env, postmaster)
        times: Dict[str, List[float]] = {name: [] for name in variants}
        cpu: Dict[str, List[float]] = {name: [] for name in variants}
        names = list(variants)
        for run in range(args.runs):
            order = names[run % 3:] + names[:run % 3]
            for name in order:
                command, variant_env = variants[name]
                wall, used = timed(command, root, variant_env, postmaster)
                times[name].append(wall)
                cpu[name].append(used)
            if not args.json:
                print(f"run {run + 1}/{args.runs}: " + ", ".join(f"{n} {times[n][-1]:.2f}s ({cpu[n][-1]:.2f}s cpu)"
                                                                 for n in names), file=sys.stderr)
        stored = server.query("SELECT count(*) FROM tests", dbname="overhead")[0][0]
    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    result = {
        "tests": args.tests, "runs": args.runs, "workers": args.workers,
        "median_s": {name: round(value, 3) for name, value in medians.items()},
        "ratio_sqlite": round(medians["sqlite"] / medians["baseline"], 4),
        "ratio_postgresql": round(medians["postgresql"] / medians["baseline"], 4),
        "cpu_median_s": {name: round(value, 3) for name, value in cpu_medians.items()},
        "cpu_ratio_sqlite": round(cpu_medians["sqlite"] / cpu_medians["baseline"], 4),
        "cpu_ratio_postgresql": round(cpu_medians["postgresql"] / cpu_medians["baseline"], 4),
        "target_ratio": TARGET_RATIO,
        "test_rows_in_postgresql": stored,
        "times_s": {name: [round(t, 3) for t in values] for name, values in times.items()},
    }
    result["within_target"] = result["ratio_postgresql"] <= TARGET_RATIO
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.tests} tests, median of {args.runs}: baseline {medians['baseline']:.2f}s, "
              f"SQLite history {medians['sqlite']:.2f}s ({result['ratio_sqlite']:.3f}x), "
              f"PostgreSQL history {medians['postgresql']:.2f}s ({result['ratio_postgresql']:.3f}x; "
              f"target <= {TARGET_RATIO})")
        print(f"CPU (pytest, plus the server for PostgreSQL): baseline {cpu_medians['baseline']:.2f}s, "
              f"SQLite {result['cpu_ratio_sqlite']:.3f}x, PostgreSQL {result['cpu_ratio_postgresql']:.3f}x")
    return 0


if __name__ == "__main__":
    os.environ.pop("ORCHESTRA_HISTORY_URL", None)
    sys.exit(main())
