"""Foreign runners end to end: real node --test, prove and a nested pytest, through pytester."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest

from tests.conftest import history_rows, latest_summary

NODE = shutil.which("node")
PROVE = shutil.which("prove")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")
needs_prove = pytest.mark.skipif(PROVE is None, reason="prove is not installed")

NODE_TESTS = """
const test = require('node:test');
const assert = require('node:assert');
test('adds', () => { assert.strictEqual(1 + 1, 2); });
test('subtracts', () => { assert.strictEqual(3 - 1, 1); });
test('skipped one', { skip: 'not today' }, () => {});
test.describe('cart', () => {
  test.it('totals', () => {});
  test.it('reads role', () => { assert.ok(process.env.ORCHESTRA_ROLE !== 'Guest', 'guests cannot pay'); });
});
"""

NESTED = """
import os, pytest

def test_ok():
    print("hello from nested")

def test_bad():
    assert 1 + 1 == 3, "math is broken"

@pytest.mark.skip(reason="not on this machine")
def test_skip():
    pass

def test_sees_cell():
    assert os.environ.get("ORCHESTRA_EDITION") in (None, "lite", "pro")
"""

PERL_TEST = """use strict; use warnings; use Test::More tests => 3;
ok(1, 'adds');
is(3 - 1, 1, 'subtracts');
SKIP: { skip "no network", 1; ok(1, 'fetches'); }
"""


def workflow(pytester: pytest.Pytester, text: str) -> None:
    pytester.makefile(".yaml", orchestra=textwrap.dedent(text))


def nested_suite(pytester: pytest.Pytester, folder: str = "legacy") -> None:
    path = pytester.path / folder
    path.mkdir()
    # Named so the outer run does not collect it; the nested run is told its own rootdir and file pattern.
    (path / "check_legacy.py").write_text(NESTED)


NESTED_RUNNER = """
runners:
  legacy:
    command: ["{python}", -m, pytest, -p, no:orchestra, -p, no:cacheprovider, "--rootdir={cwd}", -o, "python_files=check_*.py", -q, "--junitxml={report}"]
    cwd: legacy
    format: junit
    app: legacy
"""


def records(pytester: pytest.Pytester) -> dict:
    return {row["nodeid"]: row for row in history_rows(pytester.path)}


@needs_node
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_node_suite_runs_once_per_cell_and_expands_into_items(pytester: pytest.Pytester, workers: list) -> None:
    (pytester.path / "web").mkdir()
    (pytester.path / "web" / "math.test.js").write_text(NODE_TESTS + "\nrequire('fs').appendFileSync(process.env.RUNS_LOG, process.env.ORCHESTRA_CELL + '\\n');\n")
    workflow(pytester, """
        matrix:
          dimensions:
            role: [Admin, Guest]
        runners:
          web-e2e:
            command: [node, --test, --test-reporter=junit, "--test-reporter-destination={report}"]
            cwd: web
            format: junit
            app: web
            matrix: [role]
            env: {RUNS_LOG: "{rootdir}/runs.log"}
            markers: [critical]
    """)
    first = pytester.runpytest_subprocess("-p", "no:randomly", *workers)
    # Nothing known yet: one item per cell stands for the whole suite.
    first.stdout.fnmatch_lines(["web-e2e: suite[[]Guest[]]: 2 of 5 cases of web-e2e failed: subtracts, cart.reads role"])
    first.assert_outcomes(passed=0, failed=2)
    second = pytester.runpytest_subprocess("-p", "no:randomly", "-rA", *workers)
    second.assert_outcomes(passed=5, failed=3, skipped=2)
    second.stdout.fnmatch_lines([
        "web-e2e: subtracts[[]Admin[]]: Expected values to be strictly equal:2 !== 1",
        "web-e2e: cart.reads role[[]Guest[]]: guests cannot pay",
    ])
    runs = (pytester.path / "runs.log").read_text().split()
    assert sorted(runs) == ["role=Admin", "role=Admin", "role=Guest", "role=Guest"]  # once per cell per session
    rows = records(pytester)
    row = rows["orchestra.yaml::web-e2e::cart.reads role[Guest]"]
    assert (row["outcome"], row["app"], json.loads(row["matrix"])) == ("failed", "web", {"role": "Guest"})
    assert rows["orchestra.yaml::web-e2e::skipped one[Admin]"]["message"] == "not today"
    summary = latest_summary(pytester.path)
    assert sorted((run["runner"], run["cell"]) for run in summary["runners"]) == [("web-e2e", "Admin"), ("web-e2e", "Guest")]
    report_dir = pytester.path / ".orchestra" / "reports" / "latest" / "runners"
    assert (report_dir / "web-e2e[Guest]" / "report.xml").is_file()


@needs_node
def test_k_selection_deselect_and_markers_apply(pytester: pytest.Pytester) -> None:
    (pytester.path / "web").mkdir()
    (pytester.path / "web" / "math.test.js").write_text(NODE_TESTS)
    workflow(pytester, """
        runners:
          web-e2e: {command: [node, --test, --test-reporter=junit, "--test-reporter-destination={report}"], cwd: web, format: junit}
    """)
    pytester.runpytest()  # learns the cases
    result = pytester.runpytest("-k", "cart", "--deselect", "orchestra.yaml::web-e2e::cart.totals", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*orchestra.yaml::web-e2e::cart.reads role PASSED*"])
    assert pytester.runpytest("-m", "runner", "--co", "-q").stdout.str().count("orchestra.yaml::web-e2e::") == 5
    explicit = pytester.runpytest("orchestra.yaml::web-e2e::adds", "-v")
    explicit.assert_outcomes(passed=1)


def test_nested_pytest_with_listing_matrix_values_and_a_path_argument(pytester: pytest.Pytester) -> None:
    nested_suite(pytester)
    pytester.makepyfile(test_outer="def test_outer():\n    pass\n")
    workflow(pytester, NESTED_RUNNER + """\
    list: ["{python}", -m, pytest, -p, no:orchestra, -p, no:cacheprovider, "--rootdir={cwd}", -o, "python_files=check_*.py", --collect-only, -q]
    matrix: {edition: [lite, pro]}
