"""report.md: the text a QA lead pastes into a pull request."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from pytest_orchestra.core.records import GateCheck, GateVerdict, RunRecord, RunResult, TestRecord
from pytest_orchestra.reporting.markdown import render_report

STARTED = 1714564800.0


def make_result(
    tests: List[TestRecord],
    *,
    gate: Optional[GateVerdict] = None,
    dimensions: Optional[List[str]] = None,
    sections: Optional[Dict[str, Any]] = None,
    **run: Any,
) -> RunResult:
    record = RunRecord("20240501T120000Z-abcdef", STARTED, ended=STARTED + 12.34, trigger="pull_request")
    for name, value in run.items():
        setattr(record, name, value)
    result = RunResult(record, tests, gate=gate or GateVerdict(), matrix_dimensions=dimensions or [],
                       sections=dict(sections or {}))
    # Capabilities contribute their sections: selection's, as its plugin would.
    if isinstance(result.sections.get("selection"), dict):
        from pytest_orchestra.selection.report import report_section

        result.add_section(report_section(result.sections["selection"], "{}"))
    return result


def cell_test(outcome: str, **matrix: str) -> TestRecord:
    ids = "-".join(matrix.values())
    return TestRecord(f"tests/test_m.py::test_m[{ids}]", outcome, matrix=matrix)


def section(report: str, heading: str) -> str:
    """The text of one ``###`` section, without its heading."""
    start = report.index(heading + "\n") + len(heading) + 1
    end = report.find("\n### ", start)
    return report[start:end if end >= 0 else None].strip("\n")


def test_headline_counts_duration_and_run_line() -> None:
    tests = (
        [TestRecord(f"t.py::f{i}", "failed", category="product") for i in range(3)]
        + [TestRecord("t.py::e", "error")]
        + [TestRecord(f"t.py::p{i}", "passed") for i in range(120)]
        + [TestRecord(f"t.py::s{i}", "skipped") for i in range(2)]
    )
    report = render_report(make_result(tests, commit="0123456789abcdef", branch="feat/refunds"))
    lines = report.splitlines()
    assert lines[0] == "## ❌ pytest-orchestra: 3 failed, 1 error, 120 passed, 2 skipped in 12.3 s"
    assert lines[2] == (
        "run `20240501T120000Z-abcdef` · branch `feat/refunds` · commit `01234567` · trigger `pull_request`"
    )
    assert "### Quality gate" not in report


def test_green_run_headline_and_empty_sections() -> None:
    report = render_report(make_result([TestRecord("t.py::ok", "passed"), TestRecord("t.py::x", "xfailed")]))
    assert report == (
        "## ✅ pytest-orchestra: 1 passed, 1 xfailed in 12.3 s\n"
        "\n"
        "run `20240501T120000Z-abcdef` · trigger `pull_request`\n"
        "\n"
        "### Retries\n\nnone\n"
        "\n"
        "### Quarantined\n\nnone\n"
    )


def test_empty_unfinished_run() -> None:
    result = make_result([], ended=None)
    assert render_report(result).splitlines()[0] == "## ✅ pytest-orchestra: no tests ran in 0.0 s"


def test_quality_gate_section_and_failed_gate_in_headline() -> None:
    gate = GateVerdict(True, [
        GateCheck("success_rate", False, ">= 95%", "80%"),
        GateCheck("max_duration", True, "<= 600 s", "12 s", detail="fast enough"),
    ])
    report = render_report(make_result([TestRecord("t.py::ok", "passed")], gate=gate))
    assert report.splitlines()[0] == "## ❌ pytest-orchestra: 1 passed in 12.3 s — gate FAILED"
    assert section(report, "### Quality gate") == (
        "**FAILED**\n\n"
        "- ❌ success_rate: FAILED (expected >= 95%, got 80%)\n"
        "- ✅ max_duration: ok (expected <= 600 s, got 12 s): fast enough"
    )
    passing = GateVerdict(True, [GateCheck("success_rate", True, ">= 95%", "100%")])
    report = render_report(make_result([TestRecord("t.py::ok", "passed")], gate=passing))
    assert report.startswith("## ✅")
    assert section(report, "### Quality gate") == "**PASSED**\n\n- ✅ success_rate: ok (expected >= 95%, got 100%)"


def test_failures_grouped_by_category_with_one_line_reasons() -> None:
    tests = [
        TestRecord("tests/a.py::test_env", "error", phase="setup", category="environment", message="Timeout"),
        TestRecord("tests/b.py::test_1", "failed", category="product",
                   message="AssertionError: `total` was 3\n+ where 3 = f()"),
        TestRecord("tests/b.py::test_`2`", "failed", category="product", message="x" * 250),
        TestRecord("tests/c.py::test_3", "failed"),
        TestRecord("tests/d.py::test_4", "failed", category="data", message="KeyError: 'id'"),
        TestRecord("tests/e.py::test_ok", "passed", category="product"),
    ]
    assert section(render_report(make_result(tests)), "### Failures by category") == (
        "#### product (2)\n\n"
        "- `tests/b.py::test_1` — AssertionError: 'total' was 3\n"
        f"- `tests/b.py::test_'2'` — {'x' * 199}…\n\n"
        "#### data (1)\n\n"
        "- `tests/d.py::test_4` — KeyError: 'id'\n\n"
        "#### environment (1)\n\n"
        "- `tests/a.py::test_env` — Timeout\n\n"
        "#### uncategorized (1)\n\n"
        "- `tests/c.py::test_3` — failed in call"
    )


