"""Trends drawn where people read them: Markdown with Mermaid charts (GitHub renders them in
PR comments and files), an SVG file in the report folder, and plain text for the terminal."""

from __future__ import annotations

import statistics
import time
from typing import Any, Dict, List, Optional, Sequence

from pytest_orchestra.core.records import ReportSection
from pytest_orchestra.history.trends import (
    ABSENT,
    FAILED,
    PASSED,
    RETRIED,
    SKIPPED,
    TrendPoint,
    Trends,
)

SVG_FILE = "trends.svg"
_BARS = "▁▂▃▄▅▆▇█"
LEGEND = f"{PASSED} passed · {FAILED} failed · {RETRIED} passed on a retry (flaky) · {SKIPPED} skipped · " \
         f"{ABSENT} not run"


def labels(points: Sequence[TrendPoint]) -> List[str]:
    """A short, unique x-axis label per point: its UTC start, ``MM-DD HH:MM``."""
    seen: Dict[str, int] = {}
    found: List[str] = []
    for point in points:
        label = time.strftime("%m-%d %H:%M", time.gmtime(point.started))
        seen[label] = seen.get(label, 0) + 1
        found.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return found


def sparkline(values: Sequence[Optional[float]]) -> str:
    """``▂▃█`` for the values, from zero (a gap where None): the shape of a test's durations.

    Scaled from zero rather than from the smallest value, so a 2% wobble draws flat
    and a doubling draws twice as high.
    """
    present = [value for value in values if value is not None]
    if not present:
        return ""
    high = max(present)
    return "".join(
        ABSENT if value is None else _BARS[0 if high <= 0 else int(round(max(value, 0.0) / high * 7))]
        for value in values
    )


def _percent(rate: Optional[float]) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _seconds(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.1f} s"


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _mermaid(title: str, axis: Sequence[str], y_label: str, kind: str, values: Sequence[float],
             top: Optional[float] = None) -> List[str]:
    upper = f" 0 --> {_nice(top)}" if top is not None else ""
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "{title}"',
        "    x-axis [" + ", ".join(f'"{label}"' for label in axis) + "]",
        f'    y-axis "{y_label}"{upper}',
        f"    {kind} [" + ", ".join(f"{value:.2f}" for value in values) + "]",
        "```",
    ]


def _nice(value: float) -> str:
    """An axis top a reader can take in: 100, 12, 4.5, 0.35."""
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}" if value >= 1 else f"{value:.2f}"


def markdown_section(data: Dict[str, Any], *, svg: Optional[str] = SVG_FILE) -> List[str]:
    """The ``### Trends`` section of report.md, from ``Trends.as_dict()``."""
    trends = Trends.from_dict(data)
    points = trends.points
    if not points:
        return []
    axis = labels(points)
    lines = [f"### Trends: last {len(points)} runs ({_cell(trends.scope)})", ""]
    lines += _mermaid("Pass rate (%)", axis, "%", "line", [(p.pass_rate or 0.0) * 100 for p in points], 100)
    lines.append("")
    walls = [p.wall_time or 0.0 for p in points]
    lines += _mermaid("Wall time (s)", axis, "seconds", "bar", walls, max(walls) * 1.1 if any(walls) else 1)
    lines += ["", "| run | started (UTC) | tests | pass rate | failures by category | flaky | quarantined | wall time |",
              "|---|---|---|---|---|---|---|---|"]
    for label, point in zip(axis, points):
        categories = ", ".join(f"{name} {count}" for name, count in point.categories.items()) or "—"
        shards = f" ({point.runs} runs)" if point.runs > 1 else ""
        lines.append(f"| {_code(point.run_id)}{shards} | {label} | {point.tests} | {_percent(point.pass_rate)} | "
                     f"{_cell(categories)} | {point.flaky} | {point.quarantined} | {_seconds(point.wall_time)} |")
    if svg:
        lines += ["", f"Chart: [{svg}]({svg})"]
    if trends.flakiest:
        lines += ["", "#### Flakiest tests", "", "| test | flaky in | oldest → newest |", "|---|---|---|"]
        for test in trends.flakiest:
            lines.append(f"| {_code(test.nodeid)} | {int(test.value)} of {len(points)} runs | {''.join(test.marks)} |")
    if trends.slowest:
        lines += ["", "#### Slowest tests", "", "| test | newest | median | oldest → newest |", "|---|---|---|---|"]
        for test in trends.slowest:
            present = [value for value in test.durations if value is not None]
            median = statistics.median(present) if present else None
            lines.append(f"| {_code(test.nodeid)} | {_seconds(test.value)} | {_seconds(median)} | "
                         f"{sparkline(test.durations)} |")
    if trends.flakiest:
        lines += ["", LEGEND]
    return lines


