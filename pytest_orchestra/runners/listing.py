"""Which cases a suite has before it runs: its listing command, else its last results.

:func:`parse_listing` reads what a listing command printed (one name a line,
``dotnet test --list-tests``, ``pytest --collect-only -q``);
:class:`ResultsCache` keeps each runner's last case ids in
``.orchestra/runners/<name>.json`` so the next run collects them as items.
No pytest import.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

from pytest_orchestra.core.files import write_text_atomically
from pytest_orchestra.runners.cases import CaseResult, item_name

DOTNET_HEADER = "The following Tests are available:"
#: Lines a listing prints around the names (pytest's summary, dotnet's banner).
NOISE = re.compile(
    r"^(\d+ tests? collected|no tests collected|no tests ran|collected \d+ items?|=+|-+"
    r"|Test run for .*|Microsoft \(R\).*|Copyright \(c\).*|A total of .*|Starting test execution.*)",
    re.IGNORECASE,
)
CACHE_VERSION = 1


def parse_listing(text: str) -> List[str]:
    """Case ids, in order and made unique, from a listing command's output."""
    lines = text.splitlines()
    if any(line.strip() == DOTNET_HEADER for line in lines):
        start = next(i for i, line in enumerate(lines) if line.strip() == DOTNET_HEADER)
        lines = lines[start + 1:]
    names: List[str] = []
    for line in lines:
        text_line = line.strip()
        if not text_line or NOISE.match(text_line) or text_line.startswith(("<", "WARNING", "warning:")):
            continue
        names.append(_from_pytest_nodeid(text_line))
    return _unique(names)


def _from_pytest_nodeid(name: str) -> str:
    """``sub/test_a.py::TestC::test_x[1]`` as pytest's JUnit XML names it: ``sub.test_a.TestC.test_x[1]``."""
    path, sep, rest = name.partition("::")
    if not sep or not path.endswith(".py"):
        return name
    module = path[: -len(".py")].replace("\\", "/").strip("/").replace("/", ".")
    return ".".join([module] + rest.split("::"))


def _unique(names: Sequence[str]) -> List[str]:
    seen: Dict[str, int] = {}
    result = []
    for raw in names:
        name = item_name(raw)
        seen[name] = seen.get(name, 0) + 1
        result.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return result


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (xdist workers) on ``path``; a no-op without fcntl."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: each worker runs on its own
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def write_json_atomically(path: Path, data: Any) -> None:
    write_text_atomically(path, json.dumps(data, indent=1, ensure_ascii=False), make_parents=True)


class ResultsCache:
    """The last case ids of each runner, per matrix cell (``""`` without a matrix)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, runner: str) -> Path:
        return self.directory / f"{runner}.json"

    def load(self, runner: str) -> Dict[str, List[Dict[str, Any]]]:
        """``{cell id: [{"id", "file", "line"}, ...]}``; empty when missing or unreadable."""
        try:
            data = json.loads(self.path(runner).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return {}
        cells = data.get("cells")
        if not isinstance(cells, dict):
            return {}
        return {
            str(cell): [c for c in cases if isinstance(c, dict) and isinstance(c.get("id"), str)]
            for cell, cases in cells.items()
            if isinstance(cases, list)
        }

    def cases_for(self, runner: str, cell: str) -> Optional[List[Dict[str, Any]]]:
        """The cell's last cases, else another cell's (a new cell of a known suite), else None."""
        cells = self.load(runner)
        if cell in cells:
            return cells[cell]
        return next(iter(cells.values()), None)

    def save(self, runner: str, cell: str, cases: Sequence[CaseResult]) -> None:
        with file_lock(self.directory / f".{runner}.lock"):
            cells = self.load(runner)
            cells[cell] = [case.as_dict() for case in cases]
            write_json_atomically(self.path(runner), {"version": CACHE_VERSION, "runner": runner, "cells": cells})
