"""What each of the idle-overhead measures buys, counted side by side in one run.

Three measures keep a suite that does not use pytest-orchestra from paying for
it (ARCHITECTURE.md, "Speed"):

- ``plainclass``: records defined with :func:`pytest_orchestra.core.plainclass.plainclass`
  instead of ``@dataclass`` (no generated source compiled at import);
- the submodule finder (``OwnSubmoduleFinder`` in ``pytest_orchestra/__init__.py``):
  the plugin's modules load through Python's own path finder, not pytest's
  assertion-rewriting importer;
- lazy capabilities: the capability table names modules as strings, and a
  capability that is off is never imported.

Each variant turns one measure off (in a prelude, before pytest starts) and
runs the same generated idle suite as ``overhead.py``; callgrind counts the
instructions of every variant and of ``-p no:orchestra``, all in one run. The
figure printed for a measure is what the plugin's overhead would be without it,
beside the overhead with everything on.

    .venv/bin/python benchmarks/speed_measures.py [--tests 1000] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import CALLGRIND_TOTAL, RUN_ENV, callgrind_command, generate_suite, timed_run  # noqa: E402

RUN = "import sys, pytest; sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider'] + sys.argv[1:]))"

PRELUDES = {
    "baseline (-p no:orchestra)": "",
    "plugin, every measure on": "",
    "without plainclass (@dataclass)": (
        "import dataclasses, pytest_orchestra.core.plainclass as _p\n"
        "def _plain(cls=None, *, frozen=False):\n"
        "    return dataclasses.dataclass(frozen=frozen) if cls is None else dataclasses.dataclass(cls, frozen=frozen)\n"
        "_p.plainclass = _plain\n"
    ),
    "without the submodule finder": (
        "import sys, pytest_orchestra\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if getattr(f, '__name__', '') != 'OwnSubmoduleFinder']\n"
    ),
    "without lazy capabilities (all imported)": (
        "import importlib\n"
        "from pytest_orchestra.capabilities import CAPABILITIES\n"
        "for _c in CAPABILITIES:\n"
        "    for _t in filter(None, (_c.register, _c.options, _c.settings, *(t for _, t in _c.sections))):\n"
        "        importlib.import_module(_t.partition(':')[0])\n"
    ),
}


def command(name: str, prelude: str) -> List[str]:
    extra = ["-p", "no:orchestra"] if name.startswith("baseline") else []
    return [sys.executable, "-c", prelude + RUN, *extra]


def measure(tests: int, log: bool) -> Dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="orchestra-measures-") as temp:
        root = Path(temp)
        count = generate_suite(root, tests)
        commands = {name: command(name, prelude) for name, prelude in PRELUDES.items()}
        for name, cmd in commands.items():  # warm-up: bytecode cached, as a user's second run finds it
            seconds = timed_run(cmd, root)[0]
            if log:
                print(f"warm-up {name}: {seconds:.2f}s", file=sys.stderr)
        started = time.perf_counter()
        counts: Dict[str, int] = {}
        # Two at a time: the machine has two cores, and callgrind's counts do not depend on load.
        names = list(commands)
        for start in range(0, len(names), 2):
            running = {
                name: subprocess.Popen(
                    callgrind_command(commands[name], root / f"callgrind.{index}.out"),
                    cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=RUN_ENV,
                )
                for index, name in enumerate(names[start:start + 2], start)
            }
            for name, process in running.items():
                _, err = process.communicate()
                found = CALLGRIND_TOTAL.search(err)
                if found is None:
                    raise SystemExit(f"speed_measures: no callgrind total for {name}:\n{err[-2000:]}")
                counts[name] = int(found.group(1))
        if log:
            print(f"callgrind runs took {time.perf_counter() - started:.0f}s", file=sys.stderr)
    baseline = counts[names[0]]
    return {
        "tests": count,
        "instructions": counts,
        "ratio_to_baseline": {name: round(value / baseline, 4) for name, value in counts.items()},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=1000, help="size of the generated idle suite (default 1,000)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.tests, log=not args.json)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"idle suite of {result['tests']} tests, instructions counted by callgrind, ratio to -p no:orchestra:")
    for name, ratio in result["ratio_to_baseline"].items():  # type: ignore[attr-defined]
        print(f"  {ratio:7.4f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
