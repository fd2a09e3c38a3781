"""Run the shop demo under pytest-orchestra and summarise what the runs produced.

Usage: ``python examples/demo.py [--project DIR] [--steps LIST] [pytest args...]``

Four steps, each a pytest run in the project (its output streams through):

1. ``nightly``: the whole suite under the nightly plan, a foreign TAP suite
   included; then the run's ``summary.json`` is read and the outcome counts,
   failures by category, the gate verdict, the failing matrix cells and where
   ``report.md`` is are printed.
2. ``rerun``: ``--orchestra-rerun`` runs the failures of step 1 again.
3. ``coverage``: the billing-release plan, whose required role × edition cells
   are not all covered: the gap fails the gate.
4. ``selection``: on a git copy of the project, record the coverage map, change
   one line of billing code and run only the tests it can affect, saying why.

The exit status separates "the suite found problems" from "the tooling broke":
it is 0 when pytest exited 0 (all passed), 1 (tests failed) or 6 (gate failed)
and a fresh, readable report exists; anything else is a broken orchestration
and exits non-zero with a ``demo:`` line saying what broke.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

DEFAULT_PROJECT = Path(__file__).resolve().parent / "shop"

#: pytest exit statuses the demo treats as "the orchestration worked".
EXPECTED_EXIT_CODES = {0: "all tests passed", 1: "tests failed", 6: "quality gate failed"}

EXIT_CODE_NAMES = {
    2: "interrupted",
    3: "internal error",
    4: "usage error",
    5: "no tests collected",
}

#: Exit status of the demo itself when the orchestration broke.
DEMO_BROKEN = 2

STEPS = ("nightly", "rerun", "coverage", "selection")

#: The one-line bug the selection step makes: reduced-rate goods taxed at the standard rate.
SELECTION_EDIT = ("shop/billing/tax.py", '"reduced" if product_class', '"standard" if product_class')


class DemoError(Exception):
    """The orchestration broke: no usable report came out of the run."""


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, List[str]]:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Arguments the demo does not know are passed on to pytest.",
    )
    parser.add_argument(
        "--project",
        type=Path,
        default=DEFAULT_PROJECT,
        help=f"the project to run (default: {DEFAULT_PROJECT})",
    )
    parser.add_argument(
        "--steps",
        default=",".join(STEPS),
        help=f"comma-separated steps to run (default: {','.join(STEPS)})",
    )
    return parser.parse_known_args(argv)


def latest_run_dir(project: Path) -> Optional[Path]:
    latest = project / ".orchestra" / "reports" / "latest"
    return latest.resolve() if latest.exists() else None


def run_pytest(project: Path, pytest_args: Sequence[str]) -> int:
    command = [sys.executable, "-m", "pytest", "-q", *pytest_args]
    print(f"demo: running {' '.join(command[1:])} in {project}", flush=True)
    # Inherit stdout/stderr so pytest's output streams live, in order with ours.
    return subprocess.run(command, cwd=project, check=False).returncode


def load_summary(project: Path, previous_run_dir: Optional[Path]) -> tuple[Path, Dict[str, Any]]:
    run_dir = latest_run_dir(project)
    expected_at = project / ".orchestra" / "reports" / "latest"
    if run_dir is None:
        raise DemoError(f"no report was written at {expected_at}")
    if previous_run_dir is not None and run_dir == previous_run_dir:
        # A stale report from an earlier run would make a broken run look fine.
        raise DemoError(f"no report was written at {expected_at} (it still points to the previous run)")
    summary_path = run_dir / "summary.json"
    report_path = run_dir / "report.md"
    for required in (summary_path, report_path):
        if not required.is_file():
            raise DemoError(f"no report was written at {required}")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DemoError(f"the report at {summary_path} does not parse: {exc}") from exc
    if not isinstance(summary, dict) or "counts" not in summary:
        raise DemoError(f"the report at {summary_path} has no outcome counts")
    return report_path, summary


def format_counts(counts: Dict[str, int]) -> str:
    order = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
    shown = [f"{counts.get(name, 0)} {name}" for name in order if counts.get(name)]
    return ", ".join(shown) + f" (total {counts.get('total', sum(counts.get(n, 0) for n in order))})"


def print_summary(summary: Dict[str, Any], report_path: Path, pytest_exit: int) -> None:
    print()
    print("=" * 24 + " demo summary " + "=" * 24)
    run = summary.get("run") or {}
    print(f"run:       {run.get('run_id', '?')} (pytest exited {pytest_exit}: {EXPECTED_EXIT_CODES[pytest_exit]})")
    print(f"outcomes:  {format_counts(summary['counts'])}")
    rate = summary.get("success_rate")
    print(f"success:   {'n/a' if rate is None else f'{rate:.1%}'}")

    failures: List[Dict[str, Any]] = summary.get("failures") or []
    categories = Counter(failure.get("category") or "uncategorized" for failure in failures)
    if failures:
        by_category = ", ".join(f"{name}: {count}" for name, count in sorted(categories.items()))
        print(f"failures by category: {by_category}")
        for failure in failures:
            category = failure.get("category") or "uncategorized"
            app = failure.get("app") or "-"
            print(f"  [{category}] ({app}) {failure['nodeid']}: {failure.get('message', '')[:100]}")
    else:
        print("failures:  none")
    retried: List[Dict[str, Any]] = summary.get("retried") or []
    flaky = [entry["nodeid"] for entry in retried if entry.get("flaky")]
    print(f"retried:   {len(retried)} test(s); flaky (passed on a retry): {', '.join(flaky) or 'none this run'}")
    skipped_by_dependency = (summary.get("ordering") or {}).get("dependency_skipped") or []
    for entry in skipped_by_dependency:
        print(f"dependency: skipped {entry['nodeid']}: {entry['reason']}")
    clusters = (summary.get("triage") or {}).get("clusters") or []
    if clusters:
        print(f"triage:    {len(clusters)} cluster(s) of look-alike failures; see triage.json next to the report")

    gate = summary.get("gate") or {}
    if not gate.get("enabled"):
        print("gate:      not enabled")
    else:
        verdict = "PASSED" if gate.get("passed") else "FAILED"
        print(f"gate:      {verdict}")
        for check in gate.get("checks", []):
            if not check.get("passed"):
                detail = f": {check['detail']}" if check.get("detail") else ""
                print(
                    f"  violation {check['rule']}: expected {check.get('expected')}, "
                    f"got {check.get('actual')}{detail}"
                )

    failing_cells = sorted({failure["cell"] for failure in failures if failure.get("cell")})
    print(f"failing matrix cells: {', '.join(failing_cells) if failing_cells else 'none'}")
    print_capabilities(summary)
    print(f"report: {report_path.resolve()}")


def print_capabilities(summary: Dict[str, Any]) -> None:
    """The plan, rerun, foreign-suite and selection lines, when the run had them."""
    run = summary.get("run") or {}
    plan = summary.get("plan") or {}
    if run.get("plan"):
        missing = plan.get("missing_cells") or []
        gap = f"; required cells not covered: {'; '.join(missing)}" if missing else ""
        print(f"plan:      {run['plan']}{gap}")
    rerun = summary.get("rerun") or {}
    if rerun:
        print(f"rerun:     of run {rerun.get('of')}: {rerun.get('fixed', 0)} now pass, "
              f"{rerun.get('still_failing', 0)} still fail")
    for entry in summary.get("runners") or []:
        counts = entry.get("cases") or {}
        shown = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if n) or "no cases"
        cell = f"[{entry['cell']}]" if entry.get("cell") else ""
        problem = f" - {entry['failure']}" if entry.get("failure") else ""
        print(f"foreign:   {entry.get('runner')}{cell} exited {entry.get('exit_status')}: {shown}{problem}")
    selection = summary.get("selection") or {}
    if selection:
        print(f"selection: {selection.get('summary')}")


def run_step(project: Path, pytest_args: Sequence[str], title: str) -> int:
    """One pytest run and its summary; 0, or DEMO_BROKEN when the orchestration broke."""
    print(f"\ndemo: === {title} ===", flush=True)
    previous_run_dir = latest_run_dir(project)
    pytest_exit = run_pytest(project, pytest_args)
    if pytest_exit not in EXPECTED_EXIT_CODES:
        name = EXIT_CODE_NAMES.get(pytest_exit, "unexpected exit status")
        print(f"demo: the orchestration broke: pytest exited {pytest_exit} ({name})", flush=True)
        return DEMO_BROKEN
    try:
        report_path, summary = load_summary(project, previous_run_dir)
    except DemoError as exc:
        print(f"demo: {exc}", flush=True)
        return DEMO_BROKEN
    print_summary(summary, report_path, pytest_exit)
    return 0


def selection_step(project: Path) -> int:
    """Record the map on a git copy of the project, make a one-line change, run what it affects."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="orchestra-demo-") as scratch:
        copy = Path(scratch) / project.name
        shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".orchestra", "__pycache__", ".pytest_cache"))
        if (project / ".orchestra" / "runners").is_dir():  # the foreign suite's known cases
            shutil.copytree(project / ".orchestra" / "runners", copy / ".orchestra" / "runners")
        git = shutil.which("git")
        if git:
            for command in (["init", "-q"], ["add", "-A"],
                            ["-c", "user.name=demo", "-c", "user.email=demo@example.com", "commit", "-q", "-m", "shop"]):
                subprocess.run([git, *command], cwd=copy, check=True, capture_output=True)
        print("\ndemo: === selection: record the map (a full run), then change one line ===", flush=True)
        recorded = run_pytest(copy, ["--orchestra-record-map", "-p", "no:randomly", "--no-header", "-rN"])
        if recorded not in EXPECTED_EXIT_CODES:
            print(f"demo: the orchestration broke: recording the map exited {recorded}", flush=True)
            return DEMO_BROKEN
        path, old, new = SELECTION_EDIT
        target = copy / path
        target.write_text(target.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
        print(f"demo: changed {path}: {old!r} -> {new!r}", flush=True)
        return run_step(copy, ["--orchestra-changed", "--orchestra-explain"],
                        "selection: run only what the change can affect")


def main(argv: Optional[Sequence[str]] = None) -> int:
    args, pytest_args = parse_args(sys.argv[1:] if argv is None else argv)
    project: Path = args.project.resolve()
    if not project.is_dir():
        print(f"demo: no project directory at {project}", file=sys.stderr)
        return DEMO_BROKEN
    steps = [step.strip() for step in args.steps.split(",") if step.strip()]
    unknown = [step for step in steps if step not in STEPS]
    if unknown:
        print(f"demo: unknown steps {', '.join(unknown)} (steps: {', '.join(STEPS)})", file=sys.stderr)
        return DEMO_BROKEN
    plans = {
        "nightly": (["--orchestra-plan", "nightly", *pytest_args], "nightly plan: the whole suite, every cell"),
        "rerun": (["--orchestra-rerun"], "rerun: the failures of the last run, same cells, same plan"),
        "coverage": (["--orchestra-plan", "billing-release"],
                     "billing-release plan: are the required role x edition cells covered?"),
    }
    for step in steps:
        status = selection_step(project) if step == "selection" else run_step(project, *plans[step])
        if status:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