def test_failure_list_is_capped() -> None:
    tests = [TestRecord(f"t.py::p{i}", "failed", category="product", message="boom") for i in range(3)]
    tests += [TestRecord(f"t.py::i{i}", "failed", category="infra", message="down") for i in range(2)]
    text = section(render_report(make_result(tests), max_failures=2), "### Failures by category")
    assert text == (
        "#### product (3)\n\n"
        "- `t.py::p0` — boom\n"
        "- `t.py::p1` — boom\n\n"
        "… and 3 more failures (see summary.json)"
    )


def test_two_dimension_matrix_uses_declared_value_order() -> None:
    tests = [
        cell_test("passed", role="Guest", edition="pro"),
        cell_test("failed", role="Guest", edition="free"),
        cell_test("error", role="Guest", edition="free"),
        cell_test("skipped", role="Admin", edition="pro"),
        cell_test("passed", role="Admin", edition="enterprise"),
        cell_test("skipped", role="Admin", edition="enterprise"),
    ]
    sections = {"matrix_values": {"role": ["Admin", "Guest", "Owner"], "edition": ["free", "pro"]}}
    report = render_report(make_result(tests, dimensions=["role", "edition"], sections=sections))
    assert section(report, "### Matrix") == (
        "| role \\ edition | free | pro | enterprise |\n"
        "|---|---|---|---|\n"
        "| Admin |  | ⏭️ | ✅ |\n"
        "| Guest | ❌ 2 | ✅ |  |\n"
        "| Owner |  |  |  |"
    )


def test_extra_dimensions_give_one_table_per_combination() -> None:
    tests = [
        cell_test("passed", role="Guest", edition="pro", region="us"),
        cell_test("failed", role="Admin", edition="pro", region="eu"),
        cell_test("passed", role="Guest", edition="free", region="eu"),
    ]
    sections = {"matrix_values": {"region": ["eu", "us", "apac"]}}
    report = render_report(make_result(tests, dimensions=["role", "edition", "region"], sections=sections))
    assert section(report, "### Matrix") == (
        "#### region=eu\n\n"
        "| role \\ edition | pro | free |\n"
        "|---|---|---|\n"
        "| Guest |  | ✅ |\n"
        "| Admin | ❌ 1 |  |\n\n"
        "#### region=us\n\n"
        "| role \\ edition | pro | free |\n"
        "|---|---|---|\n"
        "| Guest | ✅ |  |\n"
        "| Admin |  |  |"
    )


def test_single_dimension_matrix_is_one_row_and_cells_escape_pipes() -> None:
    tests = [cell_test("passed", browser="chrome|headless"), cell_test("failed", browser="firefox")]
    report = render_report(make_result(tests))  # dimensions discovered from the tests
    assert section(report, "### Matrix") == (
        "| browser | chrome\\|headless | firefox |\n"
        "|---|---|---|\n"
        "| result | ✅ | ❌ 1 |"
    )


def test_by_app_retries_quarantine_and_selection() -> None:
    tests = [
        TestRecord("tests/billing/test_a.py::test_a", "passed", app="billing", attempts=3),
        TestRecord("tests/billing/test_b.py::test_b", "failed", app="billing", attempts=2, message="x"),
        TestRecord("tests/auth/test_c.py::test_c", "skipped", app="auth"),
        TestRecord("tests/test_d.py::test_d", "error", message="y"),
    ]
    sections = {
        "quarantine": [{"nodeid": "tests/q.py::test_q", "reason": "flaky, see #12"}, {"nodeid": "tests/q.py::test_r"}],
        "selection": {"summary": "4 of 40 tests selected (changed: src/billing)"},
    }
    report = render_report(make_result(tests, sections=sections))
    assert section(report, "### By app") == (
        "| app | passed | failed | error | skipped |\n"
        "|---|---|---|---|---|\n"
        "| auth | 0 | 0 | 0 | 1 |\n"
        "| billing | 1 | 1 | 0 | 0 |\n"
        "| (no app) | 0 | 0 | 1 | 0 |"
    )
    assert section(report, "### Retries") == (
        "| test | attempts | final outcome |\n"
        "|---|---|---|\n"
        "| `tests/billing/test_a.py::test_a` | 3 | passed |\n"
        "| `tests/billing/test_b.py::test_b` | 2 | failed |"
    )
    assert section(report, "### Quarantined") == "- `tests/q.py::test_q` — flaky, see #12\n- `tests/q.py::test_r`"
    assert section(report, "### Selection") == "4 of 40 tests selected (changed: src/billing)"
    assert report.endswith("4 of 40 tests selected (changed: src/billing)\n")


def test_selection_that_is_not_a_dict_is_left_out_and_output_is_deterministic() -> None:
    result = make_result([TestRecord("t.py::ok", "passed")], sections={"selection": "all"})
    assert "### Selection" not in render_report(result)
    assert render_report(result) == render_report(result)
