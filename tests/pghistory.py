"""A real PostgreSQL server for the history tests: one per test session (per xdist worker),
a fresh database per test. Import the fixtures into a test module to use them."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, List

import pytest

from pytest_orchestra.environments.throwaway import ThrowawayPostgres
from pytest_orchestra.history.location import parse_history_url
from pytest_orchestra.history.store import HistoryStore


@pytest.fixture(scope="session")
def history_server() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def history_url(history_server: ThrowawayPostgres) -> str:
    """The URL of a new, empty database on the session's server (password included)."""
    return history_server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> "Backend":
    """Opens stores of one backend on one history; the same tests run against both."""
    if request.param == "sqlite":
        return Backend("sqlite", str(tmp_path / ".orchestra" / "history.db"))
    return Backend("postgresql", request.getfixturevalue("history_url"))


class Backend:
    def __init__(self, name: str, where: str) -> None:
        self.name = name
        self.where = where
        #: Warning lines of every store opened (SQLite's warn, PostgreSQL's on_failure).
        self.messages: List[str] = []
        self._opened: List[object] = []

    def __repr__(self) -> str:
        return self.name

    def open(self, **options: object) -> "object":
        if self.name == "sqlite":
            store: object = HistoryStore.open(Path(self.where), warn=self.messages.append)
        else:
            from pytest_orchestra.history.postgres import PostgresHistoryStore

            target = parse_history_url(self.where, "history.url")
            store = PostgresHistoryStore.open(target, timeout=float(options.get("timeout", 20.0)),  # type: ignore[arg-type]
                                              on_failure=self.messages.append)
        self._opened.append(store)
        return store

    def opener(self) -> Callable[[], object]:
        return self.open
