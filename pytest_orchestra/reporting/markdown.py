"""report.md: the run as a QA lead pastes it into a pull request.

Headline, quality gate, failures grouped by category, matrix tables, per-app
counts, retries, quarantine and selection. Output is deterministic: the same
RunResult always renders the same text.
"""

from __future__ import annotations

from itertools import product
from typing import Any, Dict, List, Optional, Tuple

from pytest_orchestra.core.records import (
    FAILING_OUTCOMES,
    RunResult,
    TestRecord,
    count_outcomes,
)
from pytest_orchestra.reporting.md import code, table
from pytest_orchestra.reporting.summary import failure_reason, run_duration

#: Order and wording of the counts in the headline.
_HEADLINE_OUTCOMES = ("failed", "error", "passed", "skipped", "xfailed", "xpassed")
_NO_VALUE = "—"


def _headline(result: RunResult) -> List[str]:
    counts = count_outcomes(result.tests)
    failing = counts["failed"] + counts["error"]
    gate_failed = result.gate.enabled and not result.gate.passed
    icon = "❌" if failing or gate_failed else "✅"
    parts = [f"{counts[name]} {name}" for name in _HEADLINE_OUTCOMES if counts.get(name)]
    described = ", ".join(parts) if parts else "no tests ran"
    headline = f"## {icon} pytest-orchestra: {described} in {run_duration(result):.1f} s"
    if gate_failed:
        headline += " — gate FAILED"
    run = result.run
    details = [f"run {code(run.run_id)}"]
    if run.branch:
        details.append(f"branch {code(run.branch)}")
    if run.commit:
        details.append(f"commit {code(run.commit[:8])}")
    details.append(f"trigger {code(run.trigger)}")
    if run.plan:
        details.append(f"plan {code(run.plan)}")
    if run.rerun_of:
        details.append(f"rerun of {code(run.rerun_of)}")
    return [headline, "", " · ".join(details)]


def _gate(result: RunResult) -> List[str]:
    gate = result.gate
    lines = ["### Quality gate", "", "**PASSED**" if gate.passed else "**FAILED**", ""]
    for check in gate.checks:
        lines.append(f"- {'✅' if check.passed else '❌'} {check.describe()}")
    return lines


#: Tests named under one cluster before "and N more".
CLUSTER_NAMES = 5


def _decision_note(result: RunResult, nodeid: str) -> str:
    """`` · reviewed`` when a person's label decided the category, `` · auto: rule`` when triage did."""
    decisions = (result.sections.get("triage") or {}).get("decisions") or {}
    decision = decisions.get(nodeid)
    if not decision:
        return ""
    if decision.get("reviewed"):
        return f" · **reviewed** ({str(decision.get('reason', '')).replace('`', chr(39))})"
    return f" · auto: {decision.get('rule', '')}"


def _clusters_by_test(result: RunResult) -> Tuple[Dict[str, Dict[str, Any]], set]:
    """Triage's clusters keyed by each member test, and the ids that are incidents."""
    triage = result.sections.get("triage") or {}
    by_test: Dict[str, Dict[str, Any]] = {}
    for cluster in triage.get("clusters", []):
        for nodeid in cluster["tests"]:
            by_test[nodeid] = cluster
    return by_test, set(triage.get("incidents", []))


def _failures(result: RunResult, max_failures: int) -> List[str]:
    groups: Dict[str, List[TestRecord]] = {}
    for test in result.tests:
        if test.outcome in FAILING_OUTCOMES:
            groups.setdefault(test.category or "uncategorized", []).append(test)
    if not groups:
        return []
    by_test, incidents = _clusters_by_test(result)
    lines = ["### Failures by category"]
    listed = total = 0
    for category in sorted(groups, key=lambda name: (-len(groups[name]), name)):
        tests = groups[category]
        total += len(tests)
        if listed >= max_failures:
            continue
        lines += ["", f"#### {category} ({len(tests)})", ""]
        seen_clusters: set = set()
        for test in tests:
            if listed >= max_failures:
                break
            cluster = by_test.get(test.nodeid)
            members = [t for t in tests if by_test.get(t.nodeid) is cluster] if cluster else [test]
            if cluster is not None and len(members) > 1:
                if cluster["id"] in seen_clusters:
                    continue
                seen_clusters.add(cluster["id"])
                label = "**Incident**" if cluster["id"] in incidents else f"**{len(members)} tests**"
                reason = failure_reason(test).replace("`", "'")
                note = _decision_note(result, test.nodeid)
                lines.append(f"- {label} {code(cluster['id'])} ({len(members)} tests) — {reason}{note}")
                for member in members[:CLUSTER_NAMES]:
                    lines.append(f"  - {code(member.nodeid)}")
                if len(members) > CLUSTER_NAMES:
                    lines.append(f"  - … and {len(members) - CLUSTER_NAMES} more")
                listed += len(members)
                continue
            reason = failure_reason(test).replace("`", "'")
            lines.append(f"- {code(test.nodeid)} — {reason}{_decision_note(result, test.nodeid)}")
            listed += 1
    if total > listed:
        lines += ["", f"… and {total - listed} more failures (see summary.json)"]
    return lines


