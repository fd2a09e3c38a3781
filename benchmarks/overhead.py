"""Measure what pytest-orchestra costs a suite that does not use it.

Target: with the plugin installed but no flags and no workflow file, a
generated 5,000-test suite runs at most 5% slower than with ``-p no:orchestra``.

The script writes a realistic suite into a temporary directory (about 50
modules of plain functions, parametrized tests and a few classes, plus a
conftest with a fixture), then times whole ``python -m pytest`` subprocesses:
one warm-up of each variant, then the two variants interleaved so drift in the
machine's load hits both alike. It reports medians and their ratio; it never
judges absolute times, which depend on the machine.

Usage: ``python benchmarks/overhead.py [--runs N] [--workers N] [--json]``

Wall time on a shared machine is noisy. ``--callgrind`` instead counts the
instructions each variant executes under valgrind's callgrind (one run each,
both at once, after a warm-up that caches bytecode), which repeats to within a
fraction of a percent: ``python benchmarks/overhead.py --callgrind``. A
5,000-test run takes about 12 minutes under valgrind.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence

TARGET_RATIO = 1.05
MODULE_COUNT = 50
TESTS_PER_MODULE = 100  # 50 x 100 = 5,000 tests

CONFTEST = '''\
"""Fixtures shared by the generated suite."""

import pytest


@pytest.fixture
def order():
    return {"id": 1, "lines": [("KB-101", 2, 4990), ("MS-220", 1, 1999)], "region": "DE"}


@pytest.fixture(scope="session")
def rates():
    return {"DE": 19, "FR": 20, "NL": 21}
'''


def module_source(index: int) -> str:
    """One test module with exactly TESTS_PER_MODULE tests.

    The mix: 40 plain functions, 3 parametrized functions of 10 cases each,
    and a class of 30 methods every fifth module (plain functions otherwise),
    so the suite exercises the collection paths real suites use.
    """
    parts: List[str] = [
        f'"""Generated module {index}."""\n',
        "import pytest\n",
        "\n",
        "def total(order, rates):\n"
        "    net = sum(qty * price for _, qty, price in order['lines'])\n"
        "    return net + net * rates[order['region']] // 100\n",
    ]
    for number in range(40):
        if number % 4 == 0:
            parts.append(f"\ndef test_total_{number}(order, rates):\n    assert total(order, rates) > {number}\n")
        else:
            parts.append(f"\ndef test_plain_{number}():\n    assert sum(range({number + 3})) >= {number}\n")
    for number in range(3):
        parts.append(
            f"\n@pytest.mark.parametrize('value', range(10))\n"
            f"def test_param_{number}(value):\n    assert (value * {number + 2}) % {number + 2} == 0\n"
        )
    if index % 5 == 0:
        methods = "".join(
            f"\n    def test_method_{number}(self, order):\n        assert order['id'] == 1\n" for number in range(30)
        )
        parts.append(f"\nclass TestOrders{index}:\n{methods}")
    else:
        for number in range(30):
            parts.append(f"\ndef test_extra_{number}(order):\n    assert len(order['lines']) == 2\n")
    return "".join(parts)


def generate_suite(root: Path, test_count: int = MODULE_COUNT * TESTS_PER_MODULE) -> int:
    """Write the suite under ``root``; returns the number of tests written.

    ``test_count`` is rounded up to whole modules of TESTS_PER_MODULE tests.
    """
    module_count = max(1, -(-test_count // TESTS_PER_MODULE))
    tests = root / "tests"
    tests.mkdir(parents=True)
    (root / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    # A pytest.ini pins the rootdir so no config above the temp dir is picked up.
    (root / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n", encoding="utf-8")
    for index in range(module_count):
        (tests / f"test_generated_{index:02d}.py").write_text(module_source(index), encoding="utf-8")
    return module_count * TESTS_PER_MODULE


def pytest_command(with_plugin: bool, workers: int) -> List[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if not with_plugin:
        command += ["-p", "no:orchestra"]
    if workers:
        command += ["-n", str(workers)]
    return command


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_environment(keep_bytecode_setting: bool) -> Dict[str, str]:
    """The subprocesses' environment.

    pip compiles an installed package's bytecode at install time, so users
    import pytest-orchestra from ``.pyc`` files. An editable checkout under
    ``PYTHONDONTWRITEBYTECODE=1`` (set on the team's machines) would instead
    recompile every module of the plugin on every run and charge that to it;
    unless asked to keep the setting, bytecode caching is left on.
    """
    env = dict(os.environ)
    if not keep_bytecode_setting:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


RUN_ENV: Dict[str, str] = run_environment(False)


def timed_run(command: Sequence[str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one pytest subprocess.

    CPU time is reported next to wall time because on a shared machine other
    processes inflate wall time at random; CPU time is far less sensitive.
    """
    cpu_before = children_cpu_seconds()
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, env=RUN_ENV)
    elapsed = time.perf_counter() - started
    cpu = children_cpu_seconds() - cpu_before
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout + completed.stderr).splitlines()[-15:])
        raise SystemExit(f"overhead: {' '.join(command)} exited {completed.returncode}:\n{tail}")
    return elapsed, cpu


