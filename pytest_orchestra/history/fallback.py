"""The shared database first; when it fails, the local file and the spool, losing nothing.

The recorder's store when a shared database is configured. Every write goes
to the database until it fails (or from the start, when it was out of reach);
then this run's records so far, and every later one, go to the local
``history.db``, and the run is spooled. When the run ends on a healthy
database, runs spooled by earlier sessions are uploaded (exactly once).
Reads follow the writes: the database while it answers, else the local file.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar, Union

from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.history.config import HistorySettings
from pytest_orchestra.history.null import NullHistoryStore, Warn
from pytest_orchestra.history.spool import Spool, upload_pending
from pytest_orchestra.history.store import HistoryStore
from pytest_orchestra.history.summary import RunSummary

_Result = TypeVar("_Result")


class FallbackHistoryStore:
    def __init__(self, primary: Optional[Any], settings: HistorySettings, *, warn: Warn) -> None:
        assert settings.url is not None
        self._primary = primary
        self._settings = settings
        self._database = settings.url.identity
        self._warn = warn
        self._spool = Spool(settings.spool_dir)
        self._local: Optional[Union[HistoryStore, NullHistoryStore]] = None
        self._run: Optional[RunRecord] = None
        self._records: List[TestRecord] = []
        self._spooled = False
        self._uploading = False
        self.location = settings.url.shown
        if primary is not None:
            primary.on_failure = self._primary_failed

    # -- writing --------------------------------------------------------------------------

    def begin_run(self, run: RunRecord) -> None:
        self._run, self._records, self._spooled = run, [], False
        self._write(lambda store: store.begin_run(run))

    def add_tests(self, run_id: str, tests: Sequence[TestRecord]) -> None:
        if self._run is not None and run_id == self._run.run_id:
            self._records.extend(tests)
        self._write(lambda store: store.add_tests(run_id, tests))

    def finish_run(self, run: RunRecord) -> None:
        if self._run is not None and run.run_id == self._run.run_id:
            self._run = run
        self._write(lambda store: store.finish_run(run))
        if self._primary is not None:
            self._upload_spooled()

    def import_run(self, run: RunRecord, tests: Sequence[TestRecord]) -> int:
        return self._read(lambda store: store.import_run(run, tests))

    def prune(self, keep_runs: int) -> int:
        if self._primary is not None:
            return self._read(lambda store: store.prune(keep_runs))
        return self._local_store().prune(self._settings.local_keep_runs)

    def _write(self, call: Callable[[Any], None]) -> None:
        primary = self._primary
        if primary is not None:
            call(primary)
            if primary.failure is None:
                return
            # The failing call's records are among self._records: the copy below holds them.
            self._primary = None
            self._move_to_local()
            return
        self._spool_run()
        call(self._local_store())

    def _move_to_local(self) -> None:
        if self._run is None:
            return
        self._local_store().import_run(self._run, self._records)
        self._spool_run()

    def _spool_run(self) -> None:
        if self._run is not None and not self._spooled:
            try:
                self._spool.add(self._run.run_id, self._database)
            except OSError as error:
                self._warn(f"orchestra: could not spool run {self._run.run_id} in {self._settings.spool_dir} "
                           f"({error.strerror or error}); upload it with: python -m pytest_orchestra history push")
            self._spooled = True

    def _upload_spooled(self) -> None:
        if not self._settings.local_path.is_file() or not self._spool.pending(self._database):
            return
        self._uploading = True
        try:
            with HistoryStore.open(self._settings.local_path, warn=self._warn) as local:
                upload_pending(self._spool, self._database, local, self._primary)
        finally:
            self._uploading = False

    def _primary_failed(self, reason: str) -> None:
        url = self._settings.url
        assert url is not None
        self._settings.unusable[url.url] = reason
        if self._uploading:
            self._warn(f"orchestra: history database {url.shown} failed while uploading runs of an earlier outage "
                       f"({reason}); they stay in {self._settings.local_shown} for a later run")
        else:
            self._warn(f"orchestra: history database {url.shown} failed ({reason}); this run's records go to "
                       f"{self._settings.local_shown} and are uploaded by the next run that reaches it")

    # -- reading ----------------------------------------------------------------------------

    def _read(self, call: Callable[[Any], _Result]) -> _Result:
        primary = self._primary
        if primary is not None:
            result = call(primary)
            if primary.failure is None:
                return result
            self._primary = None
            self._move_to_local()
        return call(self._local_store())

    def _local_store(self) -> Union[HistoryStore, NullHistoryStore]:
        if self._local is None:
            self._local = HistoryStore.open(self._settings.local_path, warn=self._warn)
        return self._local

    def get_run(self, run_id: str) -> Optional[RunRecord]:
        return self._read(lambda store: store.get_run(run_id))

    def runs(self, *, branch: Optional[str] = None, status: Optional[str] = None,
             limit: Optional[int] = None) -> List[RunRecord]:
        return self._read(lambda store: store.runs(branch=branch, status=status, limit=limit))

    def last_run(self, *, branch: Optional[str], exclude: Optional[str] = None, status: str = "complete",
                 plan: Optional[str] = None, shard: Optional[str] = None,
                 exclude_group: Optional[str] = None) -> Optional[RunRecord]:
        return self._read(lambda store: store.last_run(branch=branch, exclude=exclude, status=status, plan=plan,
                                                       shard=shard, exclude_group=exclude_group))

    def group_runs(self, group: str) -> List[RunRecord]:
        return self._read(lambda store: store.group_runs(group))

    def recent_groups(self, *, branch: Optional[str] = None, plan: Optional[str] = None,
                      limit: int = 20) -> List[List[RunRecord]]:
        return self._read(lambda store: store.recent_groups(branch=branch, plan=plan, limit=limit))

    def summaries(self, run_ids: Sequence[str]) -> Dict[str, RunSummary]:
        return self._read(lambda store: store.summaries(run_ids))

    def known_runs(self, run_ids: Sequence[str]) -> Dict[str, Tuple[str, int]]:
        return self._read(lambda store: store.known_runs(run_ids))

    def tests(self, run_id: str) -> List[TestRecord]:
        return self._read(lambda store: store.tests(run_id))

    def outcomes(self, run_id: str) -> List[Tuple[str, str, bool, bool]]:
        return self._read(lambda store: store.outcomes(run_id))

    def test_history(self, nodeid: str, *, limit: int = 50) -> List[Tuple[RunRecord, TestRecord]]:
        return self._read(lambda store: store.test_history(nodeid, limit=limit))

    def durations(self, *, limit_runs: int = 20, group: Optional[str] = None) -> Dict[str, float]:
        return self._read(lambda store: store.durations(limit_runs=limit_runs, group=group))

    def flakiest(self, run_ids: Sequence[str], *, limit: int = 5) -> List[Tuple[str, int]]:
        return self._read(lambda store: store.flakiest(run_ids, limit=limit))

    def slowest(self, run_ids: Sequence[str], *, limit: int = 5) -> List[Tuple[str, float]]:
        return self._read(lambda store: store.slowest(run_ids, limit=limit))

    def results(self, run_ids: Sequence[str], nodeids: Sequence[str]) -> List[Tuple[str, str, str, float, bool]]:
        return self._read(lambda store: store.results(run_ids, nodeids))

    def labelled_failures(self) -> List[Tuple[str, str, str]]:
        return self._read(lambda store: store.labelled_failures())

    def schema_version(self) -> int:
        return self._read(lambda store: store.schema_version())

    # -- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        for store in (self._primary, self._local):
            if store is not None:
                store.close()

    def __enter__(self) -> FallbackHistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
