"""The few ``orchestra:`` lines that end the terminal output of a recorded run."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

from pytest_orchestra.core.gates import GATE_FAILED_EXIT_CODE
from pytest_orchestra.core.records import RunResult, count_outcomes


def summary_lines(result: RunResult, report_path: Optional[Path], rootdir: Path) -> List[str]:
    """The few ``orchestra:`` lines that end the terminal output."""
    run = result.run
    counts = count_outcomes(result.tests)
    shown = ", ".join(f"{n} {name}" for name, n in counts.items() if n) or "no tests"
    where = ", ".join(filter(None, [f"{run.branch}@{run.commit[:8]}" if run.commit else None, run.trigger]))
    rate = f"; success rate {run.success_rate * 100:.1f}%" if run.success_rate is not None else ""
    lines = [f"orchestra: run {run.run_id} ({where}): {shown}{rate}"]
    gate = result.gate
    if gate.enabled:
        if gate.passed:
            lines.append(f"orchestra: gate passed ({len(gate.checks)} checks)")
        else:
            lines.append(f"orchestra: gate FAILED (exit status {GATE_FAILED_EXIT_CODE}):")
            lines.extend(f"orchestra:   {check.describe()}" for check in gate.violations)
    if report_path is not None:
        try:
            shown_path = report_path.relative_to(rootdir)
        except ValueError:
            shown_path = report_path
        lines.append(f"orchestra: report {shown_path}")
    return lines


def style(line: str) -> Dict[str, bool]:
    if "FAILED" in line:
        return {"red": True, "bold": True}
    return {}
