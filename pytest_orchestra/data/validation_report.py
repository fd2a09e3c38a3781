"""The report of a validation: every violation found (up to a limit), and rows read per table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .checks import Violation


@dataclass
class ValidationReport:
    """Every violation found (up to ``limit``), and rows read per table."""

    dataset: str
    violations: List[Violation] = field(default_factory=list)
    rows: Dict[str, int] = field(default_factory=dict)
    limit: Optional[int] = None
    dropped: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations and not self.dropped

    def add(self, kind: str, table: Optional[str], row: Optional[int], column: Optional[str], message: str) -> None:
        if self.limit is not None and len(self.violations) >= self.limit:
            self.dropped += 1
            return
        self.violations.append(Violation(kind, table, row, column, message))

    def by_kind(self) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        for violation in self.violations:
            counts[violation.kind] = counts.get(violation.kind, 0) + 1
        return counts

    def summary(self) -> str:
        total = sum(self.rows.values())
        if self.ok:
            return f"{self.dataset}: {total} rows in {len(self.rows)} tables, no violations"
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.by_kind().items()))
        more = f" (+{self.dropped} not kept)" if self.dropped else ""
        return f"{self.dataset}: {len(self.violations)} violation(s){more}: {kinds}"

    def first(self) -> str:
        """A one-line message naming the first violation (for failing a test in setup)."""
        if not self.violations:
            return self.summary()
        return f"dataset {self.dataset}: {self.violations[0]}"

    def as_dict(self) -> Dict[str, Any]:
        return {
            "dataset": self.dataset, "ok": self.ok, "rows": dict(self.rows),
            "violations": [v.as_dict() for v in self.violations], "dropped": self.dropped,
        }
