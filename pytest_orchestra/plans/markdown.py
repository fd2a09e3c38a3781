"""The plans' part of the run's report: summary.json's ``plan`` and ``rerun`` and their report.md sections."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

from pytest_orchestra.core.records import ReportSection
from pytest_orchestra.reporting.md import code

#: Where the plan's section stands in report.md (pipeline order).
ORDER = 40

#: Rows of the rerun table before "and N more".
MAX_RERUN_ROWS = 50

_ICONS = {"passed": "✅", "xpassed": "✅", "xfailed": "✅", "failed": "❌", "error": "❌", "skipped": "⏭️"}


def _outcome(outcome: Optional[str]) -> str:
    if not outcome:
        return "—"
    return f"{_ICONS.get(outcome, '')} {outcome}".strip()


def plan_lines(plan: Mapping[str, Any]) -> List[str]:
    lines = [f"### Plan {code(plan['name'])}", ""]
    chosen = f"chosen by {plan.get('source') or 'the workflow'}."
    lines.append(f"{plan['description']} — {chosen}" if plan.get("description") else chosen.capitalize())
    required = plan.get("required")
    if not required:
        return lines
    cells = required.get("cells") or []
    covered = plan.get("covered_cells") or []
    missing = plan.get("missing_cells") or []
    failing = plan.get("failed_cells") or []
    must = plan.get("must_pass") or {}
    verdict = "**complete**" if plan.get("complete") else "**incomplete**"
    parts = []
    if cells:
        parts.append(f"{len(covered)} of {len(cells)} required cells covered, {len(failing)} failing")
    if required.get("must_pass"):
        bad = len(must.get("missing") or []) + len(must.get("failed") or [])
        parts.append(f"{len(required['must_pass'])} must-pass tests, {bad} not passing")
    lines += ["", f"Required coverage {verdict}: " + "; ".join(parts) + "."]
    gaps = [f"- ⬜ cell {code(cell)}: no test ran" for cell in missing]
    gaps += [f"- ❌ cell {code(cell)}: a test failed" for cell in failing]
    gaps += [f"- ⬜ must-pass {code(nodeid)}: did not run" for nodeid in must.get("missing") or []]
    gaps += [
        f"- ❌ must-pass {code(entry['nodeid'])}: {entry['outcome']}" for entry in must.get("failed") or []
    ]
    if gaps:
        lines += [""] + gaps
    change = plan.get("delta")
    if change:
        lines += ["", _delta_line(change)]
    return lines


def _delta_line(change: Mapping[str, Any]) -> str:
    text = (
        f"Since {code(change['previous_run'])}, the last run of this plan: "
        f"{change['covered_before']} → {change['covered_after']} cells covered"
    )
    for key, label in (
        ("gained", "newly covered"),
        ("lost", "no longer covered"),
        ("fixed", "passing again"),
        ("broken", "now failing"),
        ("must_pass_fixed", "must-pass now passing"),
        ("must_pass_broken", "must-pass no longer passing"),
    ):
        names = change.get(key) or []
        if names:
            text += f"; {label}: " + ", ".join(code(n) for n in names)
    return text + "."


def rerun_lines(rerun: Mapping[str, Any]) -> List[str]:
    lines = [f"### Rerun of {code(rerun['of'])}", ""]
    tests: Sequence[Dict[str, Any]] = rerun.get("tests") or []
    described = f"{len(tests)} failed {'test' if len(tests) == 1 else 'tests'} of that run ran again"
    if rerun.get("filter"):
        described += f" (filter {code(rerun['filter'])})"
    described += f": {rerun.get('fixed', 0)} now pass, {rerun.get('still_failing', 0)} still fail."
    lines.append(described)
    vanished = rerun.get("vanished") or []
    if vanished:
        lines.append(
            f"{len(vanished)} no longer collected: " + ", ".join(code(nodeid) for nodeid in vanished) + "."
        )
    chain = list(rerun.get("chain") or [])
    if len(chain) > 1:
        lines.append("Rerun chain: " + " → ".join(code(run) for run in chain) + " → this run.")
    if not tests:
        return lines
    header = ["test"] + [f"run {code(run)}" for run in chain] + ["this run"]
    rows = []
    for test in tests[:MAX_RERUN_ROWS]:
        history = {entry["run"]: entry.get("outcome") for entry in test.get("history") or []}
        rows.append([code(test["nodeid"])] + [_outcome(history.get(run)) for run in chain] + [_outcome(test.get("after"))])
    lines += [""] + _table(header, rows)
    if len(tests) > MAX_RERUN_ROWS:
        lines += ["", f"… and {len(tests) - MAX_RERUN_ROWS} more (see summary.json)"]
    return lines


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


def plan_sections(sections: Mapping[str, Any]) -> List[str]:
    """The lines of both sections (empty when the run has neither)."""
    lines: List[str] = []
    plan = sections.get("plan")
    if isinstance(plan, Mapping) and plan.get("name"):
        lines += plan_lines(plan)
    rerun = sections.get("rerun")
    if isinstance(rerun, Mapping) and rerun.get("of"):
        lines += ([""] if lines else []) + rerun_lines(rerun)
    return lines


def report_sections(sections: Mapping[str, Any]) -> List[ReportSection]:
    """The run's ``plan`` and ``rerun`` sections (report.md shows both under the plan's)."""
    found = [key for key in ("plan", "rerun") if sections.get(key) is not None]
    if not found:
        return []
    lines = tuple(plan_sections(sections))
    return [ReportSection(key, sections[key], lines if index == 0 else (), order=ORDER)
            for index, key in enumerate(found)]