""")
    result = pytester.runpytest("-rA", "legacy")  # a path holding the runner's cwd collects it
    result.assert_outcomes(passed=4, failed=2, skipped=2)
    result.stdout.fnmatch_lines(["legacy: check_legacy.test_bad[[]pro[]]: AssertionError: math is broken"])
    rows = records(pytester)
    assert "test_outer.py::test_outer" not in rows
    assert rows["orchestra.yaml::legacy::check_legacy.test_bad[lite]"]["app"] == "legacy"
    assert json.loads(rows["orchestra.yaml::legacy::check_legacy.test_ok[pro]"]["matrix"]) == {"edition": "pro"}
    # Only test files named: the runner is not collected.
    pytester.runpytest("test_outer.py").assert_outcomes(passed=1)


def test_listing_failure_falls_back_with_a_warning(pytester: pytest.Pytester) -> None:
    nested_suite(pytester)
    workflow(pytester, NESTED_RUNNER + '    list: ["{python}", -c, "import sys; sys.exit(3)"]\n')
    result = pytester.runpytest("-W", "default")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*runner legacy: the listing command exited with status 3*using its last results instead*"])


@needs_prove
def test_prove_tap_items_and_a_failure_message(pytester: pytest.Pytester) -> None:
    (pytester.path / "perl" / "t").mkdir(parents=True)
    (pytester.path / "perl" / "t" / "basic.t").write_text(PERL_TEST)
    workflow(pytester, """
        runners:
          perl: {command: [prove, -v, --merge, -r, t/], cwd: perl, format: tap}
    """)
    pytester.runpytest()
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["perl: t/basic.t: subtracts: got: '2'; expected: '1'"])
    assert records(pytester)["orchestra.yaml::perl::t/basic.t: test 3"]["message"] == "no network"


def test_a_missing_runner_errors_with_category_environment_and_the_session_goes_on(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    workflow(pytester, """
        runners:
          ghost: {command: [no-such-tool-orchestra, run], format: junit}
    """)
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "ghost: suite: runner ghost: 'no-such-tool-orchestra' is not installed (not found on PATH)",
        "orchestra: runner ghost: environment: runner ghost: 'no-such-tool-orchestra' is not installed (not found on PATH)",
    ])
    row = records(pytester)["orchestra.yaml::ghost::suite"]
    assert (row["outcome"], row["category"]) == ("error", "environment")


def test_no_report_malformed_report_and_a_missing_case(pytester: pytest.Pytester) -> None:
    script = pytester.path / "tool.py"
    script.write_text(textwrap.dedent("""
        import sys
        mode, report = sys.argv[1], sys.argv[2]
        if mode == "malformed":
            open(report, "w").write("<testsuites><testcase name='a'>")
        elif mode == "good":
            open(report, "w").write("<testsuites><testcase classname='t' name='a'/></testsuites>")
        print("tool says bye", file=sys.stderr)
        sys.exit(2)
    """))
    workflow(pytester, """
        runners:
          silent: {command: ["{python}", tool.py, quiet, "{report}"], format: junit}
          broken: {command: ["{python}", tool.py, malformed, "{report}"], format: junit}
          good: {command: ["{python}", tool.py, good, "{report}"], format: junit}
    """)
    cache = pytester.path / ".orchestra" / "runners"
    cache.mkdir(parents=True)
    (cache / "good.json").write_text(json.dumps({"version": 1, "cells": {"": [{"id": "t.a"}, {"id": "t.gone"}]}}))
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=1, errors=3)
    result.stdout.fnmatch_lines([
        "silent: suite: runner silent: *exited with status 2 without writing a report (report.xml); last output: tool says bye",
        "broken: suite: runner broken: malformed junit report: report.xml is not well-formed XML*",
        "good: t.gone: runner good: case 't.gone' is not in its report (renamed or removed?*",
    ])
    rows = records(pytester)
    assert rows["orchestra.yaml::silent::suite"]["category"] == "environment"
    assert rows["orchestra.yaml::broken::suite"]["category"] == "infrastructure"
    assert rows["orchestra.yaml::good::t.a"]["outcome"] == "passed"
    assert json.loads((cache / "good.json").read_text())["cells"][""] == [{"id": "t.a", "file": None, "line": None}]


def test_a_timeout_is_infrastructure_and_retries_run_the_suite_again(pytester: pytest.Pytester) -> None:
    script = pytester.path / "flaky.py"
    script.write_text(textwrap.dedent("""
        import os, sys, time
        marker = os.path.join(os.environ["STATE"], "ran")
        if not os.path.exists(marker):
            open(marker, "w").close()
            time.sleep(30)
        print("ok 1 - works")
        print("1..1")
    """))
    state = pytester.path / "state"
    state.mkdir()
    workflow(pytester, f"""
        runners:
          slow: {{command: ["{{python}}", flaky.py], format: tap, timeout: 2, env: {{STATE: "{state}"}}}}
    """)
    result = pytester.runpytest("--orchestra-reruns=1", "-rA")
    assert result.parseoutcomes() == {"passed": 1, "rerun": 1}
    row = records(pytester)["orchestra.yaml::slow::suite"]
    assert (row["outcome"], row["attempts"], row["category"]) == ("passed", 2, "flaky")


@needs_node
def test_sharding_splits_the_cases(pytester: pytest.Pytester) -> None:
    (pytester.path / "web").mkdir()
    (pytester.path / "web" / "math.test.js").write_text(NODE_TESTS)
    workflow(pytester, """
        runners:
          web-e2e: {command: [node, --test, --test-reporter=junit, "--test-reporter-destination={report}"], cwd: web, format: junit}
    """)
    pytester.runpytest()
    names = ("adds", "subtracts", "skipped one", "cart.totals", "cart.reads role")
    shards = []
    for shard in ("1/2", "2/2"):  # planned from the same history, as parallel CI machines do
        listed = pytester.runpytest(f"--orchestra-shard={shard}", "--co", "-q").outlines
        shards.append([line for line in listed if line.startswith("orchestra.yaml::")])
    assert all(shards) and not set(shards[0]) & set(shards[1])
    assert sorted(shards[0] + shards[1]) == sorted("orchestra.yaml::web-e2e::" + name for name in names)
    pytester.runpytest("--orchestra-shard=1/2")
    last = max(history_rows(pytester.path, "runs"), key=lambda run: run["started"])["run_id"]
    assert sorted(row["nodeid"] for row in history_rows(pytester.path, where=f"WHERE run_id = '{last}'")) == sorted(shards[0])


def test_unknown_environment_and_dimension_are_usage_errors(pytester: pytest.Pytester) -> None:
    workflow(pytester, """
        runners:
          x: {command: [x], format: tap, environments: [shopdb]}
    """)
    result = pytester.runpytest()
    result.stderr.fnmatch_lines(["*runners.x.environments: unknown environment 'shopdb' (declared: none)*"])
    workflow(pytester, """
        runners:
          x: {command: [x], format: tap, matrix: [role]}
    """)
    result = pytester.runpytest()
    result.stderr.fnmatch_lines(["*runners.x.matrix: dimension 'role' has no values*"])


def test_environment_variables_reach_the_runner(pytester: pytest.Pytester) -> None:
    (pytester.path / "env_check.py").write_text(textwrap.dedent("""
        import os
        port = os.environ.get("WORK_PORT", "")
        print("ok 1 - port" if port.isdigit() else "not ok 1 - port # missing")
        print("ok 2 - shop dir" if os.path.isdir(os.environ.get("SHOP_DIR", "/nope")) else "not ok 2 - shop dir")
        print("1..2")
    """))
    workflow(pytester, """
        environments:
          workdir: {provider: local, env: {SHOP_DIR: "{path}", WORK_PORT: "{port}"}}
        runners:
          checks: {command: ["{python}", env_check.py], format: tap, environments: [workdir]}
    """)
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.runpytest().assert_outcomes(passed=2)


FEATURE = """\
@app:billing
Feature: Refunds

  @critical @role:Guest @role:Admin @edition:lite
  Scenario: Refund an order
    Given an order
    Then it can be refunded

  @security @jira:SHOP-12
  Scenario: Refund twice
    Given an order
    Then it can be refunded
