"""Shared fixtures: every test starts from a neutral environment (no CI, no OTLP)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Dict, List

import pytest

CI_VARIABLES = (
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_WORKSPACE",
    "GITLAB_CI",
    "TF_BUILD",
    "JENKINS_URL",
    "JENKINS_HOME",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


@pytest.fixture(autouse=True)
def neutral_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def history_rows(base: Path, table: str = "tests", where: str = "") -> List[Dict[str, Any]]:
    """Rows of the history database under ``base/.orchestra`` as dicts."""
    connection = sqlite3.connect(base / ".orchestra" / "history.db")
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(f"SELECT * FROM {table} {where}")]
    finally:
        connection.close()


def latest_summary(base: Path) -> Dict[str, Any]:
    return json.loads((base / ".orchestra" / "reports" / "latest" / "summary.json").read_text())
