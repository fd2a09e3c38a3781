"""A plan's required coverage compared with what ran: pure logic, no pytest.

* The **required cells** are the cross product of ``required.matrix``'s values
  minus the cells a ``matrix.exclude`` rule removes (a rule naming a dimension
  the requirement does not list removes nothing): an excluded cell cannot run.
* A cell is **covered** when at least one test executed in it (passed or
  failed; skipped does not count), and **failing** when a covered cell holds a
  failed or errored test that is not quarantined. A test is in a cell when its
  matrix values agree on the cell's dimensions (it may have more).
* A **must-pass** test is *missing* when it did not execute (not collected,
  deselected or skipped), *failed* when its outcome is not ``passed``/``xpassed``.
  An id without ``[...]`` names every parametrized variant: all that executed
  must pass, and it is missing when none executed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from pytest_orchestra.core.records import GateCheck, TestRecord, format_cell
from pytest_orchestra.plans.config import RequiredSpec

PASSING = frozenset({"passed", "xpassed"})


@dataclass(frozen=True)
class Coverage:
    required_cells: Tuple[str, ...] = ()
    covered: Tuple[str, ...] = ()
    missing_cells: Tuple[str, ...] = ()
    failed_cells: Tuple[str, ...] = ()
    must_pass: Tuple[str, ...] = ()
    must_pass_missing: Tuple[str, ...] = ()
    #: ``(nodeid, outcome)`` of must-pass tests that executed and did not pass.
    must_pass_failed: Tuple[Tuple[str, str], ...] = ()

    @property
    def complete(self) -> bool:
        return not (self.missing_cells or self.failed_cells or self.must_pass_missing or self.must_pass_failed)

    @property
    def gaps(self) -> int:
        return len(self.missing_cells) + len(self.failed_cells) + len(self.must_pass_missing) + len(
            self.must_pass_failed
        )


def required_cells(matrix: Mapping[str, Sequence[str]], exclude: Sequence[Any] = ()) -> List[Dict[str, str]]:
    """The cells of ``matrix`` (dimension -> values) no exclude rule removes, in declaration order."""
    if not matrix:
        return []
    names = list(matrix)
    cells = [dict(zip(names, combo)) for combo in itertools.product(*(matrix[name] for name in names))]
    return [cell for cell in cells if not any(rule.matches(cell) for rule in exclude)]


def _in_cell(test: TestRecord, cell: Mapping[str, str]) -> bool:
    return all(test.matrix.get(name) == value for name, value in cell.items())


def _variant_of(nodeid: str, wanted: str) -> bool:
    return nodeid == wanted or ("[" not in wanted and nodeid.startswith(wanted + "["))


def compare(required: RequiredSpec, tests: Iterable[TestRecord], exclude: Sequence[Any] = ()) -> Coverage:
    """What of ``required`` the ``tests`` covered."""
    executed = [test for test in tests if test.outcome != "skipped"]
    cells = required_cells(required.matrix, exclude)
    covered: List[str] = []
    missing: List[str] = []
    failing: List[str] = []
    for cell in cells:
        inside = [test for test in executed if test.matrix and _in_cell(test, cell)]
        name = format_cell(cell)
        if not inside:
            missing.append(name)
            continue
        covered.append(name)
        if any(test.failed and not test.quarantined for test in inside):
            failing.append(name)
    must_missing: List[str] = []
    must_failed: List[Tuple[str, str]] = []
    for wanted in required.must_pass:
        variants = [test for test in executed if _variant_of(test.nodeid, wanted)]
        if not variants:
            must_missing.append(wanted)
        for test in variants:
            if test.outcome not in PASSING:
                must_failed.append((test.nodeid, test.outcome))
    return Coverage(
        required_cells=tuple(format_cell(cell) for cell in cells),
        covered=tuple(covered),
        missing_cells=tuple(missing),
        failed_cells=tuple(failing),
        must_pass=tuple(required.must_pass),
        must_pass_missing=tuple(must_missing),
        must_pass_failed=tuple(must_failed),
    )


def overlay(original: Sequence[TestRecord], rerun: Sequence[TestRecord]) -> List[TestRecord]:
    """A rerun's view of coverage: the original run's records with the rerun's in their place."""
    newer = {test.nodeid: test for test in rerun}
    merged = [newer.pop(test.nodeid, test) for test in original]
    return merged + list(newer.values())


