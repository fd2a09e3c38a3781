"""A shared history that goes away mid-run: records lost (target 0), exit status (unchanged).

A suite of 2,000 generated tests runs against a PostgreSQL history. Half way
through, one test takes the server away: ``stop`` shuts it down (connections
refused), ``pause`` stops its processes (it no longer answers: the run waits
``history.timeout``, 2 s here, once). The run must end with the exit status a
healthy run has and one warning line; the server comes back, the next run
uploads the outage run's records; then every test of the outage run must be in
the database exactly once. Wall times of a healthy and an outage run are shown.

Usage: ``python benchmarks/history_outage.py [--tests 2000] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overhead import generate_suite, run_environment  # noqa: E402

OUTAGE_TEST = '''
import os, signal, time

def test_the_history_database_goes_away():
    how, pids = os.environ["OUTAGE"], [int(p) for p in os.environ["OUTAGE_PIDS"].split()]
    if how == "stop":
        from pytest_orchestra.environments.processes import process_state

        os.kill(pids[0], signal.SIGINT)
        for _ in range(3000):  # until it is gone, or a zombie its parent (the benchmark) reaps later
            if process_state(pids[0]) in (None, "Z"):
                return
            time.sleep(0.01)
        raise AssertionError("the server did not stop")
    from pytest_orchestra.environments.throwaway import _children_of

    for pid in [pids[0]] + _children_of(pids[0]):  # the server and every backend, this run's included
        os.kill(pid, signal.SIGSTOP)
'''


def run_pytest(root: Path, env: Dict[str, str]) -> Dict[str, Any]:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, env=env,
                          capture_output=True, text=True, check=False)
    warnings = [line for line in done.stdout.splitlines() if "history database" in line]
    return {"exit": done.returncode, "wall_s": round(time.perf_counter() - began, 2), "warnings": warnings}


def scenario(how: str, tests: int, server: Any) -> Dict[str, Any]:
    from pytest_orchestra.history.location import parse_history_url
    from pytest_orchestra.history.postgres import PostgresHistoryStore
    url = server.create_database(f"outage_{how}")
    with tempfile.TemporaryDirectory(prefix=f"orchestra-outage-{how}-") as temp:
        root = Path(temp)
        generate_suite(root, tests)
        (root / "orchestra.yaml").write_text("history: {timeout: 2}\n")
        env = {**run_environment(False), "ORCHESTRA_HISTORY_URL": url, "OUTAGE": "none", "OUTAGE_PIDS": "0"}
        healthy = run_pytest(root, env)
        (root / "tests" / f"test_generated_{tests // 200:02d}a_outage.py").write_text(OUTAGE_TEST)
        assert server.record is not None
        outage = run_pytest(root, {**env, "OUTAGE": how, "OUTAGE_PIDS": str(server.record.pid)})
        if how == "stop":
            server.restart()
        else:
            server.resume()
        run_ids = sorted(p.name for p in (root / ".orchestra" / "reports").iterdir() if p.name[0].isdigit())
        outage_run = run_ids[-1]
        (root / "tests" / f"test_generated_{tests // 200:02d}a_outage.py").unlink()
        after = run_pytest(root, env)
        with PostgresHistoryStore.open(parse_history_url(url, "x"), timeout=60, on_failure=print) as store:
            nodeids = [test.nodeid for test in store.tests(outage_run)]
            status = store.get_run(outage_run).status  # type: ignore[union-attr]
        spooled = list((root / ".orchestra" / "history-spool").glob("*.json"))
    expected = tests + 1
    return {
        "outage": how,
        "healthy_run": healthy,
        "outage_run": outage,
        "next_run": after,
        "exit_status_unchanged": outage["exit"] == healthy["exit"],
        "records_expected": expected,
        "records_lost": expected - len(set(nodeids)),
        "records_doubled": len(nodeids) - len(set(nodeids)),
        "outage_run_status": status,
        "left_in_spool": len(spooled),
    }


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from pytest_orchestra.environments.throwaway import ThrowawayPostgres

    with ThrowawayPostgres() as server:
        results = [scenario(how, args.tests, server) for how in ("stop", "pause")]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for r in results:
        print(f"{r['outage']:>5}: exit {r['healthy_run']['exit']} healthy / {r['outage_run']['exit']} in the outage "
              f"(unchanged: {r['exit_status_unchanged']}); {len(r['outage_run']['warnings'])} warning line; "
              f"after the next run: {r['records_expected'] - r['records_lost']}/{r['records_expected']} records, "
              f"lost {r['records_lost']}, doubled {r['records_doubled']}, status {r['outage_run_status']}, "
              f"spool left {r['left_in_spool']}; wall {r['healthy_run']['wall_s']}s healthy, "
              f"{r['outage_run']['wall_s']}s with the outage")
        for line in r["outage_run"]["warnings"]:
            print(f"       {line}")
    return 0


if __name__ == "__main__":
    os.environ.pop("ORCHESTRA_HISTORY_URL", None)
    sys.exit(main())
