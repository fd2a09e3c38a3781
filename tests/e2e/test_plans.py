"""Plans from the workflow: chosen by flag or CI event, selection, overrides, required coverage."""

from __future__ import annotations

import json

import pytest

from tests.conftest import history_rows, latest_summary

WORKFLOW = """
apps:
  billing: {paths: ["test_billing.py"]}
  auth: {paths: ["test_auth.py"]}
matrix:
  dimensions:
    role: [Admin, CFO, Guest]
    edition: [lite, pro]
  exclude:
    - {role: Guest, edition: pro, reason: "guests have no pro seat"}
plans:
  on: {pull_request: pre-merge, schedule: nightly}
  pre-merge: {markers: "not slow", apps: [billing], retries: {max: 1, categories: all}, gates: {min_success_rate: 1.0}}
  nightly: {description: "everything, every night", matrix: all}
  admins: {matrix: {role: Admin}}
  release:
    matrix: {role: [Admin, Guest]}
    required:
      matrix: {role: [Admin, CFO, Guest], edition: [lite, pro]}
      must_pass: ["test_billing.py::test_refund", "test_auth.py::test_logout"]
"""

BILLING = """
import os, pytest

@pytest.mark.matrix("role", "edition")
def test_refund(orchestra_context):
    assert f"refund-{orchestra_context.role}" not in os.environ.get("BROKEN", "")

@pytest.mark.slow
def test_month_end():
    pass

def test_flaky(tmp_path_factory):
    marker = tmp_path_factory.getbasetemp() / "flaky-once"  # emptied at each session start
    if "flaky" in os.environ.get("BROKEN", "") and not marker.exists():
        marker.write_text("1")
        raise ConnectionRefusedError("payments down")
"""

AUTH = """
import os

def test_login():
    assert "login" not in os.environ.get("BROKEN", "")
"""


