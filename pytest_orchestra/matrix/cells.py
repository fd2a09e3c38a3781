"""Expanding a ``@pytest.mark.matrix`` into cells: pure logic, no pytest.

A marker names dimensions, with explicit values (``role=["Admin", "Guest"]``)
or by name only (``"role"``), in which case the workflow's
``matrix.dimensions`` supplies the values. The cells are the cartesian product
in the marker's dimension order; cells matched by a ``matrix.exclude`` rule are
kept but carry the rule as their skip reason, so the report shows them.
"""

from __future__ import annotations

import itertools
from dataclasses import field
from typing import Any, Dict, List, Mapping, Optional, Protocol, Sequence, Tuple

from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.core.plainclass import plainclass


class MatrixError(OrchestraError, ValueError):
    """A matrix marker that cannot be expanded; the message names what is wrong."""


class ExcludeRuleLike(Protocol):
    def matches(self, cell: Mapping[str, str]) -> bool: ...

    def describe(self) -> str: ...


class MatrixSpecLike(Protocol):
    @property
    def dimensions(self) -> Mapping[str, Tuple[str, ...]]: ...

    @property
    def attached(self) -> Mapping[str, Mapping[str, Mapping[str, Any]]]: ...

    @property
    def exclude(self) -> Sequence[ExcludeRuleLike]: ...


@plainclass(frozen=True)
class MatrixCell:
    """One combination of dimension values, with what the workflow attaches to it."""

    values: Dict[str, str]
    attached: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    skip_reason: Optional[str] = None

    @property
    def id(self) -> str:
        return "-".join(self.values.values())


def marker_dimensions(
    args: Sequence[Any], kwargs: Mapping[str, Any], spec: MatrixSpecLike, *, where: str
) -> Dict[str, Tuple[str, ...]]:
    """The dimensions and values a marker asks for, in the marker's order.

    ``where`` names the test for error messages.
    """
    dims: Dict[str, Tuple[str, ...]] = {}
    for name in args:
        if not isinstance(name, str):
            raise MatrixError(
                f"{where}: @pytest.mark.matrix: positional arguments name workflow dimensions "
                f"and must be strings, got {name!r}"
            )
        if name not in spec.dimensions:
            declared = ", ".join(sorted(spec.dimensions)) or "none"
            raise MatrixError(
                f"{where}: @pytest.mark.matrix: dimension {name!r} has no values: give them in the "
                f"marker ({name}=[...]) or declare matrix.dimensions.{name} in the workflow "
                f"(declared: {declared})"
            )
        dims[name] = tuple(spec.dimensions[name])
    for name, raw in kwargs.items():
        if name in dims:
            raise MatrixError(f"{where}: @pytest.mark.matrix: dimension {name!r} is given twice")
        values = [raw] if isinstance(raw, (str, int, float, bool)) else raw
        try:
            values = tuple(str(v) for v in values)
        except TypeError:
            raise MatrixError(
                f"{where}: @pytest.mark.matrix: {name} must be a list of values, got {raw!r}"
            ) from None
        if not values:
            raise MatrixError(f"{where}: @pytest.mark.matrix: {name} has no values")
        if len(set(values)) != len(values):
            raise MatrixError(f"{where}: @pytest.mark.matrix: {name} lists a value twice: {list(values)}")
        dims[name] = values
    if not dims:
        raise MatrixError(
            f"{where}: @pytest.mark.matrix needs at least one dimension, "
            "e.g. @pytest.mark.matrix(role=['Admin', 'Guest']) or @pytest.mark.matrix('role')"
        )
    return dims


def expand_cells(dimensions: Mapping[str, Sequence[str]], spec: MatrixSpecLike) -> List[MatrixCell]:
    """Every cell of ``dimensions``, in product order, with exclusions applied."""
    names = list(dimensions)
    cells = []
    for combo in itertools.product(*(dimensions[n] for n in names)):
        values = dict(zip(names, combo))
        attached = {
            n: dict(spec.attached.get(n, {}).get(v) or {}) for n, v in values.items()
        }
        reason = next((rule.describe() for rule in spec.exclude if _applies(rule, values)), None)
        cells.append(MatrixCell(values=values, attached=attached, skip_reason=reason))
    return cells


def _applies(rule: ExcludeRuleLike, values: Mapping[str, str]) -> bool:
    # A rule naming a dimension this test does not use cannot exclude it: the
    # cell would not be that combination at all.
    named = getattr(rule, "values", None)
    if named is not None and not set(named).issubset(values):
        return False
    return rule.matches(values)


class MatrixContext:
    """What ``orchestra_context`` gives a test: its cell and the data attached to it.

    ``ctx["role"]`` or ``ctx.role`` is a dimension's value; any other name is
    looked up in the data the workflow attaches to the cell's values, merged
    over the dimensions in order (``ctx["flags"]``). ``ctx.attached["edition"]``
    is one dimension value's own data.
    """

    def __init__(self, cell: Optional[MatrixCell] = None) -> None:
        self.values: Dict[str, str] = dict(cell.values) if cell else {}
        self.attached: Dict[str, Dict[str, Any]] = dict(cell.attached) if cell else {}
        merged: Dict[str, Any] = {}
        for data in self.attached.values():
            merged.update(data)
        self.data: Dict[str, Any] = merged

    def __getitem__(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name in self.data:
            return self.data[name]
        known = ", ".join(sorted(set(self.values) | set(self.data))) or "nothing: this test is not in a matrix"
        raise KeyError(f"orchestra_context has no {name!r} (it has: {known})")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(exc.args[0]) from None

    def __contains__(self, name: object) -> bool:
        return name in self.values or name in self.data

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default

    def __repr__(self) -> str:
        return f"MatrixContext({self.values!r})"


#: The parametrized argument that carries a test's cell (``orchestra_context``).
CELL_ARGNAME = "orchestra_context"


def cell_of(item: Any) -> Dict[str, str]:
    """The matrix cell values of a collected test item, or ``{}``."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return {}
    cell = callspec.params.get(CELL_ARGNAME)
    return dict(cell.values) if isinstance(cell, MatrixCell) else {}
