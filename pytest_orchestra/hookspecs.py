"""Hook specifications that pytest-orchestra adds to pytest.

They are added with ``pytest_addhooks``, so any plugin or ``conftest.py`` can
implement them. Each docstring says who calls the hook, when, and what a
return value means. Hooks marked ``firstresult`` stop at the first
implementation that returns something other than ``None``.

Hooks called "on the controller" run in the process that writes records and
reports: the only process without xdist, the controller with ``-n``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Mapping, Optional, Sequence

import pytest

if TYPE_CHECKING:
    from pytest_orchestra.core.records import (
        GateCheck,
        RecordListener,
        ReportSection,
        RunRecord,
        RunResult,
        TestRecord,
    )
    from pytest_orchestra.workflow import GatesSpec, Workflow


@pytest.hookspec(firstresult=True)
def pytest_orchestra_workflow(
    config: pytest.Config, workflow: "Workflow"
) -> Optional["Workflow | Mapping[str, Any]"]:
    """Define or replace the workflow from Python instead of (or on top of) a file.

    Called once per process (controller and every xdist worker) during
    ``pytest_configure``, after the workflow file (if any) was loaded and
    validated. ``workflow`` is that file's workflow, or an empty one.

    Return a :class:`~pytest_orchestra.workflow.Workflow`, or a plain mapping
    with the same shape as ``orchestra.yaml`` (it is validated the same way;
    errors name ``pytest_orchestra_workflow``). Return ``None`` to keep
    ``workflow``. The first non-``None`` result wins.
    """


def pytest_orchestra_run_started(config: pytest.Config, run: "RunRecord") -> None:
    """A run record was opened.

    Called on the controller from ``pytest_sessionstart`` when records are on,
    after the run was written to the history database. ``run`` carries the run
    id, commit, branch and trigger. The return value is ignored.
    """


def pytest_orchestra_record_listeners(config: pytest.Config) -> "Optional[Sequence[RecordListener]]":
    """Declare listeners the hub tells of the records they want.

    Called once on the controller at session start. Return
    :class:`~pytest_orchestra.core.records.RecordListener` objects: each says
    which records it wants (``wants(record)``, and ``wants_passing`` for plain
    passes) and is called with them (``recorded(record, reports)``) as each
    record completes, before it is stored and before
    ``pytest_orchestra_test_recorded``. The plugin's own capabilities (triage,
    ordering) listen this way, so a passing test costs no call. All
    implementations' results are used.
    """


def pytest_orchestra_test_recorded(
    config: pytest.Config, record: "TestRecord", reports: Sequence[pytest.TestReport]
) -> None:
    """One test's record is complete, before it is stored.

    Called on the controller once per test item (and once per collection error,
    with its ``CollectReport``), after its last phase was reported and after
    the record listeners (so ``record.category`` is set). ``reports`` are that
    item's phase reports as the controller received them (serialized and
    rebuilt under xdist, so no live exception objects; attempts replaced by a
    retry have ``outcome == "rerun"``). Implementations may fill fields of
    ``record`` in place (``category``, ``flaky``, ``quarantined``...). Every
    record is passed when some plugin implements this hook. The return value
    is ignored.
    """


def pytest_orchestra_gate_checks(
    config: pytest.Config, result: "RunResult", gates: "GatesSpec"
) -> Optional[Sequence["GateCheck"]]:
    """Add checks to the quality gate.

    Called on the controller at the end of the session when a gate is on,
    after the built-in rules were evaluated. Return a sequence of
    :class:`~pytest_orchestra.core.records.GateCheck`; all implementations'
    results are added to the verdict, and any failed check fails the gate.
    """


def pytest_orchestra_run_finished(config: pytest.Config, result: "RunResult") -> None:
    """The run is over and its result is about to be reported.

    Called on the controller in ``pytest_sessionfinish``, after the gate was
    evaluated and before ``summary.json``, ``report.md`` and ``events.jsonl``
    are written. Implementations may add entries to ``result.sections`` (they
    appear in ``summary.json`` under their own key). The return value is
    ignored.
    """


def pytest_orchestra_report_sections(
    config: pytest.Config, result: "RunResult"
) -> "Optional[Sequence[ReportSection]]":
    """Contribute sections (and files) to the run's report.

    Called on the controller at the end of the session, after
    ``pytest_orchestra_run_finished`` and before the reports are written.
    Return :class:`~pytest_orchestra.core.records.ReportSection` objects: each
    one's ``data`` goes to summary.json under its ``key``, its ``markdown``
    lines into report.md at its ``order``, its ``files`` into the report
    folder, all redacted. The report writers import no capability: this is
    how a capability's findings reach the report. All implementations'
    results are used.
    """


def pytest_orchestra_reports_written(
    config: pytest.Config, result: "RunResult", report_dir: "Any"
) -> None:
    """The run's reports are on disk in ``report_dir`` (a ``pathlib.Path``).

    Called on the controller at the end of ``pytest_sessionfinish``, when
    records are on. Sinks that ship reports elsewhere hook in here. The return
    value is ignored.
    """


@pytest.hookspec(firstresult=True)
def pytest_orchestra_classify(failure: "Any") -> "Optional[Any]":
    """Classify one failure before the built-in rules do.

    Called wherever a failure is classified: on the controller for every
    failed or errored test and collection error, and where the test runs when
    retries are on (to decide whether to retry). ``failure`` is a
    :class:`pytest_orchestra.triage.failure.Failure` (plain data, identical
    with and without xdist). Return a
    :class:`pytest_orchestra.triage.classifier.Decision` to decide, or
    ``None`` to let the workflow's rules, the built-in rules and the model
    decide. The first non-``None`` result wins.
    """


def pytest_orchestra_route(failure: "Any", sinks: "List[str]") -> "Optional[Sequence[Any]]":
    """Add destinations for one classified failure.

    Called on the controller at the end of the run for every failing test,
    after ``triage.routes`` chose ``sinks`` (names of the workflow's sinks,
    which implementations may extend in place). Return sink objects (with
    ``name`` and ``deliver(failures, run) -> DeliveryResult``) to deliver this
    failure to as well; all implementations' results are used.
    """


def pytest_orchestra_environment_providers(config: pytest.Config) -> "Optional[Sequence[Any]]":
    """Add environment providers (``environments.<name>.provider``).

    Called once per process that runs tests (and on the controller, to check
    the workflow) during ``pytest_configure``, when the workflow declares
    environments. Return a sequence of provider objects, each with ``name``,
    ``provision(spec, context) -> Environment``, ``check(env)`` and
    ``teardown(env)`` (see :mod:`pytest_orchestra.environments`); all
    implementations' results are used. A returned name replaces a built-in
    provider of that name; two plugins returning one name is a usage error.
    """
