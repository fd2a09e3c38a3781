"""Ordering's and sharding's command-line options."""

from __future__ import annotations

from typing import Any


def addoption(group: Any, parser: Any) -> None:
    group.addoption(
        "--orchestra-shard",
        metavar="K/N",
        default=None,
        help="Run shard K of N (1-based), balanced by durations from history, keeping dependency "
        "chains whole (default: CI_NODE_INDEX/CI_NODE_TOTAL when both are set).",
    )
    group.addoption(
        "--orchestra-shard-plan",
        action="store_true",
        default=False,
        help="Print how the selected tests split into shards (with --orchestra-shard=K/N or "
        "CI_NODE_TOTAL) and exit without running them.",
    )