@dataclass(frozen=True)
class Delta:
    previous_run: str
    covered_before: int
    covered_after: int
    gained: Tuple[str, ...] = ()
    lost: Tuple[str, ...] = ()
    fixed: Tuple[str, ...] = ()
    broken: Tuple[str, ...] = ()
    must_pass_fixed: Tuple[str, ...] = ()
    must_pass_broken: Tuple[str, ...] = ()

    def as_dict(self) -> Dict[str, Any]:
        return {
            "previous_run": self.previous_run,
            "covered_before": self.covered_before,
            "covered_after": self.covered_after,
            "gained": list(self.gained),
            "lost": list(self.lost),
            "fixed": list(self.fixed),
            "broken": list(self.broken),
            "must_pass_fixed": list(self.must_pass_fixed),
            "must_pass_broken": list(self.must_pass_broken),
        }


def _ordered(names: Iterable[str], keep: Iterable[str]) -> Tuple[str, ...]:
    wanted = set(keep)
    return tuple(name for name in names if name in wanted)


def passing_must_pass(coverage: Coverage) -> List[str]:
    """The must-pass entries that ran and passed (every variant)."""
    bad = set(coverage.must_pass_missing) | {
        wanted
        for wanted in coverage.must_pass
        for nodeid, _ in coverage.must_pass_failed
        if _variant_of(nodeid, wanted)
    }
    return [wanted for wanted in coverage.must_pass if wanted not in bad]


def delta(before: Coverage, after: Coverage, previous_run: str) -> Delta:
    """How coverage moved since ``before`` (the last run of the same plan, judged by today's requirement).

    ``gained``/``lost``: cells covered now and not then, and the reverse;
    ``fixed``/``broken``: cells failing then and passing now, and the reverse;
    ``must_pass_fixed``/``_broken``: must-pass tests that pass now and did not, and the reverse.
    """
    good_before = set(before.covered) - set(before.failed_cells)
    good_after = set(after.covered) - set(after.failed_cells)
    order = after.required_cells
    ok_before, ok_after = set(passing_must_pass(before)), set(passing_must_pass(after))
    return Delta(
        previous_run=previous_run,
        covered_before=len(before.covered),
        covered_after=len(after.covered),
        gained=_ordered(order, set(after.covered) - set(before.covered)),
        lost=_ordered(order, set(before.covered) - set(after.covered)),
        fixed=_ordered(order, (good_after - good_before) & set(before.failed_cells)),
        broken=_ordered(order, set(after.failed_cells) & good_before),
        must_pass_fixed=_ordered(after.must_pass, ok_after - ok_before),
        must_pass_broken=_ordered(after.must_pass, ok_before - ok_after),
    )


def coverage_section(
    name: str,
    source: str,
    required: Optional[RequiredSpec],
    coverage: Optional[Coverage],
    change: Optional[Delta],
    *,
    description: Optional[str] = None,
) -> Dict[str, Any]:
    """summary.json's ``plan``."""
    section: Dict[str, Any] = {"name": name, "source": source, "description": description, "required": None}
    if required is None or coverage is None:
        return section
    section.update(
        required={
            "matrix": {dim: list(values) for dim, values in required.matrix.items()},
            "cells": list(coverage.required_cells),
            "must_pass": list(required.must_pass),
        },
        covered_cells=list(coverage.covered),
        missing_cells=list(coverage.missing_cells),
        failed_cells=list(coverage.failed_cells),
        must_pass={
            "missing": list(coverage.must_pass_missing),
            "failed": [{"nodeid": nodeid, "outcome": outcome} for nodeid, outcome in coverage.must_pass_failed],
        },
        complete=coverage.complete,
        delta=change.as_dict() if change is not None else None,
    )
    return section


def coverage_gaps(coverage: Coverage) -> str:
    parts = []
    if coverage.missing_cells:
        parts.append(
            f"{len(coverage.missing_cells)} of {len(coverage.required_cells)} required cells not covered"
            f" ({'; '.join(coverage.missing_cells)})"
        )
    if coverage.failed_cells:
        parts.append(f"{len(coverage.failed_cells)} failing ({'; '.join(coverage.failed_cells)})")
    if coverage.must_pass_missing:
        parts.append(f"must-pass not run: {', '.join(coverage.must_pass_missing)}")
    if coverage.must_pass_failed:
        parts.append(
            "must-pass failed: " + ", ".join(f"{nodeid} ({outcome})" for nodeid, outcome in coverage.must_pass_failed)
        )
    return "; ".join(parts) or "required coverage complete"


def required_check(coverage: Coverage) -> GateCheck:
    must = len(coverage.must_pass)
    actual = []
    if coverage.required_cells:
        actual.append(
            f"{len(coverage.covered)}/{len(coverage.required_cells)} cells covered, {len(coverage.failed_cells)} failing"
        )
    if must:
        actual.append(f"{len(passing_must_pass(coverage))}/{must} must-pass passed")
    return GateCheck(
        rule="required_coverage",
        passed=coverage.complete,
        expected="every required cell covered and passing, every must-pass test passed",
        actual=", ".join(actual) or "nothing required",
        detail="" if coverage.complete else coverage_gaps(coverage),
    )
