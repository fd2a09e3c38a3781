"""Environments benchmark: PostgreSQL beside pytest-postgresql, and 50 concurrent environments.

    .venv/bin/python benchmarks/environments.py [--tests 100] [--repeat 3] [--concurrency 50]

Measures, in one run on this machine:

1. Time from session start (``pytest_sessionstart``) to a ready server (the
   first test body runs): ours cold (no cached initdb cluster), ours warm,
   and pytest-postgresql's ``postgresql_proc``.
2. The cost of each test's isolated database: the median gap between
   consecutive test bodies in a suite of ``--tests`` tests that each connect
   and run ``SELECT 1``, minus the same gap in a suite without a database.
   Ours (``isolate: test`` + ``env.connect()``) beside pytest-postgresql's
   ``postgresql`` fixture (which hands over a connection).
3. ``--concurrency`` tests under ``-n <concurrency>``, each with its own
   database, service and private dir: outcomes, collisions, leftovers, and
   the wall time against ``-n 1``.

pytest-postgresql 10.0.0 (and mirakuru, port-for, psutil) are installed into
``~/.cache/pytest-orchestra/bench-deps`` and put on ``PYTHONPATH`` for its runs
only, so the project's venv does not load its plugin. As root, its ``pg_ctl``
runs through a wrapper that drops to the ``postgres`` user (initdb refuses
root), as our provider does itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
DEPS = Path.home() / ".cache" / "pytest-orchestra" / "bench-deps"
PYTEST_POSTGRESQL = "pytest-postgresql==10.0.0"

sys.path.insert(0, str(ROOT))
from pytest_orchestra.environments.pgserver import find_binaries  # noqa: E402

WORKFLOW = """
environments:
  shopdb: {provider: postgres, scope: session, isolate: test}
  readydb: {provider: postgres, scope: session}
  svc: {provider: process, command: [python, service.py, "{port}"], ready: {http: /health}, scope: session}
  workdir: {provider: local, scope: test, env: {WORKDIR: "{path}"}}
reports: {enabled: false}
"""

CONFTEST = """
import json, os, time
import pytest

def pytest_sessionstart(session):
    session.config._bench_start = time.perf_counter()

@pytest.fixture
def mark(request):
    def record(**extra):
        start = request.config._bench_start
        with open(os.environ["BENCH_OUT"], "a") as out:
            out.write(json.dumps({"t": time.perf_counter() - start, "node": request.node.nodeid, **extra}) + "\\n")
    return record
"""

SERVICE = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""

TESTS = {
    "test_ready_orchestra.py": """
import pytest
@pytest.mark.env("readydb")
def test_ready(orchestra_env, mark):
    mark()
""",
    "test_ready_pgpg.py": """
def test_ready(postgresql_proc, mark):
    mark()
""",
    "test_db_orchestra.py": """
import pytest
@pytest.mark.parametrize("n", range({tests}))
@pytest.mark.env("shopdb")
def test_db(orchestra_env, mark, n):
    with orchestra_env["shopdb"].connect() as conn:
        conn.execute("SELECT 1")
    mark()
""",
    "test_db_pgpg.py": """
import pytest
@pytest.mark.parametrize("n", range({tests}))
def test_db(postgresql, mark, n):
    postgresql.cursor().execute("SELECT 1")
    mark()
""",
    "test_db_none.py": """
import pytest
@pytest.mark.parametrize("n", range({tests}))
def test_db(mark, n):
    mark()
""",
    "test_concurrent_none.py": """
import pytest
@pytest.mark.parametrize("n", range({concurrency}))
def test_concurrent(mark, n):
    mark()
""",
    "test_concurrent.py": """
import os, urllib.request
import pytest
@pytest.mark.parametrize("n", range({concurrency}))
@pytest.mark.env("shopdb", "svc", "workdir")
def test_concurrent(orchestra_env, mark, n):
    db, svc, work = orchestra_env["shopdb"], orchestra_env["svc"], orchestra_env["workdir"]
    with db.connect() as conn:
        conn.execute("CREATE TABLE mine (who text)")
        conn.execute("INSERT INTO mine VALUES (%s)", (os.environ["PYTEST_CURRENT_TEST"],))
        assert conn.execute("SELECT count(*) FROM mine").fetchone() == (1,)
    assert urllib.request.urlopen(svc.url + "/health", timeout=10).read() == b"ok"
    (work.path / "owner").write_text(str(n))
    assert os.listdir(work.path) == ["owner"]
    mark(db=db.dbname, svc_port=svc.port, work=str(work.path), work_port=work.port,
         worker=os.environ.get("PYTEST_XDIST_WORKER", "main"))
