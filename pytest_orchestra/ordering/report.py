"""Ordering and sharding's part of the run's report: summary.json's ``ordering`` and report.md's section."""

from __future__ import annotations

from typing import Any, Dict, List

from pytest_orchestra.core.records import ReportSection
from pytest_orchestra.reporting.md import cell_text, code

#: Where the section stands in report.md (pipeline order).
ORDER = 30
#: Dependency skips listed before "and N more".
LISTED = 50


def markdown_lines(ordering: Any, limit: int = LISTED) -> List[str]:
    if not isinstance(ordering, dict):
        return []
    lines = ["### Ordering and sharding", ""]
    if ordering.get("shard"):
        lines.append(f"Shard {ordering['shard']}.")
    if ordering.get("merged_shards"):
        lines.append(f"Merged from {len(ordering['merged_shards'])} shards: "
                     + ", ".join(code(str(d)) for d in ordering["merged_shards"]) + ".")
    skipped = ordering.get("dependency_skipped") or []
    lines.append(f"{len(skipped)} tests skipped because a dependency did not pass.")
    for entry in skipped[:limit]:
        lines.append(f"- {code(str(entry.get('nodeid', '')))} — {cell_text(str(entry.get('reason', '')))}")
    if len(skipped) > limit:
        lines.append(f"- … and {len(skipped) - limit} more")
    return lines


def report_section(ordering: Dict[str, Any]) -> ReportSection:
    return ReportSection("ordering", ordering, tuple(markdown_lines(ordering)), order=ORDER)
