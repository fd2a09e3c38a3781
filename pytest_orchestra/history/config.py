"""The ``history`` section of the workflow file, and the session's history settings.

```yaml
history:
  url: postgresql://qa@db.internal/history   # or ORCHESTRA_HISTORY_URL; the password via PGPASSWORD
  keep_runs: 5000     # runs kept in the shared database
  timeout: 10         # seconds: connecting, and each call, before the run goes on without it
  trend_runs: 20      # logical runs in report.md's trends
```

Without a URL the history is ``<reports.dir>/history.db`` (SQLite), as always.
Pure logic: no pytest import, and no database driver unless a URL is set.
"""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from pytest_orchestra.core.plainclass import plainclass
from pytest_orchestra.history.location import HistoryUrl, configured_url
from pytest_orchestra.workflow.schema import Field, Int, Node, Number, Record, Str

#: Runs kept in a shared database when ``history.keep_runs`` is not set.
DEFAULT_SHARED_KEEP_RUNS = 5000
SPOOL_FOLDER = "history-spool"


def history_section_node() -> Node:
    return Record(
        {
            "url": Field(
                Str("PostgreSQL URL of a history shared by every machine (postgresql://user@host/db; the "
                    "password from the URL, PGPASSWORD or ~/.pgpass). ORCHESTRA_HISTORY_URL overrides it. "
                    "Without one, the history is <reports.dir>/history.db."),
                nullable=True,
                default=None,
            ),
            "keep_runs": Field(
                Int(1, "Runs kept in the shared database; older runs and their tests are deleted."),
                default=DEFAULT_SHARED_KEEP_RUNS,
            ),
            "timeout": Field(
                Number(0.1, 3600, "Seconds to wait for the shared database (connecting, and each call) before "
                       "the run goes on with the local history."),
                default=10.0,
            ),
            "trend_runs": Field(
                Int(2, "Logical runs (a pipeline's shards count as one) shown in report.md's trends."),
                default=20,
            ),
        },
        "Where run history is kept: the local SQLite file, or a PostgreSQL database a team shares.",
    )


@plainclass(frozen=True)
class HistorySettings:
    #: The shared database, or None for the local SQLite file only.
    url: Optional[HistoryUrl]
    #: The local SQLite file: the history without a URL, the fallback with one.
    local_path: Path
    #: Runs recorded locally while the shared database was out of reach, to upload.
    spool_dir: Path
    #: Runs kept by ``prune``: ``history.keep_runs`` with a URL, else ``reports.history_runs``.
    keep_runs: int
    #: Runs kept in the local file (``reports.history_runs``).
    local_keep_runs: int
    timeout: float = 10.0
    trend_runs: int = 20
    #: This run's group and shard (see :mod:`pytest_orchestra.history.groups`).
    group: Optional[str] = None
    shard: Optional[str] = None
    #: Shared databases found unusable in this session: URL -> why. Asked once per session.
    unusable: Dict[str, str] = field(default_factory=dict)

    @property
    def local_shown(self) -> str:
        """The local file as messages name it: relative to the current folder when inside it."""
        try:
            return self.local_path.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except (ValueError, OSError):
            return str(self.local_path)


def history_settings(
    section: Optional[Mapping[str, Any]],
    *,
    base_dir: Path,
    local_keep_runs: int,
    environ: Mapping[str, str],
    group: Optional[str] = None,
    shard: Optional[str] = None,
) -> HistorySettings:
    """The session's history settings; :class:`HistoryUrlError` (one line naming the setting) for a bad URL."""
    values = section or {}
    url = configured_url(values.get("url"), environ)
    return HistorySettings(
        url=url,
        local_path=base_dir / "history.db",
        spool_dir=base_dir / SPOOL_FOLDER,
        keep_runs=int(values.get("keep_runs", DEFAULT_SHARED_KEEP_RUNS)) if url is not None else local_keep_runs,
        local_keep_runs=local_keep_runs,
        timeout=float(values.get("timeout", 10.0)),
        trend_runs=int(values.get("trend_runs", 20)),
        group=group,
        shard=shard,
    )
