"""Run history: every pytest session's run and test records.

Every backend implements :class:`RunHistory`: the SQLite file
``.orchestra/history.db`` is the embedded default.
"""

from __future__ import annotations

from pytest_orchestra.history.interface import RunHistory
from pytest_orchestra.history.null import NullHistoryStore, warn_to_stderr
from pytest_orchestra.history.store import SCHEMA_VERSION, HistoryStore

__all__ = ["SCHEMA_VERSION", "HistoryStore", "NullHistoryStore", "RunHistory", "warn_to_stderr"]
