"""Pytest wiring of the matrix: ``@pytest.mark.matrix`` and ``orchestra_context``."""

from __future__ import annotations

from typing import Any, Optional

import pytest

from pytest_orchestra.core.marks import MarkerSurvey, closest_marker
from pytest_orchestra.matrix.cells import (
    CELL_ARGNAME,
    MatrixCell,
    MatrixContext,
    MatrixError,
    expand_cells,
    marker_dimensions,
)


class MatrixPlugin:
    """Expands matrix markers into one item per cell (controller and workers alike)."""

    def __init__(self, matrix_spec: Any) -> None:
        self.spec = matrix_spec
        #: The marker names of the modules, classes and packages above the tests, per node.
        self._above = MarkerSurvey()

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        definition = metafunc.definition
        if not any(marker.name == "matrix" for marker in definition.own_markers) and (
            "matrix" not in self._above.names_above(definition.parent)
        ):
            return  # most functions: their own markers and one look-up per parent
        marker = closest_marker(definition, "matrix")
        if marker is None:  # pragma: no cover - the check above found one
            return
        where = metafunc.definition.nodeid
        try:
            dims = marker_dimensions(marker.args, marker.kwargs, self.spec, where=where)
        except MatrixError as exc:
            pytest.fail(str(exc), pytrace=False)
        cells = expand_cells(dims, self.spec)
        params = [
            pytest.param(cell, id=cell.id, marks=[pytest.mark.skip(reason=cell.skip_reason)] if cell.skip_reason else [])
            for cell in cells
        ]
        # The test need not ask for orchestra_context to be expanded: the name is
        # added to its closure so pytest accepts the (indirect) parametrization.
        if CELL_ARGNAME not in metafunc.fixturenames:
            metafunc.fixturenames.append(CELL_ARGNAME)
        metafunc.parametrize(CELL_ARGNAME, params, indirect=True)

    @pytest.fixture
    def orchestra_context(self, request: pytest.FixtureRequest) -> MatrixContext:
        """The test's matrix cell and the data the workflow attaches to it."""
        cell: Optional[MatrixCell] = getattr(request, "param", None)
        return MatrixContext(cell)


def register(config: pytest.Config, settings: Any, role: Any) -> None:
    config.pluginmanager.register(MatrixPlugin(settings.workflow.matrix), "orchestra-matrix")
