"""The history that keeps nothing: where no history can be kept, and the default of readers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.history.summary import RunSummary

Warn = Callable[[str], None]


def warn_to_stderr(message: str) -> None:
    sys.stderr.write(message + "\n")


class NullHistoryStore:
    """Stands in for a store where no history can be kept: records nothing, reads nothing."""

    def __init__(self, path: Optional[Union[Path, str]] = None) -> None:
        self.path = path
        self.location = "" if path is None else str(path)

    @classmethod
    def unusable(cls, path: Path, reason: str, warn: Warn) -> NullHistoryStore:
        warn(f"orchestra: cannot use history database {path} ({reason}); run history is not recorded")
        return cls(path)

    def begin_run(self, run: RunRecord) -> None:
        pass

    def add_tests(self, run_id: str, tests: Sequence[TestRecord]) -> None:
        pass

    def finish_run(self, run: RunRecord) -> None:
        pass

    def import_run(self, run: RunRecord, tests: Sequence[TestRecord]) -> int:
        return 0

    def prune(self, keep_runs: int) -> int:
        return 0

    def get_run(self, run_id: str) -> Optional[RunRecord]:
        return None

    def runs(
        self,
        *,
        branch: Optional[str] = None,
        status: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> List[RunRecord]:
        return []

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
        return None

    def group_runs(self, group: str) -> List[RunRecord]:
        return []

    def recent_groups(
        self, *, branch: Optional[str] = None, plan: Optional[str] = None, limit: int = 20
    ) -> List[List[RunRecord]]:
        return []

    def summaries(self, run_ids: Sequence[str]) -> Dict[str, RunSummary]:
        return {}

    def known_runs(self, run_ids: Sequence[str]) -> Dict[str, Tuple[str, int]]:
        return {}

    def tests(self, run_id: str) -> List[TestRecord]:
        return []

    def outcomes(self, run_id: str) -> List[Tuple[str, str, bool, bool]]:
        return []

    def test_history(self, nodeid: str, *, limit: int = 50) -> List[Tuple[RunRecord, TestRecord]]:
        return []

    def durations(self, *, limit_runs: int = 20, group: Optional[str] = None) -> Dict[str, float]:
        return {}

    def flakiest(self, run_ids: Sequence[str], *, limit: int = 5) -> List[Tuple[str, int]]:
        return []

    def slowest(self, run_ids: Sequence[str], *, limit: int = 5) -> List[Tuple[str, float]]:
        return []

    def results(self, run_ids: Sequence[str], nodeids: Sequence[str]) -> List[Tuple[str, str, str, float, bool]]:
        return []

    def labelled_failures(self) -> List[Tuple[str, str, str]]:
        return []

    def schema_version(self) -> int:
        return 0

    def close(self) -> None:
        pass

    def __enter__(self) -> NullHistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass
