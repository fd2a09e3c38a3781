"""Run history: every pytest session's run and test records.

In ``.orchestra/history.db`` (SQLite, the default) or in a PostgreSQL database
a whole team shares (``history.url`` / ``ORCHESTRA_HISTORY_URL``). Every
backend implements :class:`RunHistory`; :func:`open_history` picks one from
the session's settings. PostgreSQL code is imported only when configured.
"""

from __future__ import annotations

from pytest_orchestra.history.factory import open_history
from pytest_orchestra.history.interface import RunHistory
from pytest_orchestra.history.null import NullHistoryStore, warn_to_stderr
from pytest_orchestra.history.store import SCHEMA_VERSION, HistoryStore

__all__ = ["SCHEMA_VERSION", "HistoryStore", "NullHistoryStore", "RunHistory", "open_history", "warn_to_stderr"]