@pytest.fixture
def shop(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for name in ("GITHUB_EVENT_NAME", "CI_PIPELINE_SOURCE", "BUILD_REASON", "BROKEN"):
        monkeypatch.delenv(name, raising=False)
    pytester.makefile(".yaml", orchestra=WORKFLOW)
    pytester.makeini("[pytest]\nmarkers =\n    slow: slow tests\n")
    pytester.makepyfile(test_billing=BILLING, test_auth=AUTH)
    return pytester


def test_plan_by_flag_selects_sets_retries_and_gate_and_is_recorded(shop: pytest.Pytester,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKEN", "flaky")
    result = shop.runpytest("--orchestra-plan", "pre-merge")
    # not slow, billing only: 6 cells (1 excluded, skipped) + test_flaky; auth and month_end deselected
    result.assert_outcomes(passed=6, skipped=1, deselected=2)
    result.stdout.fnmatch_lines(["orchestra: plan pre-merge (--orchestra-plan)", "orchestra: gate passed*"])
    assert result.ret == 0
    summary = latest_summary(shop.path)
    assert summary["run"]["plan"] == "pre-merge"
    assert summary["plan"] == {"name": "pre-merge", "source": "--orchestra-plan", "description": None, "required": None}
    assert [(r["nodeid"], r["attempts"]) for r in summary["retried"]] == [("test_billing.py::test_flaky", 2)]
    assert {c["rule"] for c in summary["gate"]["checks"]} == {"min_success_rate", "critical"}
    report = (shop.path / ".orchestra" / "reports" / "latest" / "report.md").read_text()
    assert "· plan `pre-merge`" in report and "### Plan `pre-merge`" in report
    (run,) = history_rows(shop.path, "runs")
    assert run["plan"] == "pre-merge" and run["rerun_of"] is None


def test_plan_from_the_ci_event(shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "schedule")
    result = shop.runpytest()
    result.stdout.fnmatch_lines(["orchestra: plan nightly (plans.on.schedule, github-actions event schedule)"])
    result.assert_outcomes(passed=8, skipped=1)
    assert latest_summary(shop.path)["plan"]["description"] == "everything, every night"
    monkeypatch.setenv("GITHUB_EVENT_NAME", "release")  # not mapped: no plan
    result = shop.runpytest()
    result.assert_outcomes(passed=8, skipped=1)
    assert "orchestra: plan" not in result.stdout.str() and latest_summary(shop.path)["run"]["plan"] is None
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")  # the flag still wins over the event
    shop.runpytest("--orchestra-plan", "admins").assert_outcomes(passed=5, skipped=0, deselected=4)


def test_command_line_flags_override_the_plan(shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKEN", "flaky,refund-Admin")
    result = shop.runpytest("--orchestra-plan", "pre-merge", "-m", "slow", "--orchestra-reruns", "0",
                            "--orchestra-gate=min_success_rate=0.0")
    # -m slow replaces "not slow"; the apps still apply; no retry; the gate's rate is the command line's
    result.assert_outcomes(passed=1, deselected=8)
    result.stdout.fnmatch_lines(["orchestra: plan pre-merge: -m from the command line replaces the plan's 'not slow'"])
    result = shop.runpytest("--orchestra-plan", "pre-merge", "-k", "flaky", "--orchestra-reruns", "0",
                            "--orchestra-gate=min_success_rate=0.0")
    result.assert_outcomes(failed=1, deselected=8)
    assert result.ret == 1  # the gate passed; the failure keeps pytest's own status
    assert latest_summary(shop.path)["retried"] == []
    assert shop.runpytest("--orchestra-plan", "pre-merge", "-k", "refund").ret == 6  # the plan's rate 1.0


def test_unknown_plan_is_a_usage_error_listing_the_plans(shop: pytest.Pytester) -> None:
    result = shop.runpytest("--orchestra-plan", "nighty")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --orchestra-plan: unknown plan 'nighty'; did you mean 'nightly'? (plans: admins, nightly, pre-merge, release)"]
    )
    assert not (shop.path / ".orchestra" / "history.db").exists()


def test_plan_flag_without_plans_section(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest("--orchestra-plan", "nightly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --orchestra-plan nightly: the workflow declares no plans (add a plans: section)"])


@pytest.mark.parametrize(
    ("plans", "message"),
    [
        ("  nightly: {retries: {max: many}}", "orchestra.yaml: plans.nightly.retries.max: expected an integer >= 0, got 'many'"),
        ("  nightly: {apps: [shipping]}", "orchestra.yaml: plans.nightly.apps[0]: unknown app 'shipping' (apps: auth, billing)"),
        ("  nightly: {matrix: {region: [eu]}}",
         "orchestra.yaml: plans.nightly.matrix.region: unknown matrix dimension 'region' (declared: edition, role)"),
        ("  on: {schedule: nigthly}\n  nightly: {}", "orchestra.yaml: plans.on.schedule: unknown plan 'nigthly' (plans: nightly)"),
        ("  nightly: {required: {must_pass: [test_refund]}}",
         "orchestra.yaml: plans.nightly.required.must_pass[[]0]: expected a test node id like tests/test_x.py::test_name*"),
    ],
)
def test_malformed_plans_are_usage_errors_naming_the_key(pytester: pytest.Pytester, plans: str, message: str) -> None:
    workflow = WORKFLOW.split("plans:")[0] + "plans:\n" + plans + "\n"
    pytester.makefile(".yaml", orchestra=workflow)
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def test_required_coverage_gaps_fail_the_gate_and_the_delta_follows_the_plan(shop: pytest.Pytester,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKEN", "refund-Guest")
    result = shop.runpytest("--orchestra-plan", "release")
    assert result.ret == 6
    result.stdout.fnmatch_lines([
        "orchestra: plan release: 2 of 5 required cells not covered (role=CFO,edition=lite; role=CFO,edition=pro);"
        " 1 failing (role=Guest,edition=lite); must-pass not run: test_auth.py::test_logout;"
        " must-pass failed: test_billing.py::test_refund[[]Guest-lite] (failed)",
        "orchestra:   required_coverage: FAILED (expected every required cell covered and passing, every must-pass"
        " test passed, got 3/5 cells covered, 1 failing, 0/2 must-pass passed): *",
    ])
    plan = latest_summary(shop.path)["plan"]
    assert plan["required"]["cells"] == [
        "role=Admin,edition=lite", "role=Admin,edition=pro", "role=CFO,edition=lite", "role=CFO,edition=pro",
        "role=Guest,edition=lite",
    ]  # Guest-pro is excluded by the workflow
    assert plan["missing_cells"] == ["role=CFO,edition=lite", "role=CFO,edition=pro"]
    assert plan["failed_cells"] == ["role=Guest,edition=lite"]
    assert plan["must_pass"] == {"missing": ["test_auth.py::test_logout"],
                                 "failed": [{"nodeid": "test_billing.py::test_refund[Guest-lite]", "outcome": "failed"}]}
    assert plan["complete"] is False and plan["delta"] is None
    report = (shop.path / ".orchestra" / "reports" / "latest" / "report.md").read_text()
    assert "- ⬜ cell `role=CFO,edition=lite`: no test ran" in report
    assert "- ❌ must-pass `test_billing.py::test_refund[Guest-lite]`: failed" in report

    shop.runpytest("--orchestra-plan", "nightly")  # another plan in between does not count
    monkeypatch.delenv("BROKEN")
    shop.makepyfile(test_auth=AUTH + "\ndef test_logout():\n    pass\n")
    result = shop.runpytest("--orchestra-plan", "release", "--orchestra-gate=critical=false")
    assert result.ret == 6  # the CFO cells are still not covered (the plan runs Admin and Guest only)
    plan = latest_summary(shop.path)["plan"]
    first = history_rows(shop.path, "runs", "WHERE plan = 'release' ORDER BY started")[0]["run_id"]
    assert plan["delta"] == {
        "previous_run": first, "covered_before": 3, "covered_after": 3, "gained": [], "lost": [],
        "fixed": ["role=Guest,edition=lite"], "broken": [],
        "must_pass_fixed": ["test_billing.py::test_refund", "test_auth.py::test_logout"], "must_pass_broken": [],
    }
    report = (shop.path / ".orchestra" / "reports" / "latest" / "report.md").read_text()
    assert f"Since `{first}`, the last run of this plan: 3 → 3 cells covered; passing again: `role=Guest,edition=lite`" in report


def test_required_coverage_can_be_reported_without_failing_the_gate(shop: pytest.Pytester) -> None:
    workflow = WORKFLOW.replace("  release:\n", "  release:\n    gates: {required_coverage: false}\n")
    shop.makefile(".yaml", orchestra=workflow)
    result = shop.runpytest("--orchestra-plan", "release")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["orchestra: plan release: 2 of 5 required cells not covered*"])
    assert "required_coverage:" not in result.stdout.str()
    summary = latest_summary(shop.path)
    assert summary["plan"]["complete"] is False and summary["gate"]["enabled"] is False


def test_plan_under_xdist(shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    result = shop.runpytest_subprocess("-n", "2", timeout=120)
    result.assert_outcomes(passed=6, skipped=1)
    result.stdout.fnmatch_lines(["orchestra: plan pre-merge (plans.on.pull_request, github-actions event pull_request)"])
    summary = latest_summary(shop.path)
    assert summary["run"]["plan"] == "pre-merge" and summary["run"]["workers"] == 2
    assert summary["counts"]["total"] == 7


def test_changed_sets_the_change_based_selection_option(shop: pytest.Pytester) -> None:
    shop.makefile(".yaml", orchestra=WORKFLOW.replace("pre-merge: {", "pre-merge: {changed: true, ").replace(
        "nightly: {", "nightly: {changed: origin/main, "))
    shop.makeconftest(
        """
        import pytest

        @pytest.hookimpl(trylast=True)
        def pytest_configure(config):
            (config.rootpath / "changed.json").write_text(repr(getattr(config.option, "orchestra_changed", "MISSING")))
        """
    )
    result = shop.runpytest("--co", "--orchestra-plan", "pre-merge")
    if (shop.path / "changed.json").read_text() == "'MISSING'":
        pytest.skip("--orchestra-changed (change-based selection) is not available yet")
    assert result.ret == 0
    assert (shop.path / "changed.json").read_text() == "''"
    shop.runpytest("--co", "--orchestra-plan", "nightly")
    assert (shop.path / "changed.json").read_text() == "'origin/main'"
    shop.runpytest("--co", "--orchestra-plan", "nightly", "--orchestra-changed=HEAD~3")
    assert json.loads((shop.path / "changed.json").read_text().replace("'", '"')) == "HEAD~3"
