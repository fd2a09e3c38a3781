"""pytest-orchestra: turns a plain pytest suite into an orchestrated QA workflow.

The plugin itself loads through the ``pytest11`` entry point; this package's
top level offers the Python API: the workflow model and its loader, the
records a run produces, and the gate's exit status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_orchestra.core.speed import OwnSubmoduleFinder, lazy_exports

if TYPE_CHECKING:
    from pytest_orchestra.core.gates import GATE_FAILED_EXIT_CODE
    from pytest_orchestra.core.records import (
        GateCheck,
        GateVerdict,
        RunRecord,
        RunResult,
        TestRecord,
    )
    from pytest_orchestra.matrix import MatrixContext
    from pytest_orchestra.workflow import Workflow, WorkflowError, load_workflow

__version__ = "0.1.0"

__all__ = [
    "GATE_FAILED_EXIT_CODE",
    "GateCheck",
    "GateVerdict",
    "MatrixContext",
    "RunRecord",
    "RunResult",
    "TestRecord",
    "Workflow",
    "WorkflowError",
    "load_workflow",
    "__version__",
]

# Imported on first use: pytest imports this package for the plugin on every
# run, and a suite that uses none of the API should not pay for all of it.
_LAZY = {
    "GATE_FAILED_EXIT_CODE": "pytest_orchestra.core.gates",
    "MatrixContext": "pytest_orchestra.matrix",
    "GateCheck": "pytest_orchestra.core.records",
    "GateVerdict": "pytest_orchestra.core.records",
    "RunRecord": "pytest_orchestra.core.records",
    "RunResult": "pytest_orchestra.core.records",
    "TestRecord": "pytest_orchestra.core.records",
    "Workflow": "pytest_orchestra.workflow",
    "WorkflowError": "pytest_orchestra.workflow",
    "load_workflow": "pytest_orchestra.workflow",
}


__getattr__ = lazy_exports(__name__, _LAZY, globals())


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))


OwnSubmoduleFinder.install()