def text_lines(trends: Trends) -> List[str]:
    """The trends for a terminal (``python -m pytest_orchestra history trends``)."""
    if not trends.points:
        return [f"no finished runs ({trends.scope})"]
    lines = [f"last {len(trends.points)} runs ({trends.scope}), oldest first:"]
    for label, point in zip(labels(trends.points), trends.points):
        categories = ", ".join(f"{name} {count}" for name, count in point.categories.items())
        lines.append(f"  {label}  {point.run_id:<28} {point.tests:>6} tests  pass {_percent(point.pass_rate):>6}  "
                     f"flaky {point.flaky:>3}  quarantined {point.quarantined:>3}  wall {_seconds(point.wall_time):>9}"
                     + (f"  failures: {categories}" if categories else ""))
    rates = [p.pass_rate * 100 for p in trends.points if p.pass_rate is not None]
    if rates:
        lines.append(f"  pass rate {sparkline(rates)}  wall time {sparkline([p.wall_time for p in trends.points])}")
    for title, tests in (("flakiest", trends.flakiest), ("slowest", trends.slowest)):
        if tests:
            lines.append(f"{title}:")
            for test in tests:
                figure = f"flaky {int(test.value)}x" if title == "flakiest" else _seconds(test.value)
                shape = "".join(test.marks) if title == "flakiest" else sparkline(test.durations)
                lines.append(f"  {figure:>10}  {shape}  {test.nodeid}")
    return lines


def report_section(trends: Trends) -> ReportSection:
    """The trends as a report section: summary.json's ``trends``, report.md's section, ``trends.svg``."""
    data = trends.as_dict()
    return ReportSection("trends", data, tuple(markdown_section(data)), order=50,
                         files=((SVG_FILE, svg_chart(trends)),))


def svg_chart(trends: Trends, *, width: int = 760, height: int = 360) -> str:
    """Pass rate (line, left axis) over wall time (bars, right axis), with failures, flaky and
    quarantined counts under each run: one self-contained SVG file."""
    points = trends.points
    left, right, top, bottom = 56, 64, 40, 96
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / max(len(points), 1)
    walls = [p.wall_time or 0.0 for p in points]
    wall_top = max(walls) * 1.1 if any(walls) else 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        ' font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="20" font-size="14" font-weight="bold">{_xml(f"Last {len(points)} runs: {trends.scope}")}</text>',
    ]
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#1f77b4">{fraction * 100:.0f}%</text>')
        parts.append(f'<text x="{left + plot_w + 6}" y="{y + 4:.1f}" fill="#888">{wall_top * fraction:.0f} s</text>')
    line: List[str] = []
    for index, (label, point) in enumerate(zip(labels(points), points)):
        x = left + slot * (index + 0.5)
        bar = plot_h * (walls[index] / wall_top)
        parts.append(f'<rect x="{x - slot * 0.3:.1f}" y="{top + plot_h - bar:.1f}" width="{slot * 0.6:.1f}" '
                     f'height="{bar:.1f}" fill="#d9d9d9"><title>{_xml(point.run_id)}: {_seconds(point.wall_time)}'
                     '</title></rect>')
        if point.pass_rate is not None:
            line.append(f"{x:.1f},{top + plot_h * (1 - point.pass_rate):.1f}")
        base = top + plot_h
        parts.append(f'<text x="{x:.1f}" y="{base + 14}" text-anchor="middle" fill="#555">{_xml(label)}</text>')
        parts.append(f'<text x="{x:.1f}" y="{base + 30}" text-anchor="middle" fill="#c0392b">{point.failed} ✗</text>')
        parts.append(f'<text x="{x:.1f}" y="{base + 44}" text-anchor="middle" fill="#e67e22">{point.flaky} ↻</text>')
        parts.append(f'<text x="{x:.1f}" y="{base + 58}" text-anchor="middle" fill="#7f8c8d">{point.quarantined} q</text>')
    if line:
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
        for point_xy in line:
            x_text, y_text = point_xy.split(",")
            parts.append(f'<circle cx="{x_text}" cy="{y_text}" r="3" fill="#1f77b4"/>')
    parts.append(f'<text x="{left}" y="{height - 8}" fill="#555">line: pass rate · bars: wall time · '
                 '✗ failures · ↻ flaky · q quarantined</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