"""


def test_gherkin_tags_map_onto_app_matrix_and_markers(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_bdd")
    workflow(pytester, """
        matrix:
          dimensions:
            role: [Admin, CFO, Guest]
            edition: [lite, pro]
          exclude:
            - {role: Guest, edition: lite, reason: "guests have no lite seat"}
    """)
    pytester.makefile(".feature", refunds=FEATURE)
    pytester.makepyfile(test_refunds="""
        import pytest
        from pytest_bdd import given, scenarios, then

        scenarios("refunds.feature")

        @given("an order")
        def order():
            return {}

        @then("it can be refunded")
        def refunded(request):
            assert request.node.get_closest_marker("app").args == ("billing",)
    """)
    result = pytester.runpytest("-v", "-m", "critical or security", "-W", "ignore::pytest.PytestUnknownMarkWarning")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines([
        "*test_refund_an_order[[]Admin-lite[]] PASSED*",
        "*test_refund_an_order[[]Guest-lite[]] SKIPPED*",
        "*test_refund_twice PASSED*",
    ])
    rows = records(pytester)
    row = rows["test_refunds.py::test_refund_an_order[Admin-lite]"]
    assert (row["app"], json.loads(row["matrix"])) == ("billing", {"role": "Admin", "edition": "lite"})
    assert "critical" in row["markers"]
    assert rows["test_refunds.py::test_refund_twice"]["app"] == "billing"


def test_a_cut_short_report_can_never_look_green(pytester: pytest.Pytester) -> None:
    pytester.makefile(".py", cut="print('1..3')\nprint('ok 1 - first')\nprint('ok 2 - second')\n")
    pytester.makefile(".yaml", orchestra="runners:\n  cut: {command: ['{python}', cut.py], format: tap}\n")
    # First run: one item for the whole suite; the stream ended after 2 of 3 planned tests.
    first = pytester.runpytest("-p", "no:cacheprovider", "-rE")
    first.assert_outcomes(errors=1)
    first.stdout.fnmatch_lines(["*cut: its report is incomplete (*planned 3 tests, the stream ended after 2)*"])
    # Later runs know the two cases: both error, with the same reason, category infrastructure.
    second = pytester.runpytest("-p", "no:cacheprovider", "-rE")
    second.assert_outcomes(errors=2)
    errors = history_rows(pytester.path, where="WHERE outcome = 'error'")
    assert sorted(row["category"] for row in errors)[-2:] == ["infrastructure", "infrastructure"]
