"""The GitHub Actions example's own commands, run locally: four shards of the shop, then the merge."""

from __future__ import annotations

import glob
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = REPO_ROOT / "examples" / "ci" / "sharded-tests.yml"
SHOP = REPO_ROOT / "examples" / "shop"

pytestmark = pytest.mark.slow


def _run_step(jobs: dict, job: str, needle: str) -> str:
    for step in jobs[job]["steps"]:
        if needle in step.get("run", ""):
            return " ".join(step["run"].replace("\\\n", " ").split())
    raise AssertionError(f"no step of {job} runs {needle!r}")


def test_sharded_workflow_runs_every_test_once_and_merges(tmp_path: Path) -> None:
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    shards = jobs["shard"]["strategy"]["matrix"]["shard"]
    shard_command = _run_step(jobs, "shard", "--orchestra-shard")
    merge_command = _run_step(jobs, "report", "pytest_orchestra merge")
    assert jobs["report"]["needs"] == "shard"

    project = tmp_path / "shop"
    shutil.copytree(SHOP, project, ignore=shutil.ignore_patterns(".orchestra", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "SHOP_LICENSE_FILE")}
    for shard in shards:
        command = shlex.split(shard_command.replace("${{ matrix.shard }}", str(shard)))
        command[0:1] = [sys.executable]
        done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode in (0, 1, 6), done.stdout[-2000:] + done.stderr[-2000:]
        shutil.copytree(project / "shard-report", project / "shards" / f"orchestra-shard-{shard}")
        shutil.rmtree(project / "shard-report")
    command = shlex.split(merge_command)
    command[0:1] = [sys.executable]
    command = [part for arg in command for part in (sorted(glob.glob(str(project / arg))) if "*" in arg else [arg])]
    merged = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert merged.returncode == 1, merged.stderr  # the shop has deliberate failures
    summary = json.loads((project / "merged-report" / "summary.json").read_text())

    full = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=120)
    collected = sorted(line for line in full.stdout.splitlines() if "::" in line)
    spans = [json.loads(line) for line in (project / "merged-report" / "events.jsonl").read_text().splitlines()]
    merged_tests = sorted(span["name"] for span in spans if span["parentSpanId"])
    assert merged_tests == collected  # every test ran, in exactly one shard
    assert [e["nodeid"] for e in summary["ordering"]["dependency_skipped"]] == [
        "tests/test_order_journey.py::test_reserve_through_staging_warehouse"
    ]
