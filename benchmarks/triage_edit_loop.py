"""The edit loop: seeded product bugs run one after another at one commit, beside really flaky tests.

A developer breaks a function, runs the suite, restores it, runs again, breaks
something else... all at one commit, on a dirty tree. Triage must never call
those deterministic failures ``flaky`` nor auto-quarantine them, and it must
still find the tests that really are flaky.

The script downloads the sdist of a real library with its own test suite
(toolz by default, cached in ``~/.cache/pytest-orchestra/bench-projects``),
makes it a git repository (one commit) with five added tests that fail at
random (``random.random() < 0.4`` from the OS's entropy: really flaky), picks
N seeded one-line product mutants that the suite kills, and then, for each
mode, runs with pytest-orchestra (``quarantine: {auto: true}``):

    clean, clean, then for each mutant: mutant applied (uncommitted), then restored

Modes: ``history`` (no retries, no map: flakiness from history alone), and
``retries+map`` (``retries: {max: 1, categories: all}`` and a map recorded on
the clean tree, so the changed-code check is on). ``--before PATH`` adds the
same loop with another checkout's plugin on ``PYTHONPATH`` (for example a
worktree of the commit before this change) to see the difference side by side.

Figures, per mode: deterministic failures (a test of the suite failing in a
mutant run), how many were labelled ``flaky``, how many tests were auto-
quarantined that are not flaky, and which of the five flaky tests were found
(labelled flaky in some run, or quarantined).

    .venv/bin/python benchmarks/triage_edit_loop.py              # 20 mutants of toolz
    .venv/bin/python benchmarks/triage_edit_loop.py --mutants 5 --modes history
    .venv/bin/python benchmarks/triage_edit_loop.py --before /tmp/orchestra-before --json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

CACHE = Path.home() / ".cache" / "pytest-orchestra" / "bench-projects"
FLAKY_FILE = "test_orchestra_flaky.py"
FLAKY_COUNT = 5
FLAKY_TESTS = "".join(
    f"\n\ndef test_really_flaky_{n}():\n    # Fails about 40% of runs, from the OS's entropy: not a function of the code.\n"
    f"    assert random.SystemRandom().random() >= 0.4\n"
    for n in range(FLAKY_COUNT)
)
WORKFLOWS = {
    "history": "quarantine: {auto: true, min_runs: 4, flip_rate: 0.3}\n",
    "retries+map": "quarantine: {auto: true, min_runs: 4, flip_rate: 0.3}\nretries: {max: 1, categories: all}\n",
}
#: One-line mutations: (pattern, replacement), tried on product lines.
MUTATIONS: Tuple[Tuple[str, str], ...] = (
    (r" == ", " != "), (r" != ", " == "), (r" < ", " <= "), (r" > ", " >= "), (r" \+ 1\b", " + 2"),
    (r" - 1\b", " - 2"), (r"\breturn True\b", "return False"), (r"\breturn False\b", "return True"),
    (r"\bif not ", "if "), (r" and ", " or "), (r" or ", " and "), (r"\bbreak\b", "continue"),
)
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}


def log(message: str) -> None:
    print(f"[edit-loop] {message}", file=sys.stderr, flush=True)


def fetch_sdist(requirement: str) -> Path:
    name, version = requirement.split("==")
    CACHE.mkdir(parents=True, exist_ok=True)
    for candidate in CACHE.glob("*.tar.gz"):
        if candidate.name.lower().replace("_", "-") == f"{name}-{version}.tar.gz".lower():
            return candidate
    log(f"downloading the sdist of {requirement}")
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                    "--no-binary", ":all:", "-d", str(CACHE), requirement], check=True)
    return fetch_sdist(requirement)


def prepare(sdist: Path, into: Path, package: str) -> Path:
    with tarfile.open(sdist) as archive:
        archive.extractall(into, filter="data")
    (root,) = [p for p in into.iterdir() if p.is_dir()]
    tests = next(p for p in (root / package / "tests", root / "tests") if p.is_dir())
    (tests / FLAKY_FILE).write_text("import random" + FLAKY_TESTS)
    (root / ".gitignore").write_text(".orchestra/\n__pycache__/\n*.egg-info/\n.pytest_cache/\n")
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    env = {**os.environ, **GIT_ENV}
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "sdist"]):
        subprocess.run(command, cwd=root, env=env, check=True, capture_output=True)
    return root


def candidates(root: Path, package: str) -> List[Tuple[str, int, str, str]]:
    """(file, line number, old line, new line) for every mutation of a product line."""
    found = []
    for path in sorted((root / package).rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if "/tests/" in f"/{relative}" or path.name.startswith("test_"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith(("#", '"', "'", "def ", "class ", "@", "import ", "from ")):
                continue
            for pattern, replacement in MUTATIONS:
                if re.search(pattern, line):
                    found.append((relative, number, line, re.sub(pattern, replacement, line, count=1)))
                    break
    return found


def apply(root: Path, mutant: Tuple[str, int, str, str], *, revert: bool = False) -> None:
    relative, number, old, new = mutant
    path = root / relative
    lines = path.read_text().splitlines(keepends=True)
    ending = "\n" if lines[number - 1].endswith("\n") else ""
    lines[number - 1] = (old if revert else new) + ending
    path.write_text("".join(lines))


def pytest_command(extra: Sequence[str] = ()) -> List[str]:
    return [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:randomly", *extra]


def killed_mutants(root: Path, package: str, count: int, seed: int) -> List[Tuple[str, int, str, str]]:
    """``count`` seeded mutants that make at least one of the suite's own tests fail (not only flaky ones)."""
    pool = candidates(root, package)
    random.Random(seed).shuffle(pool)
    chosen = []
    for mutant in pool:
        if len(chosen) == count:
            break
        apply(root, mutant)
        try:
            done = subprocess.run(pytest_command(["-p", "no:orchestra", "--ignore", f"{package}/tests/{FLAKY_FILE}"]),
                                  cwd=root, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            done = None
        finally:
            apply(root, mutant, revert=True)
        if done is not None and done.returncode == 1:
            chosen.append(mutant)
    return chosen


def run_loop(root: Path, mutants: Sequence[Tuple[str, int, str, str]], mode: str,
             plugin_path: Optional[str]) -> Dict[str, object]:
    env = {**os.environ}
    if plugin_path:
        env["PYTHONPATH"] = plugin_path + os.pathsep + env.get("PYTHONPATH", "")
    shutil.rmtree(root / ".orchestra", ignore_errors=True)
    (root / "orchestra.yaml").write_text(WORKFLOWS[mode])
    subprocess.run(["git", "add", "orchestra.yaml"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", f"workflow {mode}"], cwd=root,
                   env={**env, **GIT_ENV}, check=True)
    if mode == "retries+map":
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "--orchestra-record-map"],
                       cwd=root, env=env, capture_output=True, text=True)
    flaky_ids = {f"test_really_flaky_{n}" for n in range(FLAKY_COUNT)}
    deterministic = labelled_flaky = 0
    found_flaky: Set[str] = set()
    mislabelled: List[str] = []
    runs = 0
    started = time.monotonic()
    steps: List[Optional[Tuple[str, int, str, str]]] = [None, None]
    for mutant in mutants:
        steps += [mutant, None]
    for step in steps:
        if step is not None:
            apply(root, step)
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"], cwd=root, env=env,
                       capture_output=True, text=True, timeout=900)
        runs += 1
        triage_file = root / ".orchestra" / "reports" / "latest" / "triage.json"
        entries = json.loads(triage_file.read_text()) if triage_file.exists() else []
        for entry in entries:
            name = entry["nodeid"].rsplit("::", 1)[-1]
            if name in flaky_ids:
                if entry["category"] == "flaky":
                    found_flaky.add(name)
                continue
            if step is not None:
                deterministic += 1
                if entry["category"] == "flaky":
                    labelled_flaky += 1
                    mislabelled.append(f"{entry['nodeid']} ({step[0]}:{step[1]})")
        if step is not None:
            apply(root, step, revert=True)
    quarantine_file = root / ".orchestra" / "quarantine.yaml"
    quarantined = re.findall(r"nodeid: (\S+)", quarantine_file.read_text()) if quarantine_file.exists() else []
    wrongly_quarantined = [q for q in quarantined if q.rsplit("::", 1)[-1] not in flaky_ids]
    found_flaky |= {q.rsplit("::", 1)[-1] for q in quarantined if q.rsplit("::", 1)[-1] in flaky_ids}
    return {
        "mode": mode,
        "plugin": plugin_path or "this checkout",
        "runs": runs,
        "seconds": round(time.monotonic() - started, 1),
        "deterministic_failures": deterministic,
        "deterministic_labelled_flaky": labelled_flaky,
        "mislabelled": mislabelled[:10],
        "wrongly_quarantined": wrongly_quarantined,
        "flaky_found": sorted(found_flaky),
        "flaky_quarantined": sorted(q.rsplit("::", 1)[-1] for q in quarantined if q not in wrongly_quarantined),
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", default="toolz==1.0.0", help="an sdist that ships its tests (name==version)")
    parser.add_argument("--package", default="toolz", help="the project's import package")
    parser.add_argument("--mutants", type=int, default=20)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--modes", nargs="+", default=list(WORKFLOWS), choices=list(WORKFLOWS))
    parser.add_argument("--before", default=None, help="another checkout whose pytest_orchestra to compare with")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sdist = fetch_sdist(args.project)
    results = []
    with tempfile.TemporaryDirectory(prefix="orchestra-edit-loop-") as work:
        root = prepare(sdist, Path(work), args.package)
        log(f"choosing {args.mutants} killed mutants of {args.project} (seed {args.seed})")
        mutants = killed_mutants(root, args.package, args.mutants, args.seed)
        log(f"{len(mutants)} mutants: " + ", ".join(f"{m[0]}:{m[1]}" for m in mutants))
        plugins = [None] + ([args.before] if args.before else [])
        for plugin in plugins:
            for mode in args.modes:
                log(f"mode {mode}, plugin {plugin or 'this checkout'}: {2 + 2 * len(mutants)} runs")
                results.append(run_loop(root, mutants, mode, plugin))
    if args.json:
        print(json.dumps({"project": args.project, "mutants": len(mutants), "results": results}, indent=2))
    else:
        print(f"{args.project}: {len(mutants)} seeded product mutants, each run then restored, at one commit;"
              f" {FLAKY_COUNT} really flaky tests")
        print(f"{'plugin':<16} {'mode':<12} {'runs':>5} {'det. failures':>14} {'labelled flaky':>15}"
              f" {'wrongly quarantined':>20} {'flaky found':>12}")
        for row in results:
            print(f"{str(row['plugin'])[-16:]:<16} {row['mode']:<12} {row['runs']:>5} {row['deterministic_failures']:>14}"
                  f" {row['deterministic_labelled_flaky']:>15} {len(row['wrongly_quarantined']):>20}"  # type: ignore[arg-type]
                  f" {len(row['flaky_found'])}/{FLAKY_COUNT:>3}")  # type: ignore[arg-type]
    ok = all(row["deterministic_labelled_flaky"] == 0 and not row["wrongly_quarantined"]
             and len(row["flaky_found"]) == FLAKY_COUNT for row in results if row["plugin"] == "this checkout")  # type: ignore[arg-type]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
