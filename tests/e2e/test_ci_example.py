"""The GitHub Actions example's own commands, run locally.

Each shard runs in its own copy of the shop (its own machine), the merge job
combines their report folders and writes the durations, and a second round of
shards plans from those durations. Every test must run exactly once per round.
"""

from __future__ import annotations

import glob
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

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = REPO_ROOT / "examples" / "ci" / "sharded-tests.yml"
SHOP = REPO_ROOT / "examples" / "shop"
DURATIONS = ".orchestra/durations.json"

pytestmark = pytest.mark.slow


def _run_step(jobs: dict, job: str, needle: str) -> str:
    for step in jobs[job]["steps"]:
        if needle in step.get("run", ""):
            return " ".join(step["run"].replace("\\\n", " ").split())
    raise AssertionError(f"no step of {job} runs {needle!r}")


def _command(text: str, cwd: Path) -> List[str]:
    parts = shlex.split(text)
    parts[0:1] = [sys.executable]
    return [part for arg in parts for part in (sorted(glob.glob(str(cwd / arg))) if "*" in arg else [arg])]


def _machine(tmp_path: Path, name: str, durations: Path | None) -> Path:
    project = tmp_path / name
    shutil.copytree(SHOP, project, ignore=shutil.ignore_patterns(".orchestra", "__pycache__"))
    with open(project / "orchestra.yaml", "a", encoding="utf-8") as workflow:
        workflow.write(f"\nsharding: {{durations_file: {DURATIONS}}}\n")
    if durations is not None:  # what actions/cache/restore brings
        (project / DURATIONS).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(durations, project / DURATIONS)
    return project


def _round(tmp_path: Path, label: str, jobs: dict, env: Dict[str, str], durations: Path | None) -> Path:
    shards = jobs["shard"]["strategy"]["matrix"]["shard"]
    shard_command = _run_step(jobs, "shard", "--orchestra-shard")
    merger = tmp_path / f"{label}-merge"
    for shard in shards:
        project = _machine(tmp_path, f"{label}-shard{shard}", durations)
        done = subprocess.run(_command(shard_command.replace("${{ matrix.shard }}", str(shard)), project),
                              cwd=project, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode in (0, 1, 6), done.stdout[-2000:] + done.stderr[-2000:]
        shutil.copytree(project / "shard-report", merger / "shards" / f"orchestra-shard-{shard}")
    merged = subprocess.run(_command(_run_step(jobs, "report", "pytest_orchestra merge"), merger),
                            cwd=merger, env=env, capture_output=True, text=True, timeout=120)
    assert merged.returncode == 1, merged.stderr  # the shop has deliberate failures
    return merger


def test_sharded_workflow_runs_every_test_once_and_merges(tmp_path: Path) -> None:
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    assert jobs["report"]["needs"] == "shard"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_ADDOPTS", "SHOP_LICENSE_FILE", "CI_NODE_INDEX", "CI_NODE_TOTAL")}
    # Collected on a fresh copy, as each CI machine starts (no .orchestra: the foreign suite is one item per cell).
    fresh = _machine(tmp_path, "collect", None)
    full = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                          cwd=fresh, env=env, capture_output=True, text=True, timeout=120)
    collected = sorted(line for line in full.stdout.splitlines() if "::" in line)

    durations = None
    for label in ("first", "second"):
        merger = _round(tmp_path, label, jobs, env, durations)
        spans = [json.loads(line) for line in (merger / "merged-report" / "events.jsonl").read_text().splitlines()]
        assert sorted(span["name"] for span in spans if span["parentSpanId"]) == collected, label
        summary = json.loads((merger / "merged-report" / "summary.json").read_text())
        assert [e["nodeid"] for e in summary["ordering"]["dependency_skipped"]] == [
            "tests/test_order_journey.py::test_reserve_through_staging_warehouse"
        ]
        durations = merger / DURATIONS
        written = json.loads(durations.read_text())
        assert set(written) <= set(collected) and len(written) > len(collected) // 2
