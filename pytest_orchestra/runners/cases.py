"""What the report parsers produce: one :class:`CaseResult` per foreign test case.

Pure data, no pytest. A case's :attr:`CaseResult.id` is the name its pytest
item carries: ``classname.name`` as JUnit consumers show it (``calc.TestAdd``,
``test_mod.TestCart.test_total``), the suite path for tools whose class names
say nothing (``group.nested case`` for Node), ``file: description`` for TAP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

#: Outcomes a foreign case can have (TODO / xfail style results count as skipped).
CASE_OUTCOMES: Tuple[str, ...] = ("passed", "failed", "error", "skipped")

#: Longest stored text per case: a runaway log must not become a huge report.
TEXT_LIMIT = 20_000


class ReportError(ValueError):
    """A report that cannot be read (malformed, truncated, wrong format); the message says where."""


def clip(text: Optional[str], limit: int = TEXT_LIMIT) -> str:
    text = (text or "").lstrip("\n").rstrip()
    if len(text) <= limit:
        return text
    return text[: limit - 15] + "... [truncated]"


@dataclass
class CaseResult:
    """One test case of a foreign report."""

    id: str
    outcome: str
    name: str = ""
    suite: str = ""
    duration: float = 0.0
    #: One line: why it failed, errored or was skipped.
    message: str = ""
    #: The failure body (stack trace, diff), as the tool wrote it.
    details: str = ""
    #: What the case printed (stdout and stderr, as far as the format keeps them).
    output: str = ""
    file: Optional[str] = None
    line: Optional[int] = None

    def __post_init__(self) -> None:
        if self.outcome not in CASE_OUTCOMES:
            raise ValueError(f"unknown case outcome {self.outcome!r}")

    def as_dict(self) -> Dict[str, Any]:
        return {"id": self.id, "file": self.file, "line": self.line}


@dataclass
class ParsedReport:
    """The cases of one report, plus what was wrong with it short of unreadable."""

    cases: List[CaseResult] = field(default_factory=list)
    #: Problems that leave the cases usable: a TAP stream that ended early, a bail out...
    problems: List[str] = field(default_factory=list)

    def extend(self, other: "ParsedReport") -> None:
        self.cases.extend(other.cases)
        self.problems.extend(other.problems)


def item_name(text: str) -> str:
    """A case id usable as a pytest node name: one line, no ``::`` (pytest's separator)."""
    text = " ".join(text.split())
    while "::" in text:
        text = text.replace("::", ":")
    return text or "(unnamed)"


def qualified(qualifier: str, name: str) -> str:
    """``qualifier.name``, unless the name already carries the qualifier."""
    qualifier, name = qualifier.strip(), name.strip()
    if not qualifier or name == qualifier or name.startswith(qualifier + ".") or name.startswith(qualifier + " "):
        return name
    return f"{qualifier}.{name}"


def unique_ids(cases: Iterable[CaseResult]) -> List[CaseResult]:
    """Cases with node-name-safe ids; a repeated id gets `` #2``, `` #3``... in report order."""
    seen: Dict[str, int] = {}
    result = []
    for case in cases:
        base = item_name(case.id)
        count = seen.get(base, 0) + 1
        seen[base] = count
        case.id = base if count == 1 else f"{base} #{count}"
        result.append(case)
    return result
