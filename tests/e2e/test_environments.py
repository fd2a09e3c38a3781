"""Environments end to end: real PostgreSQL, real processes, xdist, crashes and leftovers."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from pytest_orchestra.environments.lifecycle import default_runtime_dir
from pytest_orchestra.environments.pgserver import candidate_dirs

HAS_POSTGRES = any((d / "initdb").is_file() for d in candidate_dirs(None))
needs_postgres = pytest.mark.skipif(
    not HAS_POSTGRES, reason="PostgreSQL server binaries (initdb) not installed; apt-get install postgresql"
)

#: A tiny HTTP service: /health answers 200, prints "listening" once bound.
SERVICE = '''
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok" if self.path == "/health" else b"hello"
        self.send_response(200 if self.path in ("/health", "/") else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
print("listening on", sys.argv[1], flush=True)
server.serve_forever()
'''

WORKFLOW = """
environments:
  shopdb: {provider: postgres, scope: session, isolate: test, schema: schema.sql, env: {DATABASE_URL: "{dsn}"}}
  payments: {provider: process, command: [python, service.py, "{port}"], ready: {http: /health, timeout: 10}, scope: module}
  workdir: {provider: local, env: {SHOP_MODE: test, SHOP_DIR: "{path}"}}
"""

SCHEMA = "CREATE TABLE orders (id serial PRIMARY KEY, total numeric NOT NULL);\n"


@pytest.fixture
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private runtime dir per test (traversable by the postgres user), checked empty after."""
    path = Path(tempfile.mkdtemp(prefix="orchestra-env-test-", dir=default_runtime_dir().parent))
    path.chmod(0o711)
    monkeypatch.setenv("PYTEST_ORCHESTRA_RUNTIME_DIR", str(path))
    # pytester points HOME at its folder: share the real cache so initdb runs once, not per test.
    monkeypatch.setenv("PYTEST_ORCHESTRA_CACHE_DIR", str(Path(pwd.getpwuid(os.getuid()).pw_dir) / ".cache" / "pytest-orchestra"))
    yield path
    for process in processes_under(path):
        os.kill(process, signal.SIGKILL)
    shutil.rmtree(path, ignore_errors=True)


def processes_under(path: Path) -> List[int]:
    """Pids whose command line mentions ``path`` (servers and services of one test)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(path) in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def assert_nothing_left(base: Path, runtime: Path) -> None:
    deadline = time.monotonic() + 5
    while processes_under(runtime) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_under(runtime) == []
    assert sorted(p.name for p in runtime.iterdir() if p.name != "ports") == []
    ports = runtime / "ports"
    assert not ports.exists() or list(ports.iterdir()) == []
    leases = base / ".orchestra" / "environments" / "leases"
    assert not leases.exists() or list(leases.glob("*.json")) == []


def make_project(pytester: pytest.Pytester, tests: str, workflow: str = WORKFLOW) -> None:
    pytester.makefile(".yaml", orchestra=workflow)
    pytester.makefile(".sql", schema=SCHEMA)
    (pytester.path / "service.py").write_text(SERVICE)
    pytester.makepyfile(tests)


def triage(base: Path) -> Dict[str, Dict[str, Any]]:
    records = json.loads((base / ".orchestra" / "reports" / "latest" / "triage.json").read_text())
    return {r["nodeid"].split("::")[-1]: r for r in records}


USES_ALL = '''
import os, urllib.request
import psycopg, pytest

@pytest.mark.env("shopdb", "payments", "workdir")
def test_uses_all(orchestra_env):
    db = orchestra_env["shopdb"]
    with psycopg.connect(db.dsn) as conn:
        conn.execute("INSERT INTO orders (total) VALUES (9.5)")
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (1,)
    assert os.environ["DATABASE_URL"] == db.dsn
    assert urllib.request.urlopen(orchestra_env["payments"].url + "/health").read() == b"ok"
    workdir = orchestra_env("workdir")
    assert os.environ["SHOP_DIR"] == str(workdir.path)
    assert oct(workdir.path.stat().st_mode & 0o777) == "0o700"

@pytest.mark.parametrize("n", range(6))
@pytest.mark.env("shopdb")
def test_each_test_has_its_own_database(orchestra_env, n):
    with orchestra_env["shopdb"].connect() as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)
        conn.execute("INSERT INTO orders (total) VALUES (1)")
        conn.execute("CREATE TABLE scratch (x int)")

def test_env_vars_do_not_leak():
    assert "SHOP_MODE" not in os.environ and "DATABASE_URL" not in os.environ
'''


@needs_postgres
@pytest.mark.parametrize("workers", [0, 2, 4])
def test_environments_pass_and_leave_nothing(pytester: pytest.Pytester, runtime_dir: Path, workers: int) -> None:
    make_project(pytester, USES_ALL)
    args = ["-p", "no:randomly"] + (["-n", str(workers)] if workers else [])
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=8)
    assert_nothing_left(pytester.path, runtime_dir)
    logs = list((pytester.path / ".orchestra" / "reports" / "latest" / "environments").glob("payments-*.log"))
    assert logs and "listening on" in logs[0].read_text()


MISSING_BINARIES = '''
import pytest

@pytest.mark.env("shopdb")
def test_needs_db(orchestra_env):
    pass

@pytest.mark.env("shopdb")
def test_needs_db_too(orchestra_env):
    pass

def test_independent():
    pass
'''


def test_failed_provision_errors_in_setup_with_category_environment(
    pytester: pytest.Pytester, runtime_dir: Path
) -> None:
    empty = pytester.mkdir("no-postgres-here")
    workflow = f"environments:\n  shopdb: {{provider: postgres, bin_dir: {empty}}}\n"
    make_project(pytester, MISSING_BINARIES, workflow)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        [f"*shopdb (postgres): initdb not found in {empty}; install postgresql or set environments.shopdb.bin_dir*"]
    )
    records = triage(pytester.path)
    assert records["test_needs_db"]["category"] == "environment"
    assert records["test_needs_db_too"]["category"] == "environment"
    assert_nothing_left(pytester.path, runtime_dir)


FLAKY_START = '''
import pytest

@pytest.mark.env("broken")
def test_broken(orchestra_env):
    pass
'''


def test_a_failing_command_is_retried_then_reported(pytester: pytest.Pytester, runtime_dir: Path) -> None:
    workflow = """
