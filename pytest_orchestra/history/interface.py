"""The one interface every history backend implements, and every reader relies on.

:class:`~pytest_orchestra.history.store.HistoryStore` (SQLite, the embedded
default), :class:`~pytest_orchestra.history.postgres.PostgresHistoryStore`
(a database a team shares), :class:`~pytest_orchestra.history.fallback.FallbackHistoryStore`
(the shared database with the local file and the spool behind it) and
:class:`~pytest_orchestra.history.null.NullHistoryStore` (nothing kept) all
implement it, and the same tests run against each backend.

History never breaks a run: no method raises for a database problem. A store
that fails warns once (one line), then records nothing and reads nothing.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Protocol, Sequence, Tuple, runtime_checkable

from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.history.summary import RunSummary


@runtime_checkable
class RunHistory(Protocol):
    #: Where the history is, for messages: a path, or a URL without its password.
    location: str

    # -- writing (the controller's recorder, and imports) ----------------------------

    def begin_run(self, run: RunRecord) -> None:
        """Record a run as it starts, so a killed session still leaves its run behind."""

    def add_tests(self, run_id: str, tests: Sequence[TestRecord]) -> None:
        """Append test records, committed before returning (each call: one transaction)."""

    def finish_run(self, run: RunRecord) -> None:
        """Store how the run ended, and the counts of its tests (:meth:`summaries`)."""

    def import_run(self, run: RunRecord, tests: Sequence[TestRecord]) -> int:
        """Store a whole run from another history, exactly once: the run as given, and those
        of ``tests`` (in their order) not stored yet. Returns how many tests were added."""

    def prune(self, keep_runs: int) -> int:
        """Delete finished runs beyond the newest ``keep_runs``, with their tests; how many went."""

    # -- runs ---------------------------------------------------------------------------

    def get_run(self, run_id: str) -> Optional[RunRecord]:
        """The run with this id; for a run group's id, one record standing for the group."""

    def runs(
        self, *, branch: Optional[str] = None, status: Optional[str] = None, limit: Optional[int] = None
    ) -> List[RunRecord]:
        """Runs newest first, optionally of one branch and/or status."""

    def last_run(
        self,
        *,
        branch: Optional[str],
        exclude: Optional[str] = None,
        status: str = "complete",
        plan: Optional[str] = None,
        shard: Optional[str] = None,
        exclude_group: Optional[str] = None,
    ) -> Optional[RunRecord]:
        """The newest run with ``status`` on ``branch`` (any when None), except ``exclude``,
        of ``plan`` and ``shard`` when given, outside ``exclude_group``."""

    def group_runs(self, group: str) -> List[RunRecord]:
        """The runs making up a run group, oldest first (each shard's latest attempt)."""

    def recent_groups(
        self, *, branch: Optional[str] = None, plan: Optional[str] = None, limit: int = 20
    ) -> List[List[RunRecord]]:
        """The newest finished logical runs (groups, or runs outside any), newest first."""

    def summaries(self, run_ids: Sequence[str]) -> Dict[str, RunSummary]:
        """Each run's test counts."""

    def known_runs(self, run_ids: Sequence[str]) -> Dict[str, Tuple[str, int]]:
        """``run_id -> (status, test rows)`` for those of ``run_ids`` held here."""

    # -- tests ----------------------------------------------------------------------------

    def tests(self, run_id: str) -> List[TestRecord]:
        """The run's (or group's) test records in the order they were added."""

    def outcomes(self, run_id: str) -> List[Tuple[str, str, bool, bool]]:
        """(nodeid, outcome, flaky, quarantined) of the run's (or group's) tests."""

    def test_history(self, nodeid: str, *, limit: int = 50) -> List[Tuple[RunRecord, TestRecord]]:
        """The test's records in past runs, newest run first."""

    def durations(self, *, limit_runs: int = 20, group: Optional[str] = None) -> Dict[str, float]:
        """Median seconds per test over the newest complete runs; with ``group``, the
        figures pinned for that group when it first asked."""

    def flakiest(self, run_ids: Sequence[str], *, limit: int = 5) -> List[Tuple[str, int]]:
        """``(nodeid, times marked flaky)`` in these runs, most first."""

    def slowest(self, run_ids: Sequence[str], *, limit: int = 5) -> List[Tuple[str, float]]:
        """``(nodeid, seconds)`` of the slowest tests that ran in these runs."""

    def results(self, run_ids: Sequence[str], nodeids: Sequence[str]) -> List[Tuple[str, str, str, float, bool]]:
        """``(run_id, nodeid, outcome, duration, flaky)`` of these tests in these runs."""

    def labelled_failures(self) -> List[Tuple[str, str, str]]:
        """``(phase, message, category)`` of every categorized failure (triage training)."""

    # -- lifecycle --------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The schema version of the database (0 when there is none)."""

    def close(self) -> None:
        """Release the database; later calls record and read nothing."""

    def __enter__(self) -> RunHistory: ...

    def __exit__(self, *exc_info: object) -> None: ...