def plugin_is_installed() -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", "import pytest_orchestra.plugin"], capture_output=True, check=False
    )
    return probe.returncode == 0


def measure(runs: int, workers: int, log: bool, tests: int) -> Dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="orchestra-overhead-") as temp:
        root = Path(temp)
        test_count = generate_suite(root, tests)
        variants = {"baseline": pytest_command(False, workers), "plugin": pytest_command(True, workers)}
        for name, command in variants.items():
            if log:
                print(f"warm-up {name}: {timed_run(command, root)[0]:.2f}s", file=sys.stderr)
        times: Dict[str, List[float]] = {"baseline": [], "plugin": []}
        cpu_times: Dict[str, List[float]] = {"baseline": [], "plugin": []}
        for run in range(runs):
            # Alternate which variant goes first so neither always runs on a warmer cache.
            order = ["baseline", "plugin"] if run % 2 == 0 else ["plugin", "baseline"]
            for name in order:
                wall, cpu = timed_run(variants[name], root)
                times[name].append(wall)
                cpu_times[name].append(cpu)
            if log:
                print(
                    f"run {run + 1}/{runs}: baseline {times['baseline'][-1]:.2f}s, "
                    f"plugin {times['plugin'][-1]:.2f}s",
                    file=sys.stderr,
                )
        # The plugin records history and reports by default, even without a
        # workflow; that work is part of what the ratio measures.
        recorded = (root / ".orchestra").exists()
    baseline = statistics.median(times["baseline"])
    plugin = statistics.median(times["plugin"])
    ratio = plugin / baseline
    cpu_baseline = statistics.median(cpu_times["baseline"])
    cpu_plugin = statistics.median(cpu_times["plugin"])
    return {
        "tests": test_count,
        "runs": runs,
        "workers": workers,
        "baseline_median_s": round(baseline, 3),
        "plugin_median_s": round(plugin, 3),
        "ratio": round(ratio, 4),
        "target_ratio": TARGET_RATIO,
        "within_target": ratio <= TARGET_RATIO,
        "plugin_recorded": recorded,
        "cpu_baseline_median_s": round(cpu_baseline, 3),
        "cpu_plugin_median_s": round(cpu_plugin, 3),
        "cpu_ratio": round(cpu_plugin / cpu_baseline, 4),
        "baseline_times_s": [round(t, 3) for t in times["baseline"]],
        "plugin_times_s": [round(t, 3) for t in times["plugin"]],
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
    }


CALLGRIND_TOTAL = re.compile(r"Collected : (\d+)")


def callgrind_command(command: Sequence[str], out_file: Path) -> List[str]:
    return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", *command]


