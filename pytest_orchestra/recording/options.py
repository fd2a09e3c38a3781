"""The hub's command-line options and ini key: where reports go, the gate, whether runs are recorded."""

from __future__ import annotations

from typing import Any


def addoption(group: Any, parser: Any) -> None:
    group.addoption(
        "--orchestra-report-dir",
        metavar="DIR",
        default=None,
        help="Write this run's reports into DIR (default: .orchestra/reports/<run-id>/).",
    )
    group.addoption(
        "--orchestra-gate",
        metavar="RULES",
        nargs="?",
        const="",
        default=None,
        help="Evaluate the quality gate: the workflow's gates, or defaults, overridden by "
        "RULES like 'min_success_rate=0.95,max_flaky=0'. A failed gate exits with status 6.",
    )
    parser.addini(
        "orchestra_records",
        type="bool",
        default=True,
        help="Write run history (.orchestra/history.db) and reports (default: true).",
    )