""",
}

PG_CTL_WRAPPER = """#!/bin/sh
# pytest-postgresql runs pg_ctl as the current user; initdb refuses root.
find "{basetemp}" -maxdepth 2 ! -user postgres -exec chown postgres: {{}} + 2>/dev/null
cd /tmp
exec runuser -u postgres -- "{pg_ctl}" "$@"
"""


def ensure_pytest_postgresql() -> None:
    if (DEPS / "pytest_postgresql").is_dir() and (DEPS / "psutil").is_dir():
        return
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(DEPS),
         PYTEST_POSTGRESQL, "mirakuru", "port-for", "psutil"],
        check=True,
    )


class Bench:
    def __init__(self, tests: int, concurrency: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="orchestra-env-bench-", dir="/tmp"))
        self.dir.chmod(0o711)
        self.project = self.dir / "project"
        self.project.mkdir()
        # The plugin's default runtime dir (a roomy /dev/shm, else the temp dir), made unique.
        from pytest_orchestra.environments.lifecycle import default_runtime_dir

        os.environ.pop("PYTEST_ORCHESTRA_RUNTIME_DIR", None)
        self.runtime = Path(tempfile.mkdtemp(prefix="bench-runtime-", dir=default_runtime_dir().parent))
        self.runtime.chmod(0o711)
        self.cache = self.dir / "cache"
        (self.project / "orchestra.yaml").write_text(WORKFLOW)
        (self.project / "conftest.py").write_text(CONFTEST)
        (self.project / "service.py").write_text(SERVICE)
        for name, text in TESTS.items():
            (self.project / name).write_text(text.replace("{tests}", str(tests)).replace("{concurrency}", str(concurrency)))
        binaries = find_binaries("bench", None, None)
        self.pg_version = binaries.version
        self.pg_ctl = str(binaries.bin_dir / "pg_ctl")
        self.basetemp = self.dir / "basetemp"

    def run(self, target: str, *extra: str, pgpg: bool = False, cold: bool = False) -> Dict[str, Any]:
        out = self.dir / "out.jsonl"
        out.unlink(missing_ok=True)
        env = {**os.environ, "BENCH_OUT": str(out), "PYTEST_ORCHESTRA_RUNTIME_DIR": str(self.runtime)}
        if cold:
            shutil.rmtree(self.cache, ignore_errors=True)
        env["PYTEST_ORCHESTRA_CACHE_DIR"] = str(self.cache)
        args = [sys.executable, "-m", "pytest", target, "-q", "-p", "no:randomly", "-p", "no:cacheprovider", *extra]
        if pgpg:
            env["PYTHONPATH"] = str(DEPS)
            shutil.rmtree(self.basetemp, ignore_errors=True)
            args += ["--basetemp", str(self.basetemp)]
            if os.geteuid() == 0:
                wrapper = self.dir / "pg_ctl"
                wrapper.write_text(PG_CTL_WRAPPER.format(basetemp=self.basetemp, pg_ctl=self.pg_ctl))
                wrapper.chmod(0o755)
                args += [f"--postgresql-exec={wrapper}"]
            else:
                args += [f"--postgresql-exec={self.pg_ctl}"]
        started = time.perf_counter()
        result = subprocess.run(args, cwd=self.project, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
        tail = result.stdout.strip().splitlines()[-1:] or [""]
        if result.returncode != 0:
            print(result.stdout[-3000:], result.stderr[-2000:], file=sys.stderr)
        return {"wall": wall, "rows": rows, "rc": result.returncode, "summary": tail[0]}

    def leftovers(self) -> Dict[str, Any]:
        time.sleep(0.2)
        processes = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if str(self.runtime) in cmdline:
                    processes.append(int(entry.name))
        dirs = [p.name for p in self.runtime.iterdir() if p.name != "ports"]
        ports = list((self.runtime / "ports").iterdir()) if (self.runtime / "ports").exists() else []
        leases = list((self.project / ".orchestra" / "environments" / "leases").glob("*.json"))
        return {"processes": len(processes), "dirs": len(dirs), "ports": len(ports), "leases": len(leases)}

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.runtime, ignore_errors=True)


def median_gap(rows: List[Dict[str, Any]]) -> float:
    times = sorted(row["t"] for row in rows)
    gaps = [b - a for a, b in zip(times, times[1:])]
    return statistics.median(gaps)


def ms(seconds: Optional[float]) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tests", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    ensure_pytest_postgresql()
    bench = Bench(args.tests, args.concurrency)
    figures: Dict[str, Any] = {"postgres_version": bench.pg_version, "cores": os.cpu_count(), "tests": args.tests,
                               "runtime_dir": str(bench.runtime.parent), "load_before": os.getloadavg()[0]}
    try:
        ready: Dict[str, List[float]] = {"orchestra_cold": [], "orchestra_warm": [], "pytest_postgresql": []}
        for _ in range(args.repeat):
            ready["orchestra_cold"].append(bench.run("test_ready_orchestra.py", cold=True)["rows"][0]["t"])
            ready["orchestra_warm"].append(bench.run("test_ready_orchestra.py")["rows"][0]["t"])
            ready["pytest_postgresql"].append(bench.run("test_ready_pgpg.py", pgpg=True)["rows"][0]["t"])
        figures["ready_s"] = {k: round(statistics.median(v), 3) for k, v in ready.items()}

        per_test: Dict[str, List[float]] = {"none": [], "orchestra": [], "pytest_postgresql": []}
        for _ in range(args.repeat):
            per_test["none"].append(median_gap(bench.run("test_db_none.py")["rows"]))
            per_test["orchestra"].append(median_gap(bench.run("test_db_orchestra.py")["rows"]))
            per_test["pytest_postgresql"].append(median_gap(bench.run("test_db_pgpg.py", pgpg=True)["rows"]))
        gap = {k: statistics.median(v) for k, v in per_test.items()}
        figures["per_test_gap_ms"] = {k: round(v * 1000, 1) for k, v in gap.items()}
        figures["per_test_db_cost_ms"] = {
            "orchestra": round((gap["orchestra"] - gap["none"]) * 1000, 1),
            "pytest_postgresql": round((gap["pytest_postgresql"] - gap["none"]) * 1000, 1),
        }
        figures["leftovers_after_side_by_side"] = bench.leftovers()

        concurrency = {}
        for workers in (args.concurrency, 1):
            run = bench.run("test_concurrent.py", "-n", str(workers))
            rows = run["rows"]
            per_worker_ports = {(r["worker"], r["svc_port"]) for r in rows}
            concurrency[f"n{workers}"] = {
                "wall_s": round(run["wall"], 2),
                "summary": run["summary"],
                "tests_recorded": len(rows),
                "distinct_databases": len({r["db"] for r in rows}),
                "distinct_workdirs": len({r["work"] for r in rows}),
                "distinct_workdir_ports": len({r["work_port"] for r in rows}),
                "workers": len({r["worker"] for r in rows}),
                "distinct_service_ports": len({p for _, p in per_worker_ports}),
                "leftovers": bench.leftovers(),
            }
        baseline = bench.run("test_concurrent_none.py", "-n", str(args.concurrency))
        concurrency["baseline_without_environments"] = {
            "wall_s": round(baseline["wall"], 2), "summary": baseline["summary"],
        }
        figures["concurrent"] = concurrency
        figures["load_after"] = os.getloadavg()[0]
    finally:
        bench.cleanup()

    r, c, g = figures["ready_s"], figures["per_test_db_cost_ms"], figures["per_test_gap_ms"]
    print(f"PostgreSQL {figures['postgres_version']}, {figures['cores']} cores, median of {args.repeat} runs, "
          f"runtime dir {figures['runtime_dir']}, load average {figures['load_before']:.1f} -> {figures['load_after']:.1f}")
    print(f"{'':38}{'pytest-orchestra':>18}{'pytest-postgresql':>20}")
    print(f"{'session start -> ready server (cold)':38}{ms(r['orchestra_cold']):>18}{ms(r['pytest_postgresql']):>20}")
    print(f"{'session start -> ready server (warm)':38}{ms(r['orchestra_warm']):>18}{'(no cache)':>20}")
    print(f"{'gap between tests (no db: ' + str(g['none']) + ' ms)':38}{g['orchestra']:>15.1f} ms{g['pytest_postgresql']:>17.1f} ms")
    print(f"{'per-test isolated database':38}{c['orchestra']:>15.1f} ms{c['pytest_postgresql']:>17.1f} ms")
    for key, value in figures["concurrent"].items():
        if key.startswith("baseline"):
            print(f"-n {args.concurrency} without environments (xdist start-up alone): {value['wall_s']} s wall")
            continue
        print(f"-{key[1:]}: {value['wall_s']} s wall, {value['summary']}; {value['distinct_databases']} databases, "
              f"{value['distinct_workdirs']} workdirs, {value['distinct_workdir_ports']} ports for "
              f"{value['tests_recorded']} tests on {value['workers']} workers; leftovers {value['leftovers']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
