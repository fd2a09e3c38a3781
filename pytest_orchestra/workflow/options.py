"""The workflow's command-line option."""

from __future__ import annotations

from typing import Any


def addoption(group: Any, parser: Any) -> None:
    group.addoption(
        "--orchestra-workflow",
        metavar="PATH",
        default=None,
        help="Workflow file to use instead of orchestra.yaml / [tool.orchestra] at the rootdir.",
    )
