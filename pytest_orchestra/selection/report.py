"""Selection's part of the run's report: summary.json's ``selection``, report.md's section, selection.json."""

from __future__ import annotations

from typing import Any, Dict, List

from pytest_orchestra.core.records import ReportSection

#: Where selection's section stands in report.md (pipeline order).
ORDER = 20


def markdown_lines(summary: Any) -> List[str]:
    """report.md's Selection section for summary.json's ``selection`` (none unless it is a mapping)."""
    if not isinstance(summary, dict):
        return []
    lines = ["### Selection", "", str(summary.get("summary", ""))]
    details = summary.get("details") or []
    if details:
        lines.append("")
        lines.extend(f"- {detail}" for detail in details)
    return lines


def report_section(summary: Dict[str, Any], selection_json: str) -> ReportSection:
    return ReportSection("selection", summary, tuple(markdown_lines(summary)), order=ORDER,
                         files=(("selection.json", selection_json),))
