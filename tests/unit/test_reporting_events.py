"""events.jsonl: OpenTelemetry-shaped spans for the session and every test."""

from __future__ import annotations

import json
import re

from pytest_orchestra.core.records import GateCheck, GateVerdict, RunRecord, RunResult, TestRecord
from pytest_orchestra.reporting.events import build_spans, render_events, spans_to_jsonl

STARTED = 1714564800.0


def make_result(**run: object) -> RunResult:
    record = RunRecord("20240501T120000Z-abcdef", STARTED, ended=STARTED + 3.0,
                       commit="0123456789abcdef", branch="main", trigger="ci", exit_status=1)
    for name, value in run.items():
        setattr(record, name, value)
    tests = [
        TestRecord("tests/billing/test_refund.py::test_refund[Guest-pro]", "failed", duration=0.25,
                   start=STARTED + 1.0, category="product", app="billing",
                   matrix={"role": "Guest", "edition": "pro"},
                   message='AssertionError: "quoted" ünïcödé\nsecond line', attempts=2),
        TestRecord("tests/test_misc.py::test_skip", "skipped", phase="setup"),
        TestRecord("tests/test_misc.py::test_ok", "passed", duration=0.5, start=STARTED + 2.0),
        TestRecord("tests/test_misc.py::test_x", "xfailed", start=STARTED + 2.5, duration=0.001),
        TestRecord("tests/test_misc.py::test_broken", "error", phase="teardown", start=STARTED + 2.6),
    ]
    return RunResult(record, tests)


def test_session_span_comes_first_with_run_attributes() -> None:
    session = build_spans(make_result())[0]
    assert re.fullmatch("[0-9a-f]{32}", session["traceId"]) and session["traceId"] != "0" * 32
    assert re.fullmatch("[0-9a-f]{16}", session["spanId"])
    assert {k: v for k, v in session.items() if k not in ("traceId", "spanId")} == {
        "parentSpanId": "",
        "name": "pytest session",
        "kind": "INTERNAL",
        "startTimeUnixNano": 1714564800_000_000_000,
        "endTimeUnixNano": 1714564803_000_000_000,
        "durationMs": 3000.0,
        "status": {"code": "ERROR", "message": ""},
        "attributes": {
            "test.suite.name": "pytest",
            "test.suite.run.status": "failure",
            "orchestra.run_id": "20240501T120000Z-abcdef",
            "vcs.ref.head.revision": "0123456789abcdef",
            "vcs.ref.head.name": "main",
            "cicd.pipeline.trigger": "ci",
        },
    }


def test_test_spans_carry_outcome_status_and_attributes() -> None:
    spans = build_spans(make_result())
    session, failed, skipped, passed, xfailed, broken = spans
    assert failed == {
        "traceId": session["traceId"],
        "spanId": failed["spanId"],
        "parentSpanId": session["spanId"],
        "name": "tests/billing/test_refund.py::test_refund[Guest-pro]",
        "kind": "INTERNAL",
        "startTimeUnixNano": 1714564801_000_000_000,
        "endTimeUnixNano": 1714564801_250_000_000,
        "durationMs": 250.0,
        "status": {"code": "ERROR", "message": 'AssertionError: "quoted" ünïcödé'},
        "attributes": {
            "test.case.name": "tests/billing/test_refund.py::test_refund[Guest-pro]",
            "test.case.result.status": "fail",
            "orchestra.outcome": "failed",
            "orchestra.phase": "call",
            "orchestra.app": "billing",
            "orchestra.matrix.role": "Guest",
            "orchestra.matrix.edition": "pro",
            "orchestra.category": "product",
            "orchestra.attempts": 2,
        },
    }
    # A test without a start time is placed at the start of the run.
    assert skipped["startTimeUnixNano"] == skipped["endTimeUnixNano"] == 1714564800_000_000_000
    assert skipped["status"] == {"code": "UNSET", "message": ""}
    assert skipped["attributes"] == {
        "test.case.name": "tests/test_misc.py::test_skip",
        "test.case.result.status": "skipped",
        "orchestra.outcome": "skipped",
        "orchestra.phase": "setup",
        "orchestra.attempts": 1,
    }
    assert passed["status"] == {"code": "OK", "message": ""}
    assert passed["attributes"]["test.case.result.status"] == "pass"
    assert xfailed["attributes"]["test.case.result.status"] == "pass"
    assert xfailed["durationMs"] == 1.0
    assert broken["status"] == {"code": "ERROR", "message": "error in teardown"}
    assert broken["attributes"]["test.case.result.status"] == "fail"


def test_ids_are_deterministic_and_unique() -> None:
    first, second = build_spans(make_result()), build_spans(make_result())
    assert first == second
    span_ids = [span["spanId"] for span in first]
    assert len(set(span_ids)) == len(span_ids)
    other_run = build_spans(RunResult(RunRecord("20240502T120000Z-012345", STARTED), make_result().tests))
    assert other_run[0]["traceId"] != first[0]["traceId"]
    assert {s["spanId"] for s in other_run}.isdisjoint(span_ids)


def test_green_run_without_vcs_information() -> None:
    result = RunResult(RunRecord("r1", STARTED, exit_status=0), [TestRecord("t.py::ok", "passed", duration=2.0)])
    session = build_spans(result)[0]
    assert session["status"] == {"code": "OK", "message": ""}
    assert session["endTimeUnixNano"] == 1714564802_000_000_000  # unfinished run: test durations
    assert session["attributes"] == {
        "test.suite.name": "pytest",
        "test.suite.run.status": "success",
        "orchestra.run_id": "r1",
        "cicd.pipeline.trigger": "local",
    }
    gated = RunResult(RunRecord("r1", STARTED), result.tests, gate=GateVerdict(True, [GateCheck("g", False, "a", "b")]))
    assert build_spans(gated)[0]["attributes"]["test.suite.run.status"] == "failure"


def test_jsonl_has_one_compact_object_per_line() -> None:
    spans = build_spans(make_result())
    text = spans_to_jsonl(spans)
    lines = text.splitlines()
    assert text.endswith("\n") and len(lines) == 6
    assert [json.loads(line) for line in lines] == spans
    assert '"name":"pytest session"' in lines[0] and ", " not in lines[0]
    assert "ünïcödé" in lines[1]  # readable, not \u-escaped
    assert spans_to_jsonl([]) == ""


def test_render_events_is_byte_identical_to_the_generic_path() -> None:
    result = make_result()
    result.tests.append(TestRecord('t.py::odd["\\\u2028\x00]', "passed", duration=0.1234567,
                                   matrix={"n": 3}, category="c"))  # type: ignore[dict-item]
    assert render_events(result) == spans_to_jsonl(build_spans(result))


def test_duration_millis_text_equals_the_json_of_the_rounded_float() -> None:
    from random import Random

    from pytest_orchestra.reporting.events import _millis_json

    rng = Random(20261122)
    samples = [0.0, 5e-7, 0.0005, 0.0015, 0.0025, 1e-9, 0.1234565, 123.4565, 999999.9995, 1.0, 2e6, -1.0]
    samples += [rng.random() * 10 ** rng.randint(-9, 7) for _ in range(20000)]
    samples += [(k + 0.5) / 1e6 for k in range(5000)]  # ties at the rounded digit
    for seconds in samples:
        assert _millis_json(seconds) == json.dumps(round(seconds * 1000, 3)), seconds
