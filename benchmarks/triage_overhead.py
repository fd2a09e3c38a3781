"""Measure what triage costs a run full of failures.

Target (issue 7): a run with 1,000 failing tests takes at most 1.2x the same
run with ``-p no:orchestra``. The failures are varied so classification does
real work: assertion errors, ConnectionRefusedError against a closed port on
127.0.0.1, KeyError, and JSON decode errors. Each variant runs in a ``python
-m pytest`` subprocess; after one warm-up of each, the variants are
interleaved so drift in the machine's load hits both alike. Wall time and the
child's CPU time (user + system) are reported as medians and ratios.

Usage: ``python benchmarks/triage_overhead.py [--runs N] [--tests N] [--workers N] [--git] [--json]``

``--git`` makes the suite a git repository, as users' suites are: every run
then reads its code state (one ``git status`` beside the tests) and judges each
failure against the history of the runs before it (flakiness between runs of
the same code, changed code since the last pass).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 1.2
PER_MODULE = 50

WORKFLOW = """\
triage:
  sinks:
    failures-log: {type: jsonl, path: .orchestra/failures.jsonl}
  routes:
    - {categories: [infrastructure, environment, product, data, test, unknown], sinks: [failures-log]}
"""

KINDS = ("assertion", "refused", "keyerror", "json")


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_source(number: int, port: int) -> str:
    kind = KINDS[number % len(KINDS)]
    if kind == "assertion":
        body = f"    order = {{'total': {number}}}\n    assert order['total'] == {number + 1}\n"
    elif kind == "refused":
        body = f"    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
    elif kind == "keyerror":
        body = f"    settings = {{'region': 'DE'}}\n    settings['api_url_{number}']\n"
    else:
        body = f"    json.loads('{{\"id\": {number},')\n"
    return f"\ndef test_{kind}_{number}():\n{body}"


def write_suite(root: Path, tests: int, port: int) -> None:
    for start in range(0, tests, PER_MODULE):
        parts = ['"""Generated failing tests."""\n', "import json\nimport socket\n"]
        parts.extend(test_source(n, port) for n in range(start, min(start + PER_MODULE, tests)))
        (root / f"test_fail_{start // PER_MODULE:03d}.py").write_text("".join(parts))
    (root / "orchestra.yaml").write_text(WORKFLOW)


def timed_run(root: Path, args: list[str]) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one pytest subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode not in (0, 1):  # 1: tests failed, as they should
        raise SystemExit(f"pytest {' '.join(args)} exited {completed.returncode}:\n{completed.stdout[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def make_repository(root: Path) -> None:
    """A git repository of the suite (one commit): runs then read the code state and judge history by it."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.invalid"}
    (root / ".gitignore").write_text(".orchestra/\n__pycache__/\n")
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "suite"]):
        subprocess.run(command, cwd=root, env=env, check=True, capture_output=True)


def measure(runs: int, tests: int, workers: int, git: bool = False) -> dict[str, object]:
    extra = ["-n", str(workers)] if workers else []
    variants = {"baseline": ["-p", "no:orchestra", *extra], "orchestra": extra}
    samples: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in variants}
    with tempfile.TemporaryDirectory(prefix="orchestra-triage-bench-") as directory:
        root = Path(directory)
        write_suite(root, tests, closed_port())
        if git:
            make_repository(root)
        for args in variants.values():
            timed_run(root, args)  # warm-up: imports and filesystem caches
        for _ in range(runs):
            for name, args in variants.items():
                wall, cpu = timed_run(root, args)
                samples[name]["wall"].append(wall)
                samples[name]["cpu"].append(cpu)
    medians = {name: {k: statistics.median(v) for k, v in s.items()} for name, s in samples.items()}
    wall_ratio = medians["orchestra"]["wall"] / medians["baseline"]["wall"]
    cpu_ratio = medians["orchestra"]["cpu"] / medians["baseline"]["cpu"]
    return {
        "tests": tests, "runs": runs, "workers": workers, "git": git, "medians": medians,
        "wall_ratio": round(wall_ratio, 3), "cpu_ratio": round(cpu_ratio, 3),
        "target": TARGET_RATIO, "within_target": wall_ratio <= TARGET_RATIO,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=0, help="xdist workers (0: no xdist)")
    parser.add_argument("--git", action="store_true",
                        help="make the suite a git repository: each run reads its code state and judges every "
                             "failure against the history of runs of the same code")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    result = measure(options.runs, options.tests, options.workers, options.git)
    if options.json:
        print(json.dumps(result, indent=2))
    else:
        medians = result["medians"]
        assert isinstance(medians, dict)
        print(f"{options.tests} failing tests, median of {options.runs} runs")
        for name, values in medians.items():
            print(f"  {name:<10} wall {values['wall']:.2f}s  cpu {values['cpu']:.2f}s")
        verdict = "ok" if result["within_target"] else "OVER TARGET"
        print(f"  ratio      wall {result['wall_ratio']:.3f}  cpu {result['cpu_ratio']:.3f}  "
              f"(target <= {TARGET_RATIO}: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
