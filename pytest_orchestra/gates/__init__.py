"""Quality gates: rules over a run's records, and the exit status of a failed gate."""

from __future__ import annotations

from pytest_orchestra.gates.rules import GATE_FAILED_EXIT_CODE, evaluate_gates

__all__ = ["GATE_FAILED_EXIT_CODE", "evaluate_gates"]
