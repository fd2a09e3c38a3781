"""Writes a run's reports to disk and keeps the reports folder tidy.

Every file is redacted as final text (nothing serialised afterwards can
reintroduce a secret) and written atomically, so a reader never sees half a
report. ``latest`` always points at the newest run; old runs are pruned.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import List

from pytest_orchestra.core.files import write_text_atomically
from pytest_orchestra.core.plainclass import plainclass
from pytest_orchestra.core.records import RunResult
from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.reporting.events import render_events
from pytest_orchestra.reporting.markdown import render_report
from pytest_orchestra.reporting.summary import build_summary

SUMMARY_FILE = "summary.json"
MARKDOWN_FILE = "report.md"
EVENTS_FILE = "events.jsonl"
LATEST_NAME = "latest"

#: Run folder names, e.g. 20240501T120000Z-a1b2c3; they sort chronologically.
RUN_DIR_NAME = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")


@plainclass(frozen=True)
class ReportPaths:
    summary: Path
    markdown: Path
    events: Path


def write_reports(result: RunResult, report_dir: Path, *, redactor: Redactor) -> ReportPaths:
    """Write summary.json, report.md and events.jsonl for ``result`` into ``report_dir``, and the
    files capabilities contributed (``result.contributions``), every one redacted."""
    report_dir.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(
        summary=report_dir / SUMMARY_FILE,
        markdown=report_dir / MARKDOWN_FILE,
        events=report_dir / EVENTS_FILE,
    )
    summary_text = json.dumps(build_summary(result), indent=2, ensure_ascii=False, default=str) + "\n"
    write_text_atomically(paths.summary, redactor.redact(summary_text))
    write_text_atomically(paths.markdown, redactor.redact(render_report(result)))
    write_text_atomically(paths.events, redactor.redact(render_events(result)))
    for contribution in result.contributions:
        for name, text in contribution.files:
            target = report_dir / name
            if report_dir.resolve() not in target.resolve().parents:
                continue  # a contribution names files inside the report folder only
            write_text_atomically(target, redactor.redact(text), make_parents=True)
    return paths


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def update_latest(reports_root: Path, run_dir: Path) -> None:
    """Point ``reports_root/latest`` at ``run_dir``: a relative symlink, else a copy."""
    reports_root.mkdir(parents=True, exist_ok=True)
    latest = reports_root / LATEST_NAME
    target = os.path.relpath(run_dir, reports_root)
    temporary = Path(tempfile.mkdtemp(dir=reports_root, prefix=".latest-"))
    link = temporary / LATEST_NAME
    try:
        try:
            os.symlink(target, link, target_is_directory=True)
        except (OSError, NotImplementedError):
            # No symlinks here (e.g. Windows without developer mode): copy instead.
            shutil.copytree(run_dir, link, symlinks=True)
        # A link replaces a link atomically; a directory (an earlier copy, or
        # this one) cannot be renamed over, so clear the way first.
        if not (link.is_symlink() and (latest.is_symlink() or not os.path.lexists(latest))):
            _remove(latest)
        os.replace(link, latest)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def prune_reports(reports_root: Path, keep: int) -> List[Path]:
    """Delete the oldest run folders beyond the newest ``keep``; returns what was deleted.

    ``keep`` <= 0 disables pruning. ``latest``, its target and anything not
    named like a run folder are never touched.
    """
    if keep <= 0 or not reports_root.is_dir():
        return []
    runs = sorted(
        entry
        for entry in reports_root.iterdir()
        if RUN_DIR_NAME.match(entry.name) and entry.is_dir() and not entry.is_symlink()
    )
    latest = reports_root / LATEST_NAME
    protected = latest.resolve() if latest.is_symlink() else None
    deleted: List[Path] = []
    for run_dir in runs[: max(0, len(runs) - keep)]:
        if protected is not None and run_dir.resolve() == protected:
            continue
        try:
            shutil.rmtree(run_dir)
        except OSError:
            continue  # a folder still in use elsewhere: try again next run
        deleted.append(run_dir)
    return deleted
