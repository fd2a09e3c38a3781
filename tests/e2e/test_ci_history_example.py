"""The shared-history CI examples' own commands, run locally against a real PostgreSQL.

Each shard runs in its own copy of a project (its own machine) with the
variables GitHub Actions sets; the report job reads the pipeline back from the
database. A shard is retried, and a second pipeline follows, to see the retry
count once and the trends move.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from pytest_orchestra.environments.throwaway import ThrowawayPostgres
from pytest_orchestra.history.location import parse_history_url
from pytest_orchestra.history.postgres import PostgresHistoryStore
from tests.pghistory import history_server, history_url  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples" / "ci"

pytestmark = pytest.mark.slow

SUITE = {
    "tests/test_cart.py": "import time, pytest\n@pytest.mark.parametrize('n', range(10))\n"
                          "def test_cart(n):\n    time.sleep(0.01 * (n % 3))\n",
    "tests/test_orders.py": "import os\ndef test_total():\n    assert os.environ.get('GITHUB_RUN_ATTEMPT') != '1'\n"
                            "def test_refund():\n    pass\n",
    "tests/test_users.py": "import pytest\n@pytest.mark.parametrize('n', range(6))\ndef test_user(n):\n    pass\n",
}
COLLECTED = 18


def _project(root: Path) -> Path:
    root.mkdir(parents=True)
    for name, source in SUITE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(source)
    (root / "pytest.ini").write_text("[pytest]\n")
    # A checkout: the runs know their commit and branch.
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "suite"], cwd=root, check=True)
    return root


def _step(job: Dict, needle: str) -> str:
    for step in job["steps"]:
        if needle in step.get("run", ""):
            return step["run"]
    raise AssertionError(f"no step runs {needle!r}")


def _command(text: str, values: Dict[str, str]) -> List[str]:
    for expression, value in values.items():
        text = text.replace("${{ " + expression + " }}", value)
    assert "${{" not in text, text
    parts = shlex.split(" ".join(text.split()))
    return [sys.executable] + parts[1:] if parts[0] == "python" else parts


def _github(run_id: str, attempt: str, url: str) -> Dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "ORCHESTRA_RUN_GROUP", "CI_NODE_INDEX",
                                                             "CI_NODE_TOTAL", "GITHUB_STEP_SUMMARY")}
    return {**keep, "GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": run_id, "GITHUB_RUN_ATTEMPT": attempt,
            "GITHUB_JOB": "shard", "GITHUB_REF_NAME": "main", "ORCHESTRA_HISTORY_URL": url}


def _pipeline(tmp_path: Path, jobs: Dict, run_id: str, url: str, *, xdist: bool = True) -> None:
    command = _step(jobs["shard"], "--orchestra-shard")
    if not xdist:  # the same command on one process: a second pipeline only needs to exist, fast
        command = command.replace(" -n auto", "")
    for shard in jobs["shard"]["strategy"]["matrix"]["shard"]:
        machine = _project(tmp_path / f"{run_id}-shard{shard}")
        done = subprocess.run(_command(command, {"matrix.shard": str(shard)}), cwd=machine,
                              env=_github(run_id, "1", url), capture_output=True, text=True, timeout=300)
        assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
        assert "history database" not in done.stdout  # no warning: the database answered


def _report(tmp_path: Path, jobs: Dict, run_id: str, url: str) -> Path:
    machine = _project(tmp_path / f"{run_id}-report")
    env = _github(run_id, "1", url)
    values = {"github.run_id": run_id, "github.head_ref || github.ref_name": "main"}
    report = subprocess.run(_command(_step(jobs["report"], "history report"), values), cwd=machine, env=env,
                            capture_output=True, text=True, timeout=120)
    assert report.returncode in (0, 1), report.stderr
    trends = subprocess.run(_command(_step(jobs["report"], "history trends"), values), cwd=machine, env=env,
                            capture_output=True, text=True, timeout=120)
    assert trends.returncode == 0, trends.stderr
    (machine / "merged-report" / "trends.txt").write_text(trends.stdout)
    return machine / "merged-report"


def test_shards_of_two_pipelines_write_one_history_that_the_report_job_reads(
    tmp_path: Path, history_server: ThrowawayPostgres, history_url: str
) -> None:
    jobs = yaml.safe_load((EXAMPLES / "shared-history.yml").read_text())["jobs"]
    assert jobs["report"]["needs"] == "shard"
    assert jobs["shard"]["env"]["ORCHESTRA_HISTORY_URL"] == "${{ secrets.ORCHESTRA_HISTORY_URL }}"
    _pipeline(tmp_path, jobs, "5001", history_url)
    # "Re-run failed jobs": the shard holding test_total runs again, as attempt 2, and passes.
    with PostgresHistoryStore.open(parse_history_url(history_url, "x"), timeout=20, on_failure=print) as store:
        failing = [run for run in store.group_runs("github-5001") if run.exit_status == 1]
        assert len(failing) == 1 and failing[0].shard is not None
    shard = failing[0].shard.split()[-1].split("/")[0]  # "shard 2/4" -> "2"
    machine = _project(tmp_path / "5001-retry")
    retried = subprocess.run(_command(_step(jobs["shard"], "--orchestra-shard"), {"matrix.shard": shard}),
                             cwd=machine, env=_github("5001", "2", history_url), capture_output=True, text=True,
                             timeout=300)
    assert retried.returncode == 0, retried.stdout[-2000:]
    merged = _report(tmp_path, jobs, "5001", history_url)
    summary = json.loads((merged / "summary.json").read_text())
    assert summary["counts"]["total"] == COLLECTED  # every test once, the retried shard included
    assert summary["counts"]["failed"] == 0 and summary["gate"]["passed"] is True
    _pipeline(tmp_path, jobs, "5002", history_url, xdist=False)
    merged = _report(tmp_path, jobs, "5002", history_url)
    assert "### Trends: last 2 runs (branch main)" in (merged / "report.md").read_text()
    trend = (merged / "trends.txt").read_text().splitlines()
    assert trend[0] == "last 2 runs (branch main), oldest first:"
    assert "github-5001" in trend[1] and "github-5002" in trend[2] and "failures: product 1" in trend[2]
    assert (merged / "trends.svg").is_file()
    assert history_server.password not in (merged / "report.md").read_text() + "\n".join(trend)


def test_four_shards_in_one_job_share_the_service_container(
    tmp_path: Path, history_server: ThrowawayPostgres, history_url: str
) -> None:
    job = yaml.safe_load((EXAMPLES / "history-service-container.yml").read_text())["jobs"]["tests"]
    service = job["services"]["postgres"]
    assert service["image"].startswith("postgres:") and service["ports"] == ["5432:5432"]
    # The service's URL and password, pointed at the test's server: the password comes from PGPASSWORD.
    target = parse_history_url(history_url, "x")
    url = job["env"]["ORCHESTRA_HISTORY_URL"].replace(
        "localhost:5432/history", f"127.0.0.1:{history_server.port}/{history_url.rsplit('/', 1)[1]}")
    assert parse_history_url(url, "x").password is None
    env = {**_github("7001", "1", url), "PGPASSWORD": target.password or ""}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # the job's python
    machine = _project(tmp_path / "job")
    shards = subprocess.run(["bash", "-c", _step(job, "--orchestra-shard")], cwd=machine, env=env,
                            capture_output=True, text=True, timeout=300)
    assert shards.returncode == 0, shards.stderr
    report = subprocess.run(_command(_step(job, "history report"), {"github.run_id": "7001"}), cwd=machine, env=env,
                            capture_output=True, text=True, timeout=120)
    logs = "".join(path.read_text() for path in sorted(machine.glob("shard-*.log")))
    assert report.returncode == 1, report.stderr + logs[-3000:]  # test_total failed on this first attempt
    summary = json.loads((machine / "merged-report" / "summary.json").read_text())
    assert summary["counts"]["total"] == COLLECTED and summary["counts"]["failed"] == 1
    assert not (machine / ".orchestra" / "history.db").exists()
    shutil.rmtree(machine)
