"""Triage's command-line option."""

from __future__ import annotations

from typing import Any


def addoption(group: Any, parser: Any) -> None:
    group.addoption(
        "--orchestra-reruns",
        metavar="N",
        type=int,
        default=None,
        help="Retry a failed test up to N times when its failure category allows "
        "(workflow retries.categories; default infrastructure and timeout).",
    )
