"""report.md's plan and rerun sections, and history's last run of a plan."""

from __future__ import annotations

from pathlib import Path

from pytest_orchestra.core.records import RunRecord, RunResult, TestRecord
from pytest_orchestra.history import HistoryStore
from pytest_orchestra.history.store import NullHistoryStore
from pytest_orchestra.plans.markdown import MAX_RERUN_ROWS, plan_sections, report_sections
from pytest_orchestra.reporting.markdown import render_report


def test_plan_section_lists_gaps_and_the_delta() -> None:
    plan = {
        "name": "release",
        "source": "--orchestra-plan",
        "description": "before a release",
        "required": {"matrix": {}, "cells": ["role=Admin", "role=Guest", "role=CFO"], "must_pass": ["t.py::a", "t.py::b"]},
        "covered_cells": ["role=Admin", "role=Guest"],
        "missing_cells": ["role=CFO"],
        "failed_cells": ["role=Guest"],
        "must_pass": {"missing": ["t.py::a"], "failed": [{"nodeid": "t.py::b", "outcome": "error"}]},
        "complete": False,
        "delta": {"previous_run": "r0", "covered_before": 1, "covered_after": 2, "gained": ["role=Guest"],
                  "lost": [], "fixed": [], "broken": [], "must_pass_fixed": [], "must_pass_broken": ["t.py::b"]},
    }
    text = "\n".join(plan_sections({"plan": plan}))
    assert text.startswith("### Plan `release`\n\nbefore a release — chosen by --orchestra-plan.")
    assert "Required coverage **incomplete**: 2 of 3 required cells covered, 1 failing; 2 must-pass tests, 2 not passing." in text
    assert "- ⬜ cell `role=CFO`: no test ran" in text
    assert "- ❌ cell `role=Guest`: a test failed" in text
    assert "- ⬜ must-pass `t.py::a`: did not run" in text
    assert "- ❌ must-pass `t.py::b`: error" in text
    assert ("Since `r0`, the last run of this plan: 1 → 2 cells covered; newly covered: `role=Guest`;"
            " must-pass no longer passing: `t.py::b`.") in text
    assert plan_sections({"plan": {"name": "quick", "source": "x"}}) == ["### Plan `quick`", "", "Chosen by x."]
    assert plan_sections({}) == [] and plan_sections({"plan": None, "rerun": "x"}) == []


def test_rerun_section_shows_each_test_across_the_chain() -> None:
    rerun = {
        "of": "r2",
        "chain": ["r1", "r2"],
        "filter": "app=billing",
        "vanished": ["t.py::gone"],
        "fixed": 1,
        "still_failing": 0,
        "tests": [{"nodeid": "t.py::a|b", "before": "failed", "after": "passed",
                   "history": [{"run": "r1", "outcome": "error"}, {"run": "r2", "outcome": "failed"}]}],
    }
    lines = plan_sections({"rerun": rerun})
    text = "\n".join(lines)
    assert "1 failed test of that run ran again (filter `app=billing`): 1 now pass, 0 still fail." in text
    assert "1 no longer collected: `t.py::gone`." in text
    assert "Rerun chain: `r1` → `r2` → this run." in text
    assert "| `t.py::a\\|b` | ❌ error | ❌ failed | ✅ passed |" in text
    many = dict(rerun, chain=["r2"], tests=[dict(rerun["tests"][0], after=None)] * (MAX_RERUN_ROWS + 2))
    text = "\n".join(plan_sections({"rerun": many}))
    assert "| — |" in text.replace("✅ passed", "") or "— |" in text
    assert "… and 2 more (see summary.json)" in text
    assert plan_sections({"rerun": dict(rerun, tests=[])})[-1].startswith("Rerun chain")


def test_report_headline_names_plan_and_rerun() -> None:
    run = RunRecord(run_id="r3", started=0.0, ended=1.0, plan="nightly", rerun_of="r2")
    result = RunResult(run=run, tests=[TestRecord("t.py::a", "passed")])
    for section in report_sections({"plan": {"name": "nightly", "source": "s"}}):  # as the plans plugin does
        result.add_section(section)
    text = render_report(result)
    assert "· plan `nightly` · rerun of `r2`" in text and "### Plan `nightly`" in text


def test_last_run_of_a_plan(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "history.db") as store:
        for index, (plan, status) in enumerate(
            [("nightly", "complete"), ("quick", "complete"), ("nightly", "interrupted"), (None, "complete")]
        ):
            record = RunRecord(run_id=f"r{index}", started=float(index), status="running")
            store.begin_run(record)
            # The plan is set once the run has begun (pytest_orchestra_run_started): finish_run stores it.
            record.status, record.plan, record.rerun_of = status, plan, "r0" if index else None
            store.finish_run(record)
        assert store.last_run(branch=None, plan="nightly").run_id == "r0"
        assert store.last_run(branch=None, plan="quick").run_id == "r1"
        assert store.last_run(branch=None, plan="release") is None
        assert store.last_run(branch=None).run_id == "r3"
        assert store.get_run("r2").rerun_of == "r0" and store.get_run("r2").plan == "nightly"
    assert NullHistoryStore().last_run(branch=None, plan="nightly") is None
