"""The one door to a session's history: the local SQLite file, or the shared PostgreSQL database.

Every reader (flakiness, quarantine, gates, sharding, reruns, plans, selection)
and the recorder open history here, so each works the same on both backends.
A shared database that cannot be used costs one warning line per session:
the verdict is kept in the settings, and later opens in the session go
straight to the local file.
"""

from __future__ import annotations

from typing import Any, Optional

from pytest_orchestra.history.config import HistorySettings
from pytest_orchestra.history.null import NullHistoryStore, Warn, warn_to_stderr
from pytest_orchestra.history.store import HistoryStore


def open_history(settings: Any, *, warn: Warn = warn_to_stderr, record: bool = False) -> Any:
    """The session's history (a :class:`~pytest_orchestra.history.interface.RunHistory`).

    ``record`` is for the recorder: with a shared database, writes that cannot
    reach it go to the local file and the spool. Readers get the shared
    database, or during an outage the local file; and, without a URL, a
    :class:`NullHistoryStore` while no local file exists yet.
    """
    history: HistorySettings = settings.history
    if history.url is None:
        if not record and not history.local_path.exists():
            return NullHistoryStore(history.local_path)
        return HistoryStore.open(history.local_path, warn=warn)
    shared = open_shared(history, warn=warn, then=_TAIL_RECORDING if record else _TAIL_READING)
    if record:
        from pytest_orchestra.history.fallback import FallbackHistoryStore

        return FallbackHistoryStore(shared, history, warn=warn)
    if shared is not None:
        return shared
    if history.local_path.is_file():
        return HistoryStore.open(history.local_path, warn=warn)
    return NullHistoryStore(history.url.shown)


_TAIL_RECORDING = "this run's records go to {local} and are uploaded by the next run that reaches it"
_TAIL_READING = "this session reads {local} instead"


def open_shared(history: HistorySettings, *, warn: Warn, then: str = _TAIL_READING) -> Optional[Any]:
    """The shared database's store, or None (after one warning line) when it cannot be used."""
    url = history.url
    assert url is not None
    if url.url in history.unusable:
        return None
    from pytest_orchestra.history.postgres import (
        HistoryUnavailable,
        PostgresHistoryStore,
    )

    def failed_while_reading(reason: str) -> None:
        history.unusable[url.url] = reason
        warn(f"orchestra: history database {url.shown} failed ({reason}); history is not read for the rest "
             "of this session")

    try:
        return PostgresHistoryStore.open(url, timeout=history.timeout, on_failure=failed_while_reading)
    except HistoryUnavailable as error:
        history.unusable[url.url] = str(error)
        warn(f"orchestra: {unavailable_line(url, error)}; {then.format(local=history.local_shown)}")
        return None


def unavailable_line(url: Any, error: Exception) -> str:
    """"history database <url> (<setting>) <what is wrong>", naming the setting to fix."""
    reason = str(error)
    where = f"history database {url.shown} ({url.source})"
    kind = getattr(error, "kind", "unreachable")
    if kind == "schema":
        return f"{where} {reason}"
    if kind == "credentials":
        return f"{where} refused the credentials ({reason}; the password comes from the URL or PGPASSWORD)"
    if kind == "timeout":
        return f"{where} did not answer ({reason})"
    if kind == "setting":
        return f"{where} has a setting libpq rejects ({reason})"
    return f"{where} is unreachable ({reason})"


def planning_key(config: Any, settings: Any) -> Optional[str]:
    """The key shard planning pins its durations under, so every process plans alike.

    The run group: every shard of a pipeline, and a retried shard, plan from the
    figures the first one read, while the others write new ones. Without a group,
    the xdist session (other machines write to the database while this session's
    workers collect). Only for a shared history: a local file is written by this
    session alone, after its workers planned, so it is read as it is (and workers
    never write to it).
    """
    history: HistorySettings = settings.history
    if history.url is None:
        return None
    if history.group:
        return history.group
    workerinput = getattr(config, "workerinput", None)
    if history.url is not None and workerinput is not None and workerinput.get("testrunuid"):
        return f"xdist-{workerinput['testrunuid']}"
    return None
