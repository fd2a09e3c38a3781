"""pytest-orchestra: turns a plain pytest suite into an orchestrated QA workflow.

The plugin itself loads through the ``pytest11`` entry point; this package's
top level offers the Python API: the workflow model and its loader, the
records a run produces, and the gate's exit status.
"""

from __future__ import annotations

from pytest_orchestra.gates import GATE_FAILED_EXIT_CODE
from pytest_orchestra.matrix import MatrixContext
from pytest_orchestra.records import GateCheck, GateVerdict, RunRecord, RunResult, TestRecord
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