environments:
  broken: {provider: process, command: [python, -c, "import sys; print('boom'); sys.exit(3)"], ready: {tcp: true}, retries: 1, backoff: 0}
"""
    make_project(pytester, FLAKY_START, workflow)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*broken (process): *exited with status 3 before it was ready; output: boom (after 2 attempts)*"])
    assert triage(pytester.path)["test_broken"]["category"] == "environment"
    assert_nothing_left(pytester.path, runtime_dir)


DEAD_SERVICE = '''
import os, signal, urllib.request
import pytest

@pytest.mark.env("payments")
def test_1_kill_it(orchestra_env):
    os.kill(orchestra_env["payments"].pid, signal.SIGKILL)

@pytest.mark.env("payments")
def test_2_stop_it(orchestra_env):
    assert urllib.request.urlopen(orchestra_env["payments"].url + "/health").read() == b"ok"
    os.kill(orchestra_env["payments"].pid, signal.SIGSTOP)

@pytest.mark.env("payments")
def test_3_hits_the_recovered_service(orchestra_env):
    assert urllib.request.urlopen(orchestra_env["payments"].url + "/health", timeout=5).read() == b"ok"
    assert False, "fails after a re-provision"
'''


def test_a_dead_or_stopped_service_is_reprovisioned(pytester: pytest.Pytester, runtime_dir: Path) -> None:
    workflow = """
environments:
  payments: {provider: process, command: [python, service.py, "{port}"], ready: {http: /health}, scope: session}
