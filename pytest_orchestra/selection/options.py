"""Command-line options of change-based selection (imported on every run: keep it light)."""

from __future__ import annotations

from typing import Any


def addoption(group: Any, parser: Any) -> None:
    group.addoption(
        "--orchestra-record-map",
        action="store_true",
        default=False,
        help="Record which lines each test executes and which files it reads into the map "
        "(selection.map, default .orchestra/map.db), merged with what the map already holds.",
    )
    group.addoption(
        "--orchestra-changed",
        metavar="REF",
        nargs="?",
        const="",
        default=None,
        help="Run only the tests that the changes of the working tree can affect (relative to the map's "
        "versions, plus what 'git diff REF' names), most likely to fail first.",
    )
    group.addoption(
        "--orchestra-explain",
        action="store_true",
        default=False,
        help="With --orchestra-changed or --orchestra-audit: print why each test was selected and the changes "
        "no test covers (also written as selection.json in the report dir).",
    )
    group.addoption(
        "--orchestra-audit",
        action="store_true",
        default=False,
        help="Run every test but compute the selection too; a failure it would have left out is a "
        "safety violation, shown in the report.",
    )
