"""``history report RUN``: the reports of a run, or of a whole run group, read back from history.

The merge job of a sharded pipeline reads its group here instead of
collecting every shard's report folder: the group's runs are each shard's
latest attempt, so a retried shard counts once. ``--gate`` evaluates the
quality gate over the whole pipeline (``no_regression`` against the previous
logical run on the branch).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Optional

from pytest_orchestra.core.records import GateVerdict, RunResult
from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.history.sources import CommandError, Sources, open_source


def report(args: argparse.Namespace, sources: Sources) -> int:
    from pytest_orchestra.history.render import report_section
    from pytest_orchestra.history.trends import report_trends
    from pytest_orchestra.reporting.writer import write_reports

    with open_source(args.source or sources.default(), timeout=args.timeout) as store:
        run = store.get_run(args.run)
        if run is None:
            raise CommandError(f"no run or run group {args.run!r} in {store.location}")
        result = RunResult(run=run, tests=store.tests(args.run))
        if args.gate is not None:
            result.gate = _gate(store, result, args.gate)
            run.gate_passed = result.gate.passed
        trends = report_trends(store, run)
        if trends is not None:
            result.add_section(report_section(trends))
    out = Path(args.out) if args.out else sources.base_dir / "reports" / args.run
    redactor = Redactor.from_environ()
    paths = write_reports(result, out, redactor=redactor)
    failing = sum(1 for test in result.tests if test.failed and not test.quarantined)
    print(f"history report: {run.run_id}: {len(result.tests)} tests, {failing} failed -> {paths.markdown}")
    if result.gate.enabled and not result.gate.passed:
        from pytest_orchestra.core.gates import GATE_FAILED_EXIT_CODE

        for check in result.gate.violations:
            print(f"history report: gate: {check.describe()}")
        return GATE_FAILED_EXIT_CODE
    return 1 if failing else 0


def _gate(store: Any, result: RunResult, rules: str) -> GateVerdict:
    from pytest_orchestra.core.gates import evaluate_gates
    from pytest_orchestra.workflow import GatesSpec, WorkflowError, load_workflow

    run = result.run
    try:
        gates = GatesSpec.from_overrides(rules, load_workflow(Path.cwd()).gates)
    except WorkflowError as error:
        raise CommandError(str(error)) from None
    previous: Optional[Any] = None
    for logical in store.recent_groups(branch=run.branch, plan=run.plan, limit=20):
        ident = logical[0].run_group or logical[0].run_id
        if ident != run.run_id and logical[0].started < run.started:
            previous = store.get_run(ident)
            break
    return evaluate_gates(
        gates,
        result.tests,
        previous_rate=previous.success_rate if previous else None,
        previous_run_id=previous.run_id if previous else None,
        branch=run.branch,
    )
