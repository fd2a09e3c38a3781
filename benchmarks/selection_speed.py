"""What change-based selection costs and saves in time, on a generated 10,000-test project.

Targets (issue 3): with a full map and no change, ``pytest --orchestra-changed`` finishes in
under 2 s; with a 20-file change, selection itself takes under 0.5 s and the whole
``--orchestra-changed --collect-only`` at most 1.2x a plain ``--collect-only``; a
``--orchestra-record-map`` run takes at most 1.5x a plain run (pytest-testmon's recording
run, about 2x, is measured beside it).

The script writes a package of MODULES modules (constants, a class with a property and
methods, eight functions each; every module imports two earlier ones and calls into them)
and TESTS tests in 200 files that call into two or three modules each, with expected values
computed when the project is generated. It makes the folder a git repository (one commit),
then measures whole pytest subprocesses, interleaved (the order rotates every repetition),
and prints medians of ``--repeat`` runs, wall and CPU time (user + system of the child):

(a) full run: plain (``-p no:orchestra``), ``--orchestra-record-map`` on an empty map, and
    pytest-testmon's recording run (``--testmon`` on an empty database) with its own plain
    baseline from the same interpreter;
(b) full map, no change: ``pytest --orchestra-changed`` beside a plain ``--collect-only -q``;
(c) 20 modules' function bodies edited (uncommitted; reverted after every repetition):
    ``--orchestra-changed --collect-only -q`` beside a plain ``--collect-only -q``, and the
    selection's own time from orchestra's ``orchestra: selection: ...`` line.

Python 3.11 uses the project's venv for orchestra and ``~/.cache/pytest-orchestra/
bench-venv-selection`` for testmon; Python 3.12 (where the recorder uses sys.monitoring) uses
``~/.cache/pytest-orchestra/bench-venv-py312`` (pytest-orchestra installed editable from
this checkout, plus pytest-testmon), created on first use. Competitors never go into the
project's venv.

Usage::

    .venv/bin/python benchmarks/selection_speed.py                   # 10,000 tests, 5 repetitions, 3.11 and 3.12
    .venv/bin/python benchmarks/selection_speed.py --quick           # 1,000 tests, 2 repetitions
    .venv/bin/python benchmarks/selection_speed.py --python 3.11 --repeat 7 --json
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

CACHE = Path.home() / ".cache" / "pytest-orchestra"
HERE = Path(__file__).resolve().parents[1]
PYTHONS = {
    "3.11": {"ours": HERE / ".venv" / "bin" / "python",
             "theirs": CACHE / "bench-venv-selection" / "bin" / "python",
             "base": Path("/root/.pyenv/versions/3.11.7/bin/python")},
    "3.12": {"ours": CACHE / "bench-venv-py312" / "bin" / "python",
             "theirs": CACHE / "bench-venv-py312" / "bin" / "python",
             "base": Path("/root/.pyenv/versions/3.12.1/bin/python")},
}
COMPETITORS = ["pytest==9.2.0", "pytest-testmon==2.2.0"]
PACKAGE = "benchshop"
TARGETS = {"no_change_seconds": 2.0, "selection_seconds": 0.5, "collect_ratio": 1.2, "record_ratio": 1.5}
SELECTION_LINE = re.compile(r"orchestra: selection: (\d+) of (\d+) tests selected in ([0-9.]+)s")
FUNCTIONS = 8
GITIGNORE = ".orchestra/\n.testmondata*\n__pycache__/\n.pytest_cache/\n"
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}


def log(message: str) -> None:
    print(f"[selection_speed] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# The generated project
# --------------------------------------------------------------------------------------------

def module_source(index: int, rng: random.Random) -> str:
    """Module ``index``: constants, a class, FUNCTIONS functions; imports two earlier modules."""
    deps = sorted(rng.sample(range(index), min(2, index))) if index else []
    lines = [f'"""Pricing rules, part {index}."""', "", "from __future__ import annotations", ""]
    lines += [f"from {PACKAGE} import mod_{d:03d}" for d in deps]
    lines += ["", f"RATE = {rng.randint(2, 9)}", f"LIMIT = {rng.randint(20, 90)}",
              f"NAMES = ({', '.join(repr(f'item{index}_{k}') for k in range(3))})", "", "",
              f"class Basket{index}:",
              f'    """A basket of module {index}."""', "",
              f"    factor = {rng.randint(2, 5)}", "",
              "    def __init__(self, base: int = 1) -> None:",
              "        self.base = base", "",
              "    @property",
              "    def doubled(self) -> int:",
              "        return self.base * 2", "",
              "    def scaled(self, value: int) -> int:",
              "        return (value + self.base) * self.factor", ""]
    for k in range(FUNCTIONS):
        lines += ["", f"def f{k}(value: int) -> int:", f"    total = value + RATE + {k}  # body-{k}",
                  "    if total > LIMIT:", "        total -= LIMIT"]
        if k and deps:  # leaf f0 calls nothing; the others call an earlier module's leaf
            dep = deps[k % len(deps)]
            lines.append(f"    total += mod_{dep:03d}.f0(value % 7)")
        if k % 3 == 2:
            lines.append(f"    total += Basket{index}(value % 5).scaled(1)")
        lines += ["    return total", ""]
    return "\n".join(lines) + "\n"


def test_source(number: int, modules: int, tests: int, rng: random.Random, expected: Callable[[int, int, int], int]) -> str:
    """A test file of ``tests`` tests: plain ones and two 10-case parametrized ones."""
    used = sorted(rng.sample(range(modules), min(3, modules)))
    lines = [f'"""Tests, part {number}."""', "", "import pytest", ""]
    lines += [f"from {PACKAGE} import mod_{m:03d}" for m in used]
    lines.append("")
    param_functions = 2 if tests >= 30 else 0
    plain = tests - 10 * param_functions
    for t in range(plain):
        m, k, v = rng.choice(used), rng.randrange(FUNCTIONS), rng.randrange(50)
        lines += ["", f"def test_{number}_{t}():", f"    assert mod_{m:03d}.f{k}({v}) == {expected(m, k, v)}", ""]
    for p in range(param_functions):
        m, k = rng.choice(used), rng.randrange(FUNCTIONS)
        cases = ", ".join(f"({v}, {expected(m, k, v)})" for v in range(10))
        lines += ["", f"@pytest.mark.parametrize('value, result', [{cases}])",
                  f"def test_{number}_param_{p}(value, result):",
                  f"    assert mod_{m:03d}.f{k}(value) == result", ""]
    return "\n".join(lines) + "\n"


def generate_project(root: Path, modules: int, total_tests: int, test_files: int, seed: int) -> int:
    """Write the package and the tests; returns the number of tests."""
    rng = random.Random(seed)
    package = root / PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""A generated shop."""\n')
    for index in range(modules):
        (package / f"mod_{index:03d}.py").write_text(module_source(index, rng))
    sys.path.insert(0, str(root))
    try:
        loaded = {m: importlib.import_module(f"{PACKAGE}.mod_{m:03d}") for m in range(modules)}

        def expected(m: int, k: int, v: int) -> int:
            return int(getattr(loaded[m], f"f{k}")(v))

        tests_dir = root / "tests"
        tests_dir.mkdir()
        per_file, extra = divmod(total_tests, test_files)
        count = 0
        for number in range(test_files):
            size = per_file + (1 if number < extra else 0)
            (tests_dir / f"test_part_{number:03d}.py").write_text(test_source(number, modules, size, rng, expected))
            count += size
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]
    (root / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    (root / ".gitignore").write_text(GITIGNORE)
    return count


def change_modules(root: Path, modules: int, count: int) -> Dict[Path, str]:
    """Edit one function body in each of ``count`` evenly spread modules; returns the originals."""
    originals: Dict[Path, str] = {}
    step = max(1, modules // count)
    for index in list(range(0, modules, step))[:count]:
        path = root / PACKAGE / f"mod_{index:03d}.py"
        text = path.read_text()
        originals[path] = text
        path.write_text(text.replace("  # body-3", " + 0  # body-3 (edited)", 1))
    return originals


def restore(originals: Dict[Path, str]) -> None:
    for path, text in originals.items():
        path.write_text(text)


# --------------------------------------------------------------------------------------------
# Running and timing
# --------------------------------------------------------------------------------------------

@dataclass
class Timing:
    wall: float
    cpu: float
    returncode: int
    stdout: str
    stderr: str


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: Sequence[str], cwd: Path, env: Dict[str, str], timeout: float = 1800) -> Timing:
    cpu_before = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(list(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - started
    return Timing(wall, children_cpu() - cpu_before, done.returncode, done.stdout, done.stderr)


def clean_state(root: Path, keep_map: bool = False) -> None:
    for name in (".pytest_cache", ".testmondata", ".testmondata-wal", ".testmondata-shm"):
        target = root / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    if not keep_map:
        shutil.rmtree(root / ".orchestra", ignore_errors=True)


def interleaved(variants: Dict[str, Callable[[], Timing]], repeat: int, label: str,
                check: Optional[Callable[[str, Timing], None]] = None) -> Dict[str, List[Timing]]:
    """Run every variant once per repetition, rotating which goes first."""
    names = list(variants)
    results: Dict[str, List[Timing]] = {name: [] for name in names}
    for rep in range(repeat):
        order = names[rep % len(names):] + names[: rep % len(names)]
        for name in order:
            timing = variants[name]()
            if check:
                check(name, timing)
            results[name].append(timing)
        log(f"{label} {rep + 1}/{repeat}: " + ", ".join(f"{n} {results[n][-1].wall:.2f}s" for n in names))
    return results


def median(timings: Sequence[Timing], attr: str = "wall") -> float:
    return statistics.median(getattr(t, attr) for t in timings)


def expect_exit(allowed: Sequence[int]) -> Callable[[str, Timing], None]:
    def check(name: str, timing: Timing) -> None:
        if timing.returncode not in allowed:
            raise SystemExit(f"{name} exited {timing.returncode}:\n{timing.stdout[-3000:]}\n{timing.stderr[-3000:]}")
    return check


# --------------------------------------------------------------------------------------------
# Interpreters
# --------------------------------------------------------------------------------------------

def probe(python: Path, code: str) -> Optional[str]:
    if not python.exists():
        return None
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


VERSIONS = ("import sys, importlib.metadata as m\n"
            "def v(n):\n    try:\n        return m.version(n)\n    except Exception:\n        return None\n"
            "import json; print(json.dumps({'python': sys.version.split()[0], 'pytest': v('pytest'),"
            " 'pytest-orchestra': v('pytest-orchestra'), 'pytest-testmon': v('pytest-testmon')}))")


def prepare_python(version: str) -> Optional[Dict[str, object]]:
    """The interpreters of one row, creating the benchmark venvs on first use; None when impossible."""
    spec = PYTHONS[version]
    ours, theirs, base = spec["ours"], spec["theirs"], spec["base"]
    if not ours.exists() and version != "3.11":
        if not base.exists():
            log(f"Python {version} not found at {base}: row skipped")
            return None
        venv = ours.parents[1]
        log(f"creating {venv} (pytest-orchestra editable from {HERE}, plus {' '.join(COMPETITORS)})")
        subprocess.run([str(base), "-m", "venv", str(venv)], check=True)
    if version != "3.11":
        info = json.loads(probe(ours, VERSIONS) or "{}")
        if not info.get("pytest-orchestra") or not info.get("pytest-testmon"):
            subprocess.run([str(ours), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            *COMPETITORS, "-e", str(HERE)], check=True)
    elif not theirs.exists() or not json.loads(probe(theirs, VERSIONS) or "{}").get("pytest-testmon"):
        venv = theirs.parents[1]
        log(f"creating {venv} with {' '.join(COMPETITORS)} (benchmark only)")
        if not theirs.exists():
            subprocess.run([str(base if base.exists() else sys.executable), "-m", "venv", str(venv)], check=True)
        subprocess.run([str(theirs), "-m", "pip", "install", "-q", "--disable-pip-version-check", *COMPETITORS],
                       check=True)
    info_ours = json.loads(probe(ours, VERSIONS) or "{}")
    info_theirs = json.loads(probe(theirs, VERSIONS) or "{}")
    if not info_ours.get("pytest-orchestra"):
        log(f"pytest-orchestra is not importable by {ours}: row {version} skipped")
        return None
    return {"ours": ours, "theirs": theirs, "versions": {"ours": info_ours, "theirs": info_theirs}}


def has_selection(python: Path, root: Path, env: Dict[str, str]) -> bool:
    done = subprocess.run([str(python), "-m", "pytest", "--help"], cwd=root, env=env, capture_output=True, text=True)
    return "--orchestra-changed" in done.stdout and "--orchestra-record-map" in done.stdout


# --------------------------------------------------------------------------------------------
# The figures
# --------------------------------------------------------------------------------------------

def measure_python(version: str, interpreters: Dict[str, object], root: Path, repeat: int,
                   changed_files: int, modules: int, detail: bool = False) -> Dict[str, object]:
    ours, theirs = Path(str(interpreters["ours"])), Path(str(interpreters["theirs"]))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_", "COVERAGE_"))}
    env.update(GIT_ENV)
    env["PYTHONDONTWRITEBYTECODE"] = "0"
    row: Dict[str, object] = {"python": version, "versions": interpreters["versions"]}
    if not has_selection(ours, root, env):
        log(f"{version}: pytest-orchestra has no --orchestra-changed/--orchestra-record-map yet: row skipped")
        row["skipped"] = "selection not available"
        return row

    def pytest(python: Path, *args: str) -> List[str]:
        return [str(python), "-m", "pytest", "-q", *args]

    def fresh(command: List[str], keep_map: bool = False) -> Callable[[], Timing]:
        def go() -> Timing:
            clean_state(root, keep_map)
            return timed(command, root, env)
        return go

    # warm-up: byte-compile both interpreters' caches for the project and the plugins
    for python in {ours, theirs}:
        clean_state(root)
        timed(pytest(python, "-p", "no:orchestra", "--collect-only"), root, env)

    # (a) full runs
    variants: Dict[str, Callable[[], Timing]] = {
        "plain": fresh(pytest(ours, "-p", "no:orchestra")),
        "record-map": fresh(pytest(ours, "--orchestra-record-map")),
        "testmon-record": fresh(pytest(theirs, "-p", "no:orchestra", "--testmon")),
    }
    if theirs != ours:
        variants["plain (testmon's venv)"] = fresh(pytest(theirs, "-p", "no:orchestra"))
    if detail:
        variants["orchestra, no flag"] = fresh(pytest(ours))
        variants["record-map, records off"] = fresh(pytest(ours, "--orchestra-record-map", "-o",
                                                           "orchestra_records=false"))
    runs = interleaved(variants, repeat, f"{version} (a) full runs", expect_exit((0,)))
    plain_theirs = runs.get("plain (testmon's venv)", runs["plain"])
    row["full_run"] = {
        name: {"wall_median": round(median(t), 3), "cpu_median": round(median(t, "cpu"), 3),
               "walls": [round(x.wall, 3) for x in t]}
        for name, t in runs.items()
    }
    row["record_ratio"] = {"wall": round(median(runs["record-map"]) / median(runs["plain"]), 3),
                           "cpu": round(median(runs["record-map"], "cpu") / median(runs["plain"], "cpu"), 3)}
    row["testmon_ratio"] = {"wall": round(median(runs["testmon-record"]) / median(plain_theirs), 3),
                            "cpu": round(median(runs["testmon-record"], "cpu") / median(plain_theirs, "cpu"), 3)}

    # the full map, recorded once on the clean commit
    clean_state(root)
    recorded = timed(pytest(ours, "--orchestra-record-map"), root, env)
    expect_exit((0,))("record-map", recorded)
    map_db = root / ".orchestra" / "map.db"
    row["map_bytes"] = map_db.stat().st_size if map_db.exists() else None
    status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True).stdout
    if status.strip():
        raise SystemExit(f"the tree is not clean after recording:\n{status}")

    def keep(command: List[str]) -> Callable[[], Timing]:
        def go() -> Timing:
            shutil.rmtree(root / ".pytest_cache", ignore_errors=True)
            return timed(command, root, env)
        return go

    # (b) no change
    runs = interleaved({
        "changed, no change": keep(pytest(ours, "--orchestra-changed")),
        "plain collect-only": keep(pytest(ours, "-p", "no:orchestra", "--collect-only")),
    }, repeat, f"{version} (b) no change", expect_exit((0,)))
    sample = runs["changed, no change"][-1]
    row["no_change"] = {
        "changed_wall_median": round(median(runs["changed, no change"]), 3),
        "changed_cpu_median": round(median(runs["changed, no change"], "cpu"), 3),
        "plain_collect_wall_median": round(median(runs["plain collect-only"]), 3),
        "output": [line for line in sample.stdout.splitlines() if "orchestra" in line.lower()][-3:],
    }

    # (c) 20 changed files
    state: Dict[str, Dict[Path, str]] = {}

    def changed(command: List[str]) -> Callable[[], Timing]:
        def go() -> Timing:
            shutil.rmtree(root / ".pytest_cache", ignore_errors=True)
            state["originals"] = change_modules(root, modules, changed_files)
            try:
                return timed(command, root, env)
            finally:
                restore(state["originals"])
        return go

    runs = interleaved({
        "changed collect-only": changed(pytest(ours, "--orchestra-changed", "--collect-only")),
        "plain collect-only": changed(pytest(ours, "-p", "no:orchestra", "--collect-only")),
    }, repeat, f"{version} (c) {changed_files} changed files", expect_exit((0,)))
    selections = []
    for timing in runs["changed collect-only"]:
        found = SELECTION_LINE.search(timing.stdout + timing.stderr)
        if found:
            selections.append((int(found.group(1)), int(found.group(2)), float(found.group(3))))
    listed = sum(1 for line in runs["changed collect-only"][-1].stdout.splitlines() if "::" in line)
    ratio = median(runs["changed collect-only"]) / median(runs["plain collect-only"])
    row["changed_files"] = {
        "files": changed_files,
        "changed_collect_wall_median": round(median(runs["changed collect-only"]), 3),
        "plain_collect_wall_median": round(median(runs["plain collect-only"]), 3),
        "collect_ratio": {"wall": round(ratio, 3),
                          "cpu": round(median(runs["changed collect-only"], "cpu")
                                       / median(runs["plain collect-only"], "cpu"), 3)},
        "selected": selections[-1][0] if selections else listed,
        "of": selections[-1][1] if selections else None,
        "selection_seconds_median": round(statistics.median(s[2] for s in selections), 3) if selections else None,
        "selection_seconds_source": "orchestra's selection line" if selections else "not printed",
        "difference_seconds": round(median(runs["changed collect-only"]) - median(runs["plain collect-only"]), 3),
    }
    return row


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def verdict(value: Optional[float], target: float) -> str:
    if value is None:
        return "n/a"
    return "met" if value <= target else "**not met**"


def render(report: Dict[str, object]) -> str:
    out = [f"command: {report['command']}",
           f"{report['tests']} tests in {report['test_files']} files, {report['modules']} modules;"
           f" {report['repeat']} interleaved repetitions, medians; load average {report['load_average']['start']}"  # type: ignore[index]
           f" -> {report['load_average']['end']}; {report['elapsed_seconds']}s in all"]  # type: ignore[index]
    for row in report["rows"]:  # type: ignore[union-attr]
        versions = row["versions"]
        def describe(info: Dict[str, Optional[str]]) -> str:
            return ", ".join(f"{k} {v}" for k, v in info.items() if v)
        out.append(f"\nPython {row['python']}: orchestra's interpreter: {describe(versions.get('ours', {}))};"
                   f" testmon's: {describe(versions.get('theirs', {}))}")
        if row.get("skipped"):
            out.append(f"  skipped: {row['skipped']}")
            continue
        out.append("| figure | value | beside | ratio (wall / CPU) | target |")
        out.append("|---|---|---|---|---|")
        full = row["full_run"]
        plain = full["plain"]["wall_median"]
        out.append(f"| `--orchestra-record-map` full run | {full['record-map']['wall_median']:.2f} s |"
                   f" plain {plain:.2f} s | {row['record_ratio']['wall']:.3f} / {row['record_ratio']['cpu']:.3f} |"
                   f" ≤ {TARGETS['record_ratio']}: {verdict(row['record_ratio']['wall'], TARGETS['record_ratio'])} |")
        theirs_plain = full.get("plain (testmon's venv)", full["plain"])["wall_median"]
        out.append(f"| pytest-testmon recording run (`--testmon`, empty db) | {full['testmon-record']['wall_median']:.2f} s |"
                   f" plain {theirs_plain:.2f} s | {row['testmon_ratio']['wall']:.3f} / {row['testmon_ratio']['cpu']:.3f} |"
                   f" (about 2x) |")
        for extra in ("orchestra, no flag", "record-map, records off"):
            if extra in full:
                value = full[extra]["wall_median"]
                out.append(f"| {extra} (`--detail`) | {value:.2f} s | plain {plain:.2f} s |"
                           f" {value / plain:.3f} / {full[extra]['cpu_median'] / full['plain']['cpu_median']:.3f} | |")
        nc = row["no_change"]
        out.append(f"| `--orchestra-changed`, full map, no change | {nc['changed_wall_median']:.2f} s |"
                   f" plain `--collect-only` {nc['plain_collect_wall_median']:.2f} s | |"
                   f" < {TARGETS['no_change_seconds']} s: {verdict(nc['changed_wall_median'] - 1e-9, TARGETS['no_change_seconds'])} |")
        ch = row["changed_files"]
        out.append(f"| `--orchestra-changed --collect-only`, {ch['files']} files changed |"
                   f" {ch['changed_collect_wall_median']:.2f} s ({ch['selected']} of {ch['of'] or '?'} selected) |"
                   f" plain `--collect-only` {ch['plain_collect_wall_median']:.2f} s |"
                   f" {ch['collect_ratio']['wall']:.3f} / {ch['collect_ratio']['cpu']:.3f} |"
                   f" ≤ {TARGETS['collect_ratio']}: {verdict(ch['collect_ratio']['wall'], TARGETS['collect_ratio'])} |")
        sel = ch["selection_seconds_median"]
        out.append(f"| selection itself ({ch['selection_seconds_source']}) |"
                   f" {f'{sel:.3f} s' if sel is not None else 'n/a'} |"
                   f" difference of the two collections {ch['difference_seconds']:.2f} s | |"
                   f" < {TARGETS['selection_seconds']} s: {verdict(sel, TARGETS['selection_seconds'])} |")
        if nc["output"]:
            out.append("  no-change run said: " + " / ".join(nc["output"]))
        if row.get("map_bytes"):
            out.append(f"  map.db: {row['map_bytes'] / 1e6:.1f} MB")
    return "\n".join(out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--tests", type=int, default=10_000, help="tests in the generated project (default 10,000)")
    parser.add_argument("--modules", type=int, default=150, help="modules in its package (default 150)")
    parser.add_argument("--test-files", type=int, default=200, help="test files (default 200)")
    parser.add_argument("--changed", type=int, default=20, help="modules edited for figure (c) (default 20)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="interleaved repetitions, medians (default 5; 2 with --quick)")
    parser.add_argument("--python", choices=["3.11", "3.12", "all"], default="all",
                        help="which interpreter rows (default all that are available)")
    parser.add_argument("--detail", action="store_true",
                        help="also time the plugin with no flag and --orchestra-record-map with records off,"
                             " to see where the recording run's time goes")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--quick", action="store_true", help="1,000 tests, 40 modules, 2 repetitions")
    parser.add_argument("--keep", action="store_true", help="keep the generated project")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    args = parser.parse_args(argv)
    if args.quick:
        args.tests, args.modules, args.test_files = 1_000, 40, 20
        args.changed = min(args.changed, 10)
    if args.repeat is None:
        args.repeat = 2 if args.quick else 5
    started = time.time()
    load_start = load_average()
    versions = ["3.11", "3.12"] if args.python == "all" else [args.python]
    work = Path(tempfile.mkdtemp(prefix="orchestra-selection-speed-"))
    rows: List[Dict[str, object]] = []
    try:
        root = work / "shop"
        count = generate_project(root, args.modules, args.tests, args.test_files, args.seed)
        env = {**os.environ, **GIT_ENV}
        for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "shop"]):
            subprocess.run(command, cwd=root, env=env, check=True, capture_output=True)
        log(f"generated {count} tests in {args.test_files} files over {args.modules} modules in {root}")
        for version in versions:
            interpreters = prepare_python(version)
            if interpreters is None:
                rows.append({"python": version, "versions": {}, "skipped": "interpreter not available"})
                continue
            rows.append(measure_python(version, interpreters, root, args.repeat, args.changed, args.modules,
                                       args.detail))
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "tests": count,
              "test_files": args.test_files, "modules": args.modules, "repeat": args.repeat, "seed": args.seed,
              "targets": TARGETS, "load_average": {"start": load_start, "end": load_average()},
              "elapsed_seconds": round(time.time() - started, 1), "rows": rows}
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
