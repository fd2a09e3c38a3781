"""Gherkin tags of pytest-bdd scenarios onto the plugin's markers.

pytest-bdd turns ``@critical`` into ``pytest.mark.critical`` by itself; tags
with a colon need a meaning:

* ``@app:billing`` → ``@pytest.mark.app("billing")``;
* ``@role:Guest``, ``@edition:lite`` (a workflow matrix dimension) → the
  scenario's matrix values, merged into one ``@pytest.mark.matrix(role=[...],
  edition=[...])``: two ``@role:`` tags run it in both cells;
* any other ``@name:value`` → ``@pytest.mark.name("value")``.

Registered only when pytest-bdd is loaded.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import pytest

#: Where a scenario function keeps the matrix values its tags gave it.
CELL_ATTRIBUTE = "_orchestra_gherkin_matrix"
#: The matrix mark built from its tags, told apart from one the user wrote.
MARK_ATTRIBUTE = "_orchestra_gherkin_mark"


class GherkinTags:
    name = "orchestra-gherkin-tags"

    def __init__(self, dimensions: Mapping[str, Sequence[str]]) -> None:
        self.dimensions = {name: tuple(values) for name, values in dimensions.items()}

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_bdd_apply_tag(self, tag: str, function: Callable[..., Any]) -> Optional[bool]:
        name, separator, value = tag.partition(":")
        if not separator or not name or not value:
            return None  # pytest-bdd's own: @critical → pytest.mark.critical
        if name == "app":
            pytest.mark.app(value)(function)
        elif name in self.dimensions:
            self._add_cell_value(function, name, value)
        elif name.isidentifier():
            getattr(pytest.mark, name)(value)(function)
        else:
            return None
        return True

    def _add_cell_value(self, function: Callable[..., Any], dimension: str, value: str) -> None:
        chosen: Dict[str, List[str]] = getattr(function, CELL_ATTRIBUTE, {})
        values = chosen.setdefault(dimension, [])
        if value not in values:
            values.append(value)
        setattr(function, CELL_ATTRIBUTE, chosen)
        # pytest-bdd applies tags from a set: order by the workflow, so ids do not vary.
        ordered = {
            dim: sorted(chosen[dim], key=functools.partial(self._rank, dim))
            for dim in self.dimensions
            if dim in chosen
        }
        previous = getattr(function, MARK_ATTRIBUTE, None)
        marks = [m for m in getattr(function, "pytestmark", []) if m is not previous]
        mark = pytest.mark.matrix(**ordered).mark
        setattr(function, MARK_ATTRIBUTE, mark)
        function.pytestmark = marks + [mark]  # type: ignore[attr-defined]

    def _rank(self, dimension: str, value: str) -> tuple:
        declared = self.dimensions[dimension]
        return (declared.index(value), "") if value in declared else (len(declared), value)

