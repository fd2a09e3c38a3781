"""Reruns of a past run's failures from history.db: which run, which tests, before and after."""

from __future__ import annotations

from typing import List

import pytest

from tests.conftest import history_rows, latest_summary

WORKFLOW = """
apps:
  billing: {paths: ["test_billing.py"]}
  auth: {paths: ["test_auth.py"]}
matrix:
  dimensions:
    role: [Admin, Guest]
plans:
  nightly: {retries: {max: 0}}
  admins: {matrix: {role: Admin}}
"""

BILLING = """
import os, pytest

@pytest.mark.matrix("role")
def test_refund(orchestra_context):
    assert f"refund-{orchestra_context.role}" not in os.environ.get("BROKEN", ""), "refund refused"

def test_invoice():
    assert "invoice" not in os.environ.get("BROKEN", ""), "invoice total is off"
"""

AUTH = """
import os

def test_login():
    if "login" in os.environ.get("BROKEN", ""):
        raise ConnectionRefusedError("auth service down")
"""


@pytest.fixture
def shop(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("BROKEN", raising=False)
    pytester.makefile(".yaml", orchestra=WORKFLOW)
    pytester.makepyfile(test_billing=BILLING, test_auth=AUTH)
    return pytester


def _run_ids(pytester: pytest.Pytester) -> List[str]:
    return [row["run_id"] for row in history_rows(pytester.path, "runs", "ORDER BY started, rowid")]


def _broken_run(shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, broken: str, *args: str) -> str:
    monkeypatch.setenv("BROKEN", broken)
    shop.runpytest(*args)
    return _run_ids(shop)[-1]


def test_rerun_of_the_last_run_runs_its_failures_in_the_same_cells(shop: pytest.Pytester,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    first = _broken_run(shop, monkeypatch, "refund-Guest,login")
    monkeypatch.setenv("BROKEN", "login")  # the refund is fixed, the login is not
    result = shop.runpytest("--orchestra-rerun", "-v")
    result.assert_outcomes(passed=1, failed=1, deselected=2)
    result.stdout.fnmatch_lines([
        f"orchestra: rerun of run {first}: 2 failed tests",
        "test_billing.py::test_refund[[]Guest] PASSED*",
        f"orchestra: rerun of run {first}: 1 now pass, 1 still fail",
    ])
    summary = latest_summary(shop.path)
    assert summary["run"]["rerun_of"] == first and summary["run"]["plan"] is None
    rerun = summary["rerun"]
    assert rerun["chain"] == [first] and rerun["vanished"] == [] and rerun["requested"] == 2
    assert [(t["nodeid"], t["before"], t["after"]) for t in rerun["tests"]] == [
        ("test_auth.py::test_login", "failed", "failed"),
        ("test_billing.py::test_refund[Guest]", "failed", "passed"),
    ]
    report = (shop.path / ".orchestra" / "reports" / "latest" / "report.md").read_text()
    assert f"· rerun of `{first}`" in report and f"### Rerun of `{first}`" in report
    assert f"| test | run `{first}` | this run |" in report
    assert "| `test_billing.py::test_refund[Guest]` | ❌ failed | ✅ passed |" in report
    assert history_rows(shop.path, "runs", f"WHERE run_id != '{first}'")[0]["rerun_of"] == first


def test_reruns_chain_through_rerun_of(shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _broken_run(shop, monkeypatch, "invoice,login")
    second = _broken_run(shop, monkeypatch, "invoice,login", "--orchestra-rerun")
    monkeypatch.setenv("BROKEN", "login")
    result = shop.runpytest("--orchestra-rerun")
    result.assert_outcomes(passed=1, failed=1, deselected=2)
    rerun = latest_summary(shop.path)["rerun"]
    assert rerun["of"] == second and rerun["chain"] == [first, second]
    assert rerun["tests"][0]["history"] == [{"run": first, "outcome": "failed"}, {"run": second, "outcome": "failed"}]
    report = (shop.path / ".orchestra" / "reports" / "latest" / "report.md").read_text()
    assert f"Rerun chain: `{first}` → `{second}` → this run." in report
    assert "| `test_billing.py::test_invoice` | ❌ failed | ❌ failed | ✅ passed |" in report


def test_explicit_run_filter_and_same_plan(shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _broken_run(shop, monkeypatch, "refund-Guest,refund-Admin,invoice,login", "--orchestra-plan", "nightly")
    _broken_run(shop, monkeypatch, "")  # a later, green run
    result = shop.runpytest(f"--orchestra-rerun={first[:19]}", "--orchestra-rerun-filter", "app=billing,role=Guest|CFO")
    result.assert_outcomes(passed=1, deselected=3)
    result.stdout.fnmatch_lines([
        "orchestra: plan nightly (--orchestra-rerun (the plan of run *))",
        f"orchestra: rerun of run {first}: 1 failed tests, filter 'app=billing,role=Guest|CFO'",
    ])
    summary = latest_summary(shop.path)
    assert summary["run"]["plan"] == "nightly" and summary["rerun"]["filter"] == "app=billing,role=Guest|CFO"
    # --orchestra-plan chooses another plan for the rerun
    result = shop.runpytest(f"--orchestra-rerun={first}", "--orchestra-plan", "admins",
                            "--orchestra-rerun-filter", "category=infrastructure")
    result.assert_outcomes(passed=1, deselected=3)
    summary = latest_summary(shop.path)
    assert summary["run"]["plan"] == "admins" and [t["nodeid"] for t in summary["rerun"]["tests"]] == [
        "test_auth.py::test_login"
    ]


def test_unknown_run_and_bad_filter_are_usage_errors(shop: pytest.Pytester) -> None:
    result = shop.runpytest("--orchestra-rerun")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --orchestra-rerun: there is no run history (.orchestra/history.db does not exist)"])
    shop.runpytest()
    (only,) = _run_ids(shop)
    result = shop.runpytest("--orchestra-rerun=20250101T000000Z-000000")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        f"ERROR: --orchestra-rerun: run 20250101T000000Z-000000 is not in .orchestra/history.db (last runs: {only})"
    ])
    result = shop.runpytest("--orchestra-rerun", "--orchestra-rerun-filter", "region=eu")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --orchestra-rerun-filter: unknown key 'region' (keys: category, app, outcome,"
                                 " nodeid, or a matrix dimension (role))"])
    result = shop.runpytest("--orchestra-rerun-filter", "app=billing")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --orchestra-rerun-filter filters --orchestra-rerun: give both"])
    assert _run_ids(shop) == [only]  # none of these runs was recorded


def test_no_failures_means_nothing_to_rerun(shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    green = _broken_run(shop, monkeypatch, "")
    result = shop.runpytest("--orchestra-rerun")
    assert result.ret == 0
    result.stderr.fnmatch_lines([f"*orchestra: --orchestra-rerun: run {green} had no failed tests: nothing to rerun"])
    red = _broken_run(shop, monkeypatch, "login")
    result = shop.runpytest("--orchestra-rerun", "--orchestra-rerun-filter", "app=billing")
    assert result.ret == 0
    result.stderr.fnmatch_lines([f"*none of the 1 failed tests of run {red} matches --orchestra-rerun-filter"
                                 " 'app=billing': nothing to rerun"])
    assert _run_ids(shop) == [green, red]  # a rerun with nothing to do leaves no run behind


def test_vanished_tests_are_named_and_the_rest_run(shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _broken_run(shop, monkeypatch, "invoice,login")
    shop.makepyfile(test_auth="def test_signin():\n    pass\n")  # test_login was renamed
    monkeypatch.delenv("BROKEN")
    result = shop.runpytest("--orchestra-rerun")
    result.assert_outcomes(passed=1, deselected=3)
    result.stdout.fnmatch_lines([
        f"orchestra: --orchestra-rerun: 1 of 2 failed tests of run {first} are not collected (removed, renamed, or"
        " outside the paths given); the other 1 run: test_auth.py::test_login",
    ])
    assert latest_summary(shop.path)["rerun"]["vanished"] == ["test_auth.py::test_login"]
    shop.makepyfile(test_billing="def test_other():\n    pass\n")
    rerun_of_rerun = _run_ids(shop)[-1]
    result = shop.runpytest(f"--orchestra-rerun={first}")
    assert result.ret == 0  # every failed test is gone: nothing left to do is no error
    result.stdout.fnmatch_lines(["*2 of 2 failed tests of run * are not collected*; nothing else to run: *"])
    assert rerun_of_rerun != _run_ids(shop)[-1]


def test_collection_errors_are_rerun_by_file(shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    shop.makepyfile(test_auth="def test_login(:\n    pass\n")
    first = _broken_run(shop, monkeypatch, "")
    shop.makepyfile(test_auth=AUTH)
    result = shop.runpytest("--orchestra-rerun")
    result.assert_outcomes(passed=1, deselected=3)
    assert latest_summary(shop.path)["rerun"]["of"] == first


def test_rerun_under_xdist(shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _broken_run(shop, monkeypatch, "refund-Admin,refund-Guest,login", "--orchestra-plan", "nightly")
    shop.makepyfile(test_auth="def test_signin():\n    pass\n")
    monkeypatch.setenv("BROKEN", "refund-Admin")
    result = shop.runpytest_subprocess("-n", "2", "--orchestra-rerun", timeout=120)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "orchestra: plan nightly (--orchestra-rerun (the plan of run *))",
        f"orchestra: --orchestra-rerun: 1 of 3 failed tests of run {first} are not collected*: test_auth.py::test_login",
        f"orchestra: rerun of run {first}: 1 now pass, 1 still fail",
    ])
    summary = latest_summary(shop.path)
    assert summary["run"]["rerun_of"] == first and summary["run"]["plan"] == "nightly"
    assert summary["rerun"]["vanished"] == ["test_auth.py::test_login"]
    assert sorted((t["nodeid"], t["after"]) for t in summary["rerun"]["tests"]) == [
        ("test_billing.py::test_refund[Admin]", "failed"), ("test_billing.py::test_refund[Guest]", "passed"),
    ]
