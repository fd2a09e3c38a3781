"""What recording the selection map costs on real test suites, beside pytest-testmon.

For each real library of ``selection_mutants.py`` asked for (humanize and packaging by
default; sdists fetched from PyPI and cached in ``~/.cache/pytest-orchestra/bench-projects``),
and each interpreter (3.11: coverage.py's C tracer; 3.12: ``sys.monitoring``), the script
times whole pytest runs of the library's own suite, interleaved (the order rotates every
repetition), and prints the medians and the CPU ratio (user + system of the child):

- plain: ``-p no:orchestra``;
- ``--orchestra-record-map`` on an empty map (with ``orchestra_records=false``: the
  recording alone, not the run records every run writes);
- pytest-testmon's recording run (``--testmon`` on an empty database) and its own plain run,
  from its venv (the same pytest).

The interpreters and venvs are those of ``selection_speed.py`` (created on first use).

Usage::

    .venv/bin/python benchmarks/selection_recording.py                       # humanize and packaging, 3.11 and 3.12
    .venv/bin/python benchmarks/selection_recording.py --project humanize --python 3.12 --repeat 7
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Callable, Dict, List, Optional, Sequence

HERE = Path(__file__).resolve().parent


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


mutants = _load("selection_mutants")
speed = _load("selection_speed")


def log(message: str) -> None:
    print(f"[selection_recording] {message}", file=sys.stderr, flush=True)


def prepare_project(name: str, work: Path) -> Dict[str, object]:
    project = mutants.PROJECTS[name]
    root = mutants.unpack(mutants.fetch_sdist(project.requirement), work / name)
    deps = mutants.ensure_deps(project, name)
    paths = [str(root / p) for p in project.pythonpath] + ([str(deps)] if deps else [])
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_", "COVERAGE_"))}
    env = {**base, **mutants.GIT_ENV, "PYTHONPATH": os.pathsep.join(paths), "PYTHONDONTWRITEBYTECODE": "0"}
    mutants.git_init(root, env)
    return {"root": root, "env": env, "args": list(project.test_args), "requirement": project.requirement}


def measure(name: str, project: Dict[str, object], version: str, interpreters: Dict[str, object],
            repeat: int) -> Dict[str, object]:
    ours, theirs = Path(str(interpreters["ours"])), Path(str(interpreters["theirs"]))
    root, env, args = Path(str(project["root"])), dict(project["env"]), list(project["args"])  # type: ignore[arg-type]

    def pytest(python: Path, *extra: str) -> List[str]:
        return [str(python), "-m", "pytest", "-q", *extra, *args]  # testmon needs the cache plugin (--lf)

    def fresh(command: List[str]) -> Callable[[], object]:
        def go() -> object:
            speed.clean_state(root)
            return speed.timed(command, root, env)
        return go

    for python in {ours, theirs}:  # warm the bytecode caches
        speed.clean_state(root)
        speed.timed(pytest(python, "-p", "no:orchestra", "--collect-only"), root, env)
    variants = {
        "plain": fresh(pytest(ours, "-p", "no:orchestra")),
        "record-map": fresh(pytest(ours, "--orchestra-record-map", "-o", "orchestra_records=false")),
        "testmon-record": fresh(pytest(theirs, "-p", "no:orchestra", "--testmon")),
    }
    if theirs != ours:
        variants["plain (testmon's venv)"] = fresh(pytest(theirs, "-p", "no:orchestra"))
    runs = speed.interleaved(variants, repeat, f"{name} {version}", speed.expect_exit((0, 1)))
    plain_theirs = runs.get("plain (testmon's venv)", runs["plain"])

    def ratio(a: Sequence[object], b: Sequence[object]) -> Dict[str, float]:
        return {"wall": round(speed.median(a) / speed.median(b), 3),
                "cpu": round(speed.median(a, "cpu") / speed.median(b, "cpu"), 3)}

    return {
        "project": name, "requirement": project["requirement"], "python": version,
        "medians": {k: {"wall": round(speed.median(v), 2), "cpu": round(speed.median(v, "cpu"), 2)}
                    for k, v in runs.items()},
        "orchestra": ratio(runs["record-map"], runs["plain"]),
        "testmon": ratio(runs["testmon-record"], plain_theirs),
    }


def render(report: Dict[str, object]) -> str:
    out = [f"command: {report['command']}", f"{report['repeat']} interleaved repetitions, medians; load average "
           f"{report['load_average']['start']} -> {report['load_average']['end']}",  # type: ignore[index]
           "", "| suite | Python | plain (wall / CPU) | orchestra record-map, ratio wall / CPU | "
           "pytest-testmon --testmon, ratio wall / CPU | target |", "|---|---|---|---|---|---|"]
    for row in report["rows"]:  # type: ignore[union-attr]
        plain = row["medians"]["plain"]
        out.append(f"| {row['requirement']} | {row['python']} | {plain['wall']:.2f} s / {plain['cpu']:.2f} s |"
                   f" {row['orchestra']['wall']:.3f} / {row['orchestra']['cpu']:.3f} |"
                   f" {row['testmon']['wall']:.3f} / {row['testmon']['cpu']:.3f} |"
                   f" ≤ 1.5: {speed.verdict(row['orchestra']['cpu'], 1.5)} (CPU) |")
    return "\n".join(out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--project", nargs="*", choices=sorted(mutants.PROJECTS), default=["humanize", "packaging"])
    parser.add_argument("--python", choices=["3.11", "3.12", "all"], default="all")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    started = time.time()
    load_start = speed.load_average()
    versions = ["3.11", "3.12"] if args.python == "all" else [args.python]
    work = Path(tempfile.mkdtemp(prefix="orchestra-selection-recording-"))
    rows: List[Dict[str, object]] = []
    try:
        for name in args.project:
            project = prepare_project(name, work)
            for version in versions:
                interpreters = speed.prepare_python(version)
                if interpreters is None:
                    continue
                rows.append(measure(name, project, version, interpreters, args.repeat))
                log(json.dumps(rows[-1]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "repeat": args.repeat,
              "load_average": {"start": load_start, "end": speed.load_average()},
              "elapsed_seconds": round(time.time() - started, 1), "rows": rows}
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
