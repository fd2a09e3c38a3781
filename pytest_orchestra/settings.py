"""The plugin's settings for one session, parsed once from options, ini and workflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Tuple

import pytest

from pytest_orchestra.core.plainclass import plainclass
from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.history.config import HistorySettings
from pytest_orchestra.workflow import GatesSpec, Workflow, WorkflowError, load_workflow

#: Markers whose presence on a test is recorded when no gate names others.
DEFAULT_TRACKED_MARKERS = ("critical",)


@plainclass(frozen=True)
class OrchestraSettings:
    rootdir: Path
    workflow: Workflow
    #: Whether history and reports are written (ini ``orchestra_records`` and ``reports.enabled``).
    records: bool
    #: The folder holding ``history.db`` and ``reports/``.
    base_dir: Path
    #: ``--orchestra-report-dir``: write this run's reports exactly there.
    report_dir: Optional[Path]
    #: The gate to evaluate, or None when no gate was asked for.
    gates: Optional[GatesSpec]
    #: Masks the session's secrets in everything written (reports, history, sinks).
    redactor: Redactor
    #: Where run history is kept (the local file, or a shared database) and this run's group.
    history: HistorySettings
    #: Change-based selection asked for: None (off), "" (against the map) or a git ref
    #: (``--orchestra-changed``, or the chosen plan's ``changed``).
    changed: Optional[str] = None
    #: What the session asks of pytest's own options (a plan's ``-m``/``-k`` where the command line
    #: gave none), as (option attribute, value); the entry point applies them, once.
    pytest_options: Tuple[Tuple[str, Any], ...] = ()

    @property
    def history_path(self) -> Path:
        return self.base_dir / "history.db"

    @property
    def reports_root(self) -> Path:
        return self.base_dir / "reports"

    @property
    def output_dirs(self) -> tuple[Path, ...]:
        """Where this plugin writes inside the tree: never part of the code state."""
        return (self.base_dir,) + ((self.report_dir,) if self.report_dir else ())

    @property
    def tracked_markers(self) -> tuple[str, ...]:
        if self.gates is not None:
            return tuple(self.gates.critical_markers)
        return DEFAULT_TRACKED_MARKERS


def load_settings(config: pytest.Config) -> OrchestraSettings:
    """Read everything once; bad input raises an ``OrchestraError`` (``WorkflowError``) naming it."""
    rootdir = config.rootpath
    explicit = config.getoption("orchestra_workflow")
    if explicit is not None:
        explicit = Path(config.invocation_params.dir, explicit)
    workflow = load_workflow(rootdir, explicit)
    replaced = config.hook.pytest_orchestra_workflow(config=config, workflow=workflow)
    if replaced is not None:
        workflow = _as_workflow(replaced)
    gates = gates_in_force(config, workflow.gates)
    records = bool(config.getini("orchestra_records")) and workflow.reports.enabled
    if config.getoption("collectonly") or config.getoption("orchestra_shard_plan"):
        records = False
    report_dir = config.getoption("orchestra_report_dir")
    redactor = Redactor.from_environ()
    base_dir = rootdir / workflow.reports.dir
    from pytest_orchestra.history.options import session_history_settings

    return OrchestraSettings(
        rootdir=rootdir,
        workflow=workflow,
        records=records,
        base_dir=base_dir,
        report_dir=Path(config.invocation_params.dir, report_dir) if report_dir else None,
        gates=gates,
        redactor=redactor,
        history=session_history_settings(config, workflow, base_dir, redactor),
        changed=config.getoption("orchestra_changed", None),
    )


def gates_in_force(config: pytest.Config, gates: Optional[GatesSpec]) -> Optional[GatesSpec]:
    """``gates`` with ``--orchestra-gate`` laid over them, when it was given."""
    gate_option = config.getoption("orchestra_gate")
    return GatesSpec.from_overrides(gate_option, gates) if gate_option is not None else gates


def _as_workflow(value: Any) -> Workflow:
    if isinstance(value, Workflow):
        return value
    if isinstance(value, Mapping):
        return Workflow.from_dict(value, source="pytest_orchestra_workflow")
    raise WorkflowError(
        "pytest_orchestra_workflow",
        "",
        f"expected a Workflow or a mapping, got {type(value).__name__}",
    )