def measure_instructions(workers: int, log: bool, tests: int) -> Dict[str, object]:
    """Instructions executed by each variant, counted by callgrind (one run each, in parallel)."""
    with tempfile.TemporaryDirectory(prefix="orchestra-overhead-") as temp:
        root = Path(temp)
        test_count = generate_suite(root, tests)
        variants = {"baseline": pytest_command(False, workers), "plugin": pytest_command(True, workers)}
        for name, command in variants.items():
            # Caches bytecode (and the plugin's history) as a user's second run would find them.
            if log:
                print(f"warm-up {name}: {timed_run(command, root)[0]:.2f}s", file=sys.stderr)
        started = time.perf_counter()
        running = {
            name: subprocess.Popen(
                callgrind_command(command, root / f"callgrind.{name}.out"),
                cwd=root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env=RUN_ENV,
            )
            for name, command in variants.items()
        }
        counts: Dict[str, int] = {}
        for name, process in running.items():
            _, err = process.communicate()
            found = CALLGRIND_TOTAL.search(err)
            if found is None:
                tail = "\n".join(err.splitlines()[-15:])
                raise SystemExit(f"overhead: callgrind run of {name} gave no total (exit {process.returncode}):\n{tail}")
            counts[name] = int(found.group(1))
        if log:
            print(f"callgrind runs took {time.perf_counter() - started:.0f}s", file=sys.stderr)
    ratio = counts["plugin"] / counts["baseline"]
    return {
        "tests": test_count,
        "workers": workers,
        "baseline_instructions": counts["baseline"],
        "plugin_instructions": counts["plugin"],
        "ratio": round(ratio, 4),
        "target_ratio": TARGET_RATIO,
        "within_target": ratio <= TARGET_RATIO,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each variant (default 7)")
    parser.add_argument("--workers", type=int, default=0, help="run both variants with pytest-xdist -n N")
    parser.add_argument(
        "--tests",
        type=int,
        default=MODULE_COUNT * TESTS_PER_MODULE,
        help=f"size of the generated suite, in whole modules of {TESTS_PER_MODULE} tests "
        f"(default {MODULE_COUNT * TESTS_PER_MODULE}; the target is judged at that size)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="count instructions under valgrind's callgrind (one run each) instead of timing",
    )
    parser.add_argument(
        "--keep-no-bytecode",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE from the environment (recompiles the plugin every run)",
    )
    args = parser.parse_args(argv)
    global RUN_ENV
    RUN_ENV = run_environment(args.keep_no_bytecode)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.tests < 1:
        parser.error("--tests must be at least 1")
    if not plugin_is_installed():
        print("overhead: pytest_orchestra is not importable; install it (pip install -e .) first", file=sys.stderr)
        return 2

    if args.callgrind:
        if shutil.which("valgrind") is None:
            print("overhead: --callgrind needs valgrind on PATH", file=sys.stderr)
            return 2
        result = measure_instructions(args.workers, log=not args.json, tests=args.tests)
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            verdict = "within" if result["within_target"] else "OVER"
            print(f"tests: {result['tests']}, workers: {result['workers'] or 'none'} (callgrind, one run each)")
            print(f"baseline (-p no:orchestra) instructions: {result['baseline_instructions']:,}")
            print(f"plugin installed, passive   instructions: {result['plugin_instructions']:,}")
            print(f"ratio plugin/baseline: {result['ratio']:.3f} ({verdict} the {TARGET_RATIO} target)")
        return 0

    result = measure(args.runs, args.workers, log=not args.json, tests=args.tests)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        verdict = "within" if result["within_target"] else "OVER"
        print(f"tests: {result['tests']}, runs: {result['runs']} each, workers: {result['workers'] or 'none'}")
        print(f"baseline (-p no:orchestra) median: {result['baseline_median_s']:.2f}s")
        print(f"plugin installed, passive   median: {result['plugin_median_s']:.2f}s")
        print(f"ratio plugin/baseline: {result['ratio']:.3f} ({verdict} the {TARGET_RATIO} target)")
        print(
            f"cross-check, CPU time medians: baseline {result['cpu_baseline_median_s']:.2f}s, "
            f"plugin {result['cpu_plugin_median_s']:.2f}s, ratio {result['cpu_ratio']:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
