"""Cross-app chains under many xdist workers: same outcomes and constraints, and the speed-up.

The script writes an I/O-bound suite (every test sleeps, like a test waiting on
a service) of JOURNEYS cross-app chains (auth login -> billing invoice ->
billing payment -> reporting statement, handing values off) plus FREE
independent tests; some logins fail on purpose so dependents are skipped. It
runs the suite with ``-n 0`` and each of the given worker counts, side by side,
and checks from each run's history rows that

* every test has the same outcome as in the serial run,
* every chain ran on one worker, in order (start times increase along it),

then prints the wall-time ratio of each parallel run to the serial one.

Usage: ``python benchmarks/ordering_xdist.py [--workers 2 8 50] [--journeys 100] [--free 150] [--sleep 0.1]``
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

STEPS = ("test_login", "test_invoice", "test_pay", "test_statement")


def write_suite(root: Path, journeys: int, free: int, sleep: float) -> None:
    (root / "orchestra.yaml").write_text(
        "apps:\n  auth: {paths: ['test_auth.py']}\n  billing: {paths: ['test_billing.py']}\n"
        "  reporting: {paths: ['test_reporting.py']}\n"
    )
    header = "import os, time, pytest\n\n"
    auth, billing, reporting = [header], [header], [header]
    for j in range(journeys):
        fails = j % 10 == 3
        auth.append(
            f"@pytest.mark.alias('login{j}')\ndef test_login_{j}(orchestra_handoff):\n"
            f"    time.sleep({sleep})\n    assert not {fails}, 'login rejected'\n"
            f"    orchestra_handoff.put('user{j}', 'u{j}')\n\n"
        )
        billing.append(
            f"@pytest.mark.requires('login{j}')\n@pytest.mark.alias('invoice{j}')\n"
            f"def test_invoice_{j}(orchestra_handoff):\n    time.sleep({sleep})\n"
            f"    orchestra_handoff.put('invoice{j}', orchestra_handoff.get('user{j}') + '-inv')\n\n"
            f"@pytest.mark.requires('invoice{j}')\n@pytest.mark.alias('pay{j}')\n"
            f"def test_pay_{j}(orchestra_handoff):\n    time.sleep({sleep})\n"
            f"    assert orchestra_handoff.get('invoice{j}') == 'u{j}-inv'\n\n"
        )
        reporting.append(
            f"@pytest.mark.requires('pay{j}')\ndef test_statement_{j}():\n    time.sleep({sleep})\n\n"
        )
    loose = [header] + [f"def test_free_{i}():\n    time.sleep({sleep})\n\n" for i in range(free)]
    for name, parts in (("test_auth", auth), ("test_billing", billing), ("test_reporting", reporting),
                        ("test_free", loose)):
        (root / f"{name}.py").write_text("".join(parts))


def run(root: Path, workers: int) -> Tuple[float, str]:
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if workers:
        args += ["-n", str(workers)]
    started = time.perf_counter()
    done = subprocess.run(args, cwd=root, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"pytest -n {workers} failed to run:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed, done.stdout.strip().splitlines()[-1]


def last_run_rows(root: Path) -> List[sqlite3.Row]:
    connection = sqlite3.connect(root / ".orchestra" / "history.db")
    connection.row_factory = sqlite3.Row
    (run_id,) = connection.execute("SELECT run_id FROM runs ORDER BY started DESC, rowid DESC LIMIT 1").fetchone()
    rows = connection.execute("SELECT * FROM tests WHERE run_id = ?", (run_id,)).fetchall()
    connection.close()
    return rows


def chain_violations(rows: List[sqlite3.Row], journeys: int) -> int:
    by_name: Dict[str, sqlite3.Row] = {row["nodeid"].split("::")[1]: row for row in rows}
    violations = 0
    for j in range(journeys):
        chain = [by_name.get(f"{step}_{j}") for step in STEPS]
        ran = [row for row in chain if row is not None and row["outcome"] != "skipped"]
        if len({row["worker"] for row in chain if row is not None}) > 1:
            violations += 1
        if any(a["start"] > b["start"] for a, b in zip(ran, ran[1:])):
            violations += 1
    return violations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 8, 50])
    parser.add_argument("--journeys", type=int, default=100)
    parser.add_argument("--free", type=int, default=150)
    parser.add_argument("--sleep", type=float, default=0.1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env_note = f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    with tempfile.TemporaryDirectory(prefix="orchestra-ordering-bench-") as folder:
        root = Path(folder)
        write_suite(root, args.journeys, args.free, args.sleep)
        total = args.journeys * len(STEPS) + args.free
        serial_time, serial_line = run(root, 0)
        serial_rows = last_run_rows(root)
        serial = {row["nodeid"]: row["outcome"] for row in serial_rows}
        results = [{"workers": 0, "seconds": round(serial_time, 2), "summary": serial_line,
                    "same_outcomes": True, "chain_violations": chain_violations(serial_rows, args.journeys)}]
        for workers in args.workers:
            elapsed, line = run(root, workers)
            rows = last_run_rows(root)
            outcomes = {row["nodeid"]: row["outcome"] for row in rows}
            results.append({
                "workers": workers,
                "seconds": round(elapsed, 2),
                "ratio_to_serial": round(elapsed / serial_time, 3),
                "summary": line,
                "same_outcomes": outcomes == serial,
                "chain_violations": chain_violations(rows, args.journeys),
            })
    if args.json:
        print(json.dumps({"tests": total, "machine": env_note, "results": results}, indent=2))
    else:
        print(f"{total} tests ({args.journeys} chains of {len(STEPS)} across 3 apps, {args.free} free),"
              f" each sleeping {args.sleep}s; {env_note}")
        for result in results:
            ratio = f"{result.get('ratio_to_serial', 1.0):.3f}"
            print(f"  -n {result['workers']:>2}: {result['seconds']:7.2f}s  ratio {ratio}  same outcomes:"
                  f" {result['same_outcomes']}  chain violations: {result['chain_violations']}  ({result['summary']})")
    ok = all(r["same_outcomes"] and r["chain_violations"] == 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
