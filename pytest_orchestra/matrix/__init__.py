"""Role x edition (any dimensions) matrices: expansion and the test's context."""

from __future__ import annotations

from pytest_orchestra.matrix.cells import (
    MatrixCell,
    MatrixContext,
    MatrixError,
    expand_cells,
    marker_dimensions,
)

__all__ = ["MatrixCell", "MatrixContext", "MatrixError", "expand_cells", "marker_dimensions"]