"""
    make_project(pytester, DEAD_SERVICE, workflow)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*orchestra environments*", "reprovisioned: payments (process): process *",
                                 "reprovisioned: payments (process): process * is stopped*"])
    assert triage(pytester.path)["test_3_hits_the_recovered_service"]["category"] == "infrastructure"
    summary = json.loads((pytester.path / ".orchestra" / "reports" / "latest" / "summary.json").read_text())
    kinds = [event["kind"] for event in summary["environments"]["events"]]
    assert kinds == ["reprovisioned", "reprovisioned"]
    assert_nothing_left(pytester.path, runtime_dir)


@needs_postgres
def test_a_killed_postgres_is_reprovisioned(pytester: pytest.Pytester, runtime_dir: Path) -> None:
    tests = '''
import os, signal, time
import pytest

@pytest.mark.env("shopdb")
def test_1_kill_server(orchestra_env):
    os.kill(orchestra_env["shopdb"].server_pid, signal.SIGKILL)
    time.sleep(0.2)

@pytest.mark.env("shopdb")
def test_2_works_again(orchestra_env):
    with orchestra_env["shopdb"].connect() as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)
'''
    make_project(pytester, tests)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["reprovisioned: shopdb (postgres): postgres (pid *) is gone"])
    assert_nothing_left(pytester.path, runtime_dir)


INTERRUPTED = '''
import pytest

@pytest.mark.env("shopdb", "payments")
def test_interrupted(orchestra_env):
    raise KeyboardInterrupt

def test_never_runs():
    pass
'''


@needs_postgres
def test_an_interrupted_run_leaves_nothing(pytester: pytest.Pytester, runtime_dir: Path) -> None:
    make_project(pytester, INTERRUPTED)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert_nothing_left(pytester.path, runtime_dir)


CRASHING_WORKER = '''
import os
import pytest

@pytest.mark.env("shopdb", "payments")
def test_crash_worker(orchestra_env):
    os._exit(1)

@pytest.mark.parametrize("n", range(4))
@pytest.mark.env("shopdb", "payments")
def test_others(orchestra_env, n):
    with orchestra_env["shopdb"].connect() as conn:
        conn.execute("SELECT 1")
'''


@needs_postgres
def test_a_crashed_xdist_worker_leaves_nothing(pytester: pytest.Pytester, runtime_dir: Path) -> None:
    make_project(pytester, CRASHING_WORKER)
    # No replacement worker: xdist can hang handing out nothing to a late replacement.
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-n", "2", "--max-worker-restart=0", timeout=120)
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) + outcomes.get("error", 0) + outcomes.get("errors", 0) >= 1
    assert_nothing_left(pytester.path, runtime_dir)


@needs_postgres
def test_leftovers_of_a_killed_run_are_reaped_at_the_next_start(
    pytester: pytest.Pytester, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty cache: the run is killed while initdb's output is being copied into it.
    monkeypatch.setenv("PYTEST_ORCHESTRA_CACHE_DIR", str(pytester.path / "cache"))
    tests = '''
import os, signal
import pytest

@pytest.mark.env("shopdb", "payments")
def test_killed(orchestra_env):
    os.kill(os.getpid(), signal.SIGKILL)
'''
    make_project(pytester, tests)
    killed = pytester.runpytest_subprocess("-p", "no:randomly")
    assert killed.ret != 0
    # SIGKILL runs no cleanup: the server (shared, so not tied to its starter) is left.
    assert processes_under(runtime_dir)
    assert list((pytester.path / ".orchestra" / "environments" / "leases").glob("*.json"))
    for path in pytester.path.glob("test_*.py"):
        path.unlink()
    pytester.makepyfile(test_next="def test_next():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    assert_nothing_left(pytester.path, runtime_dir)
    assert list((pytester.path / "cache" / "postgres").glob(".*.partial")) == []


@pytest.mark.parametrize(
    ("workflow", "message"),
    [
        ("environments:\n  shopdb: {provider: mysql}\n",
         "*environments.shopdb.provider: unknown provider 'mysql' (available: docker, local, postgres, process, sqlite)*"),
        ("environments:\n  a: {provider: local, port: 18080}\n  b: {provider: process, command: [x], port: 18080}\n",
         "*environments.a.port and environments.b.port both claim port 18080*"),
        ("environments:\n  a: {provider: local, colour: blue}\n",
         "*environments.a.colour: unknown key*"),
        ("environments:\n  a: {provider: local, isolate: test}\n",
         "*environments.a.isolate: provider 'local' cannot isolate per test*"),
    ],
)
def test_conflicting_requirements_are_reported_at_configure_time(
    pytester: pytest.Pytester, workflow: str, message: str
) -> None:
    pytester.makefile(".yaml", orchestra=workflow)
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_docker_environments_are_skipped_without_an_engine(pytester: pytest.Pytester, runtime_dir: Path) -> None:
    pytester.makefile(".yaml", orchestra="environments:\n  cache: {provider: docker, image: redis:7, port: 6379}\n")
    pytester.makepyfile('import pytest\n@pytest.mark.env("cache")\ndef test_cache(orchestra_env):\n    pass\n')
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    reasons = ("testcontainers is not installed", "no Docker engine answers")
    assert any(f"cache (docker): {reason}" in result.stdout.str() for reason in reasons)


def test_the_marker_without_declared_environments_is_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('import pytest\n@pytest.mark.env("shopdb")\ndef test_x():\n    pass\n')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.env('shopdb'): the workflow declares no environments*"])


def test_unknown_environment_names_the_declared_ones(pytester: pytest.Pytester, runtime_dir: Path) -> None:
    pytester.makefile(".yaml", orchestra="environments:\n  workdir: {provider: local}\n")
    pytester.makepyfile('import pytest\n@pytest.mark.env("nope")\ndef test_x(orchestra_env):\n    pass\n')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown environment 'nope' (declared in the workflow: workdir)*"])


PROVIDER_CONFTEST = '''
from pytest_orchestra.environments import Environment

class EchoProvider:
    name = "echo"
    torn_down = []
    def provision(self, spec, context):
        return Environment(spec.name, self.name, url="echo://" + spec.options["greeting"], env={"ECHO_API_TOKEN": "tok-" + spec.options["greeting"]})
    def check(self, env):
        return True
    def teardown(self, env):
        self.torn_down.append(env.name)

def pytest_orchestra_environment_providers(config):
    return [EchoProvider()]
'''


def test_a_conftest_adds_a_provider_and_secrets_are_redacted(pytester: pytest.Pytester, runtime_dir: Path) -> None:
    pytester.makefile(".yaml", orchestra="environments:\n  echo: {provider: echo, scope: test, options: {greeting: hello-secret}}\n")
    pytester.makeconftest(PROVIDER_CONFTEST)
    pytester.makepyfile('''
import os, pytest
@pytest.mark.env("echo")
def test_echo(orchestra_env):
    assert orchestra_env["echo"].url == "echo://hello-secret"
    assert os.environ["ECHO_API_TOKEN"] == "tok-hello-secret"
    assert False, os.environ["ECHO_API_TOKEN"]
''')
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    report = (pytester.path / ".orchestra" / "reports" / "latest" / "report.md").read_text()
    assert "tok-hello-secret" not in report
