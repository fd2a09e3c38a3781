"""Run history: every pytest session's run and test records in ``.orchestra/history.db``."""

from __future__ import annotations

from pytest_orchestra.history.store import (
    SCHEMA_VERSION,
    HistoryStore,
    NullHistoryStore,
    warn_to_stderr,
)

__all__ = ["SCHEMA_VERSION", "HistoryStore", "NullHistoryStore", "warn_to_stderr"]
