"""pytest-orchestra: turns a plain pytest suite into an orchestrated QA workflow.

The plugin itself loads through the ``pytest11`` entry point; this package's
top level offers the Python API: the workflow model and its loader, the
records a run produces, and the gate's exit status.
"""

from __future__ import annotations

import sys
from importlib.machinery import PathFinder
from typing import TYPE_CHECKING, Any, Optional, Sequence


class OwnSubmoduleFinder:
    """Imports this package's submodules with Python's own loader, ahead of pytest's.

    pytest marks every package that provides a ``pytest11`` plugin for
    assertion rewriting, so each of its submodules loads through pytest's
    rewriting importer: a second path search, then its own ``.pyc`` read back
    with ``marshal.load`` from a file object, which reads in small pieces.
    The plugin's modules hold no test assertions to rewrite, and loading them
    that way cost more than everything the plugin does in a passing run of a
    few hundred tests. This finder hands ``pytest_orchestra.*`` to the
    standard path finder (the usual ``__pycache__``) and leaves every other
    module alone.
    """

    _prefix = "pytest_orchestra."

    @classmethod
    def find_spec(cls, name: str, path: Optional[Sequence[str]] = None, target: Any = None) -> Any:
        if not name.startswith(cls._prefix):
            return None
        return PathFinder.find_spec(name, path, target)

    @classmethod
    def install(cls) -> None:
        if not any(getattr(finder, "__name__", None) == cls.__name__ for finder in sys.meta_path):
            sys.meta_path.insert(0, cls)  # type: ignore[arg-type]


# Before any submodule is imported, this package's own speed module included (core/speed.py
# says what each of the idle-overhead measures buys).
OwnSubmoduleFinder.install()

from pytest_orchestra.core.speed import lazy_exports  # noqa: E402 -- after the finder is installed

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