def _matrix_axes(result: RunResult, tests: List[TestRecord]) -> Tuple[List[str], Dict[str, List[str]]]:
    """Dimensions in declaration order and each one's values in display order."""
    dimensions = list(result.matrix_dimensions)
    for test in tests:
        for name in test.matrix:
            if name not in dimensions:
                dimensions.append(name)
    declared = result.sections.get("matrix_values") or {}
    values: Dict[str, List[str]] = {}
    for name in dimensions:
        ordered = [str(v) for v in declared.get(name, [])]
        seen = set(ordered)
        for test in tests:
            value = test.matrix.get(name, _NO_VALUE)
            if value not in seen:
                seen.add(value)
                ordered.append(value)
        values[name] = ordered
    return dimensions, values


def _verdict(tests: List[TestRecord]) -> str:
    if not tests:
        return ""
    failing = sum(1 for test in tests if test.failed)
    if failing:
        return f"❌ {failing}"
    if all(test.outcome == "skipped" for test in tests):
        return "⏭️"
    return "✅"


def _matrix(result: RunResult) -> List[str]:
    tests = [test for test in result.tests if test.matrix]
    if not tests:
        return []
    dimensions, values = _matrix_axes(result, tests)
    cells: Dict[Tuple[str, ...], List[TestRecord]] = {}
    for test in tests:
        key = tuple(test.matrix.get(name, _NO_VALUE) for name in dimensions)
        cells.setdefault(key, []).append(test)
    lines = ["### Matrix"]
    if len(dimensions) == 1:
        (name,) = dimensions
        row = ["result"] + [_verdict(cells.get((value,), [])) for value in values[name]]
        return lines + [""] + table([name] + values[name], [row])
    rows_dim, cols_dim, rest = dimensions[0], dimensions[1], dimensions[2:]
    for combo in product(*(values[name] for name in rest)):
        if not any(key[2:] == combo for key in cells):
            continue
        if rest:
            lines += ["", "#### " + ", ".join(f"{n}={v}" for n, v in zip(rest, combo))]
        rows = [
            [row] + [_verdict(cells.get((row, col) + combo, [])) for col in values[cols_dim]]
            for row in values[rows_dim]
        ]
        lines += [""] + table([f"{rows_dim} \\ {cols_dim}"] + values[cols_dim], rows)
    return lines


def _by_app(result: RunResult) -> List[str]:
    groups: Dict[Optional[str], List[TestRecord]] = {}
    for test in result.tests:
        groups.setdefault(test.app, []).append(test)
    if not any(app for app in groups):
        return []
    rows = []
    for app in sorted(groups, key=lambda name: (name is None, name or "")):
        counts = count_outcomes(groups[app])
        rows.append([app or "(no app)"] + [str(counts[o]) for o in ("passed", "failed", "error", "skipped")])
    return ["### By app", ""] + table(["app", "passed", "failed", "error", "skipped"], rows)


def _retries(result: RunResult) -> List[str]:
    retried = [test for test in result.tests if test.attempts > 1]
    if not retried:
        return ["### Retries", "", "none"]
    rows = [[code(t.nodeid), str(t.attempts), t.outcome] for t in retried]
    return ["### Retries", ""] + table(["test", "attempts", "final outcome"], rows)


def _quarantine(result: RunResult) -> List[str]:
    entries = result.sections.get("quarantine") or []
    if not entries:
        return ["### Quarantined", "", "none"]
    lines = ["### Quarantined", ""]
    for entry in entries:
        reason = str(entry.get("reason") or "").strip()
        line = f"- {code(str(entry.get('nodeid', '')))}"
        lines.append(f"{line} — {reason}" if reason else line)
    return lines


def render_report(result: RunResult, *, max_failures: int = 200) -> str:
    """The Markdown report of ``result``; at most ``max_failures`` failures are listed.

    The run's own sections (headline, gate, failures, matrix, apps, retries,
    quarantine) come first, then the sections capabilities contributed
    (``result.contributions``), in their pipeline order.
    """
    sections = [_headline(result)]
    if result.gate.enabled:
        sections.append(_gate(result))
    sections += [
        _failures(result, max_failures),
        _matrix(result),
        _by_app(result),
        _retries(result),
        _quarantine(result),
    ]
    for contribution in sorted(result.contributions, key=lambda section: section.order):
        sections.append(list(contribution.markdown))
    return "\n\n".join("\n".join(lines) for lines in sections if lines) + "\n"
