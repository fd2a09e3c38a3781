"""The report parsers against real report files (tests/runner_reports), malformed and truncated ones included."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest

from pytest_orchestra.runners.cases import CaseResult, ReportError, item_name, qualified
from pytest_orchestra.runners.parsers import parse_report

REPORTS = Path(__file__).resolve().parents[1] / "runner_reports"


def parse(format: str, name: str):
    return parse_report(format, (REPORTS / name).read_bytes(), source=name)


def outcomes(report) -> Dict[str, str]:
    return {case.id: case.outcome for case in report.cases}


def by_id(report, case_id: str) -> CaseResult:
    return next(case for case in report.cases if case.id == case_id)


# --- JUnit XML ------------------------------------------------------------------------


def test_node_test_runner_junit_top_level_and_describe_blocks():
    report = parse("junit", "node-junit.xml")
    assert outcomes(report) == {
        "adds": "passed",
        "subtracts": "failed",
        "skipped one": "skipped",
        "todo one": "skipped",
        "group.nested ok": "passed",
        "group.nested bad": "failed",
    }
    failed = by_id(report, "subtracts")
    assert failed.message == "Expected values to be strictly equal:2 !== 1"
    assert "math.test.js:4:60" in failed.details
    assert failed.duration == pytest.approx(0.00755, abs=1e-4)
    assert by_id(report, "skipped one").message == "not today"
    assert by_id(report, "todo one").message == "todo"
    assert report.problems == []


def test_pytest_junitxml_classnames_messages_and_setup_errors():
    report = parse("junit", "pytest-junit.xml")
    assert outcomes(report) == {
        "test_legacy.test_ok": "passed",
        "test_legacy.test_bad": "failed",
        "test_legacy.test_skip": "skipped",
        "test_legacy.test_error": "error",
        "test_legacy.TestCart.test_total[1]": "passed",
        "test_legacy.TestCart.test_total[2]": "passed",
    }
    assert by_id(report, "test_legacy.test_bad").message == "AssertionError: math is broken"
    assert "ConnectionRefusedError: db down" in by_id(report, "test_legacy.test_error").details
    assert by_id(report, "test_legacy.test_skip").message == "not on this machine"


def test_surefire_report_with_types_output_and_single_testsuite_root():
    report = parse("junit", "surefire-TEST-com.acme.cart.CartTest.xml")
    assert outcomes(report) == {
        "com.acme.cart.CartTest.addsItem": "passed",
        "com.acme.cart.CartTest.appliesDiscount": "failed",
        "com.acme.cart.CartTest.checksOut": "error",
        "com.acme.cart.CartTest.exportsCsv": "skipped",
    }
    discount = by_id(report, "com.acme.cart.CartTest.appliesDiscount")
    assert discount.message == "org.opentest4j.AssertionFailedError: expected: <90> but was: <100>"
    assert discount.output == "computing discount for cart 42"
    assert "CartTest.java:27" in discount.details
    assert by_id(report, "com.acme.cart.CartTest.checksOut").message == "java.net.ConnectException: Connection refused"


def test_jest_junit_names_carry_their_describe_block():
    report = parse("junit", "jest-junit.xml")
    assert outcomes(report) == {
        "Checkout renders the total": "passed",
        "Checkout rejects an expired card": "failed",
        "Checkout applies a coupon": "skipped",
        "Cart adds an item": "passed",
    }
    assert by_id(report, "Checkout rejects an expired card").message.startswith("Error: expect(received).toBe")


def test_go_junit_report_generic_messages_are_replaced_by_the_log_line():
    report = parse("junit", "go-junit-report.xml")
    partial = by_id(report, "github.com/acme/payments/refund.TestRefundPartial")
    assert partial.outcome == "failed"
    assert partial.message == "refund_test.go:21: refund(50) = 40, want 50"
    assert by_id(report, "github.com/acme/payments/refund.TestRefundCurrency").message == (
        "refund_test.go:30: needs the FX service"
    )


@pytest.mark.parametrize(
    "name, expected",
    [
        ("junit-malformed.xml", "is not well-formed XML (mismatched tag: line 7"),
        ("surefire-truncated.xml", "is not well-formed XML (unclosed token"),
        ("not-a-report.xml", "is not a JUnit XML report (root element <html>)"),
        ("empty.xml", "empty.xml is empty"),
        ("dotnet-xunit.trx", "is not a JUnit XML report (root element <TestRun>)"),
    ],
)
def test_unreadable_junit_reports_raise_naming_the_cause(name, expected):
    with pytest.raises(ReportError, match=expected.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse("junit", name)


# --- TRX --------------------------------------------------------------------------------


def test_trx_from_dotnet_test_joins_class_names_and_reads_run_errors():
    report = parse("trx", "dotnet-xunit.trx")
    assert outcomes(report) == {
        "Payments.Tests.RefundTests.Refund_IsPartial": "passed",
        "Payments.Tests.RefundTests.Refund_RejectsNegative": "failed",
        "Payments.Tests.RefundTests.Refund_InYen": "skipped",
        "Payments.Tests.SlowTests.Refund_Timeout": "error",
    }
    negative = by_id(report, "Payments.Tests.RefundTests.Refund_RejectsNegative")
    assert negative.message.startswith("Assert.Throws() Failure: No exception was thrown")
    assert "RefundTests.cs:line 31" in negative.details
    assert negative.output == "refunding -5.00 EUR"
    assert negative.duration == pytest.approx(0.031)
    assert by_id(report, "Payments.Tests.SlowTests.Refund_Timeout").duration == pytest.approx(30.0)
    assert by_id(report, "Payments.Tests.RefundTests.Refund_InYen").message == "yen is not supported yet"
    assert report.problems == [
        "dotnet-xunit.trx: The active test run was aborted. Reason: Test host process crashed : Stack overflow."
    ]


def test_trx_truncated_and_wrong_root_and_unknown_outcome():
    with pytest.raises(ReportError, match="not well-formed XML"):
        parse("trx", "dotnet-truncated.trx")
    with pytest.raises(ReportError, match="not a TRX report"):
        parse("trx", "node-junit.xml")
    bad = (REPORTS / "dotnet-xunit.trx").read_bytes().replace(b'outcome="Passed"', b'outcome="Sideways"')
    with pytest.raises(ReportError, match="unknown outcome 'Sideways'"):
        parse_report("trx", bad)


# --- TAP --------------------------------------------------------------------------------


def test_raw_test_more_stream_with_skip_todo_and_diagnostics():
    report = parse("tap", "raw-test-more.tap")
    assert outcomes(report) == {"adds": "passed", "subtracts": "failed", "test 3": "skipped", "refunds": "skipped"}
    subtracts = by_id(report, "subtracts")
    assert subtracts.message == "got: '2'; expected: '1'"
    assert (subtracts.file, subtracts.line) == ("t/basic.t", 3)
    assert by_id(report, "refunds").message == "TODO: not done"
    assert by_id(report, "test 3").message == "no network"


def test_prove_verbose_names_cases_by_file_and_keeps_subtests_as_output():
    report = parse("tap", "prove-verbose-merged.tap")
    assert outcomes(report) == {
        "t/basic.t: adds": "passed",
        "t/basic.t: subtracts": "failed",
        "t/basic.t: test 3": "skipped",
        "t/basic.t: refunds": "skipped",
        "t/other.t: other works": "passed",
        "t/other.t: grouped": "passed",
        "t/skipall.t": "skipped",
    }
    assert "ok 1 - inner a" in by_id(report, "t/other.t: grouped").output
    assert by_id(report, "t/skipall.t").message == "no database"
    # Without --merge the diagnostics went to stderr: the case still fails, with a plain message.
    assert by_id(parse("tap", "prove-verbose.tap"), "t/basic.t: subtracts").message == "not ok: subtracts"


def test_plain_prove_gives_one_case_per_file():
    report = parse("tap", "prove-plain.tap")
    assert outcomes(report) == {"t/basic.t": "failed", "t/other.t": "passed", "t/skipall.t": "skipped"}
    assert by_id(report, "t/basic.t").message == "Failed 1/4 subtests"


def test_truncated_and_bailed_out_streams_are_problems():
    truncated = parse("tap", "tap-truncated.tap")
    assert outcomes(truncated) == {"connects": "passed", "reads": "passed", "writes": "failed"}
    assert by_id(truncated, "writes").message == "disk full"
    assert truncated.problems == ["the TAP stream: planned 5 tests, the stream ended after 3"]
    bailed = parse("tap", "tap-bailout.tap")
    assert bailed.problems == ["bail out: database went away", "the TAP stream: planned 3 tests, the stream ended after 1"]
    prove_bail = parse("tap", "prove-bailout.tap")
    assert outcomes(prove_bail) == {"t/bail.t": "failed"}
    assert prove_bail.problems == ["bail out: database went away"]


def test_not_tap_and_a_cut_prove_output():
    with pytest.raises(ReportError, match="holds no TAP"):
        parse("tap", "not-tap.tap")
    cut = parse_report("tap", b"t/basic.t .... \nt/other.t .... ok\n")
    assert outcomes(cut) == {"t/basic.t": "error", "t/other.t": "passed"}
    assert cut.problems == ["t/basic.t: no result (the output ended before the file's status)"]
    dubious = parse_report("tap", b"t/a.t .. \nok 1 - x\n1..1\nDubious, test returned 2 (wstat 512, 0x200)\n")
    assert dubious.problems == ["t/a.t: Dubious, test returned 2 (wstat 512, 0x200)"]
    latin = parse_report("tap", "ok 1 - caf\xe9\n1..1\n".encode("latin-1"))
    assert outcomes(latin) == {"café": "passed"}


# --- go test -json ---------------------------------------------------------------------------


def test_go_test_json_outcomes_subtests_and_log_locations():
    report = parse("go-json", "go-test.json")
    assert outcomes(report) == {
        "github.com/acme/payments/refund.TestRefundFull": "passed",
        "github.com/acme/payments/refund.TestRefundPartial": "failed",
        "github.com/acme/payments/refund.TestRefundPartial/zero": "passed",
        "github.com/acme/payments/refund.TestRefundCurrency": "skipped",
    }
    partial = by_id(report, "github.com/acme/payments/refund.TestRefundPartial")
    assert partial.message == "refund(50) = 40, want 50"
    assert (partial.file, partial.line) == ("refund_test.go", 21)
    assert partial.duration == pytest.approx(0.001)
    assert by_id(report, "github.com/acme/payments/refund.TestRefundCurrency").message == "needs the FX service"
    assert report.problems == []


def test_go_test_json_timeout_truncated_and_malformed():
    timeout = parse("go-json", "go-test-timeout.json")
    slow = by_id(timeout, "github.com/acme/payments/refund.TestRefundSlow")
    assert (slow.outcome, slow.message) == ("error", "panic: test timed out after 2s")
    assert timeout.problems == [
        "go-test-timeout.json: 1 test(s) started but never finished: github.com/acme/payments/refund.TestRefundSlow"
    ]
    truncated = parse("go-json", "go-test-truncated.json")
    assert truncated.problems[0] == (
        "go-test-truncated.json: the last event is cut short (line 8): the report is truncated"
    )
    assert by_id(truncated, "github.com/acme/payments/refund.TestRefundPartial").outcome == "error"
    with pytest.raises(ReportError, match="line 7 is not a go test -json event"):
        parse("go-json", "go-test-malformed.json")
    with pytest.raises(ReportError, match="no Action"):
        parse_report("go-json", b'{"Time": "x"}\n')
    with pytest.raises(ReportError, match="holds no go test events"):
        parse_report("go-json", b'{"Action": "start", "Package": "p"}\n')


def test_unknown_format_and_helpers():
    with pytest.raises(ValueError, match="unknown report format 'xunit'"):
        parse_report("xunit", b"<x/>")
    with pytest.raises(ValueError, match="unknown case outcome"):
        CaseResult(id="x", outcome="xfailed")
    assert item_name("a::b  c\n") == "a:b c"
    assert item_name("   ") == "(unnamed)"
    assert qualified("pkg", "pkg.Test") == "pkg.Test"
    assert qualified("", "Test") == "Test"
    duplicate = parse_report("tap", b"ok 1 - same\nok 2 - same\n1..2\n")
    assert [case.id for case in duplicate.cases] == ["same", "same #2"]
