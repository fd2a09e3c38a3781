"""events.jsonl: the run as OpenTelemetry-shaped spans, one JSON object per line.

A session span comes first and every test is its child. Trace and span ids are
derived from the run id and the node id, so rendering the same run twice gives
the same ids (and the OTLP export can reuse them).
"""

from __future__ import annotations

import json
from hashlib import blake2b
from json.encoder import encode_basestring as _encode_string
from typing import Any, Dict, List, Tuple

from pytest_orchestra.core.records import FAILING_OUTCOMES, RunResult, TestRecord
from pytest_orchestra.reporting.summary import failure_reason, run_duration

SESSION_SPAN_NAME = "pytest session"

_NANOS = 1_000_000_000
_RESULT_STATUS = {"skipped": "skipped", "failed": "fail", "error": "fail"}
# Spans are trees of fresh dicts: the circular-reference check only costs time.
_encode_json = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), check_circular=False, default=str
).encode


def trace_id_for(run_id: str) -> str:
    """32 hex digits, the same for every span of one run."""
    return blake2b(run_id.encode("utf-8"), digest_size=16, person=b"orch-trace").hexdigest()


def span_id_for(run_id: str, nodeid: str) -> str:
    """16 hex digits, unique per node id within a run."""
    key = f"{run_id}\0{nodeid}".encode("utf-8")
    return blake2b(key, digest_size=8, person=b"orch-span").hexdigest()


def session_span_id_for(run_id: str) -> str:
    # A different personalisation keeps it apart from every test's span id.
    return blake2b(run_id.encode("utf-8"), digest_size=8, person=b"orch-session").hexdigest()


def _nanos(epoch: float) -> int:
    return int(round(epoch * _NANOS))


def run_failed(result: RunResult) -> bool:
    """Whether the run as a whole failed: a failing test, a failed gate or a bad exit."""
    if any(test.outcome in FAILING_OUTCOMES for test in result.tests):
        return True
    if result.gate.enabled and not result.gate.passed:
        return True
    return result.run.exit_status not in (None, 0)


def _session_span(result: RunResult, trace_id: str, span_id: str) -> Dict[str, Any]:
    run = result.run
    start = _nanos(run.started)
    end = _nanos(run.ended) if run.ended is not None else start + _nanos(run_duration(result))
    failed = run_failed(result)
    attributes: Dict[str, Any] = {
        "test.suite.name": "pytest",
        "test.suite.run.status": "failure" if failed else "success",
        "orchestra.run_id": run.run_id,
        "vcs.ref.head.revision": run.commit,
        "vcs.ref.head.name": run.branch,
        "cicd.pipeline.trigger": run.trigger,
    }
    return {
        "traceId": trace_id,
        "spanId": span_id,
        "parentSpanId": "",
        "name": SESSION_SPAN_NAME,
        "kind": "INTERNAL",
        "startTimeUnixNano": start,
        "endTimeUnixNano": end,
        "durationMs": round((end - start) / 1e6, 3),
        "status": {"code": "ERROR" if failed else "OK", "message": ""},
        # OTLP has no null attribute value: leave unknown ones out.
        "attributes": {k: v for k, v in attributes.items() if v is not None},
    }


def _test_status(test: TestRecord) -> Tuple[str, str]:
    if test.outcome in FAILING_OUTCOMES:
        return "ERROR", failure_reason(test)
    if test.outcome == "skipped":
        return "UNSET", ""
    return "OK", ""


def _test_times(test: TestRecord, fallback_start: float) -> Tuple[int, int]:
    start = _nanos(test.start or fallback_start)
    return start, start + _nanos(test.duration)


def _test_span(test: TestRecord, run_id: str, trace_id: str, parent_id: str, fallback_start: float) -> Dict[str, Any]:
    start, end = _test_times(test, fallback_start)
    code, message = _test_status(test)
    attributes: Dict[str, Any] = {
        "test.case.name": test.nodeid,
        "test.case.result.status": _RESULT_STATUS.get(test.outcome, "pass"),
        "orchestra.outcome": test.outcome,
        "orchestra.phase": test.phase,
    }
    if test.app:
        attributes["orchestra.app"] = test.app
    for dimension, value in test.matrix.items():
        attributes[f"orchestra.matrix.{dimension}"] = value
    if test.category:
        attributes["orchestra.category"] = test.category
    attributes["orchestra.attempts"] = test.attempts
    return {
        "traceId": trace_id,
        "spanId": span_id_for(run_id, test.nodeid),
        "parentSpanId": parent_id,
        "name": test.nodeid,
        "kind": "INTERNAL",
        "startTimeUnixNano": start,
        "endTimeUnixNano": end,
        "durationMs": round(test.duration * 1000, 3),
        "status": {"code": code, "message": message},
        "attributes": attributes,
    }


def build_spans(result: RunResult) -> List[Dict[str, Any]]:
    """The session span, then one span per test in the order of ``result.tests``."""
    run_id = result.run.run_id
    trace_id = trace_id_for(run_id)
    session_id = session_span_id_for(run_id)
    spans = [_session_span(result, trace_id, session_id)]
    spans.extend(_test_span(test, run_id, trace_id, session_id, result.run.started) for test in result.tests)
    return spans


def spans_to_jsonl(spans: List[Dict[str, Any]]) -> str:
    """One compact JSON object per line (ending with a newline when not empty)."""
    return "".join(_encode_json(span) + "\n" for span in spans)


def render_events(result: RunResult) -> str:
    """Exactly ``spans_to_jsonl(build_spans(result))``, about twice as fast.

    events.jsonl is written on every run and holds one line per test, so it is
    the bulk of the reporting time: this writes each test's line straight from
    its record instead of building a dict and handing it to the generic encoder.
    """
    run_id = result.run.run_id
    trace_id = trace_id_for(run_id)
    session_id = session_span_id_for(run_id)
    fallback_start = result.run.started
    lines = [_encode_json(_session_span(result, trace_id, session_id)) + "\n"]
    append = lines.append
    prefix = f'{{"traceId":"{trace_id}","spanId":"'
    parent = f'","parentSpanId":"{session_id}","name":'
    # Every span id hashes "<run id>\0<node id>": hash the common prefix once and
    # copy that state per test (the same digest as span_id_for).
    span_hash = blake2b(f"{run_id}\0".encode("utf-8"), digest_size=8, person=b"orch-span")
    encode = _encode_string
    # Everything between a test's name and its optional attributes depends only on its
    # outcome and phase (a small vocabulary): built once per pair, not per test.
    middles: Dict[Tuple[str, str], Tuple[str, str]] = {}
    for test in result.tests:
        nodeid = test.nodeid
        name = encode(nodeid)
        start = round((test.start or fallback_start) * _NANOS)  # _nanos(), inlined
        duration = test.duration
        outcome = test.outcome
        phase = test.phase
        middle = middles.get((outcome, phase))
        if middle is None:
            middle = middles[(outcome, phase)] = _span_middle(outcome, phase)
        status_open, attributes = middle
        if outcome in FAILING_OUTCOMES:
            status_open = f',"status":{{"code":"ERROR","message":{encode(failure_reason(test))}}},"attributes":{{"test.case.name":'
        if test.app:
            attributes += f',"orchestra.app":{encode(test.app)}'
        matrix = test.matrix
        if matrix:
            for dimension, value in matrix.items():
                attributes += f",{encode('orchestra.matrix.' + dimension)}:{_json_value(value)}"
        if test.category:
            attributes += f',"orchestra.category":{encode(test.category)}'
        attempts = test.attempts
        span = span_hash.copy()
        span.update(nodeid.encode("utf-8"))
        append(
            f"{prefix}{span.hexdigest()}{parent}{name}"
            f',"kind":"INTERNAL","startTimeUnixNano":{start},"endTimeUnixNano":{start + round(duration * _NANOS)}'
            f',"durationMs":{_millis_json(duration)}{status_open}{name}{attributes}'
            f',"orchestra.attempts":{attempts if type(attempts) is int else _json_value(attempts)}}}}}\n'
        )
    return "".join(lines)


def _millis_json(seconds: float) -> str:
    """``repr(round(seconds * 1000, 3))``, the JSON of a span's ``durationMs``, for less.

    ``round(x, 3)`` converts to decimal and back, and ``repr`` converts again;
    ``format(x, ".3f")`` is the same correctly rounded 3-decimal string in one
    conversion. Below 1e9 ms, doubles are dense enough that no two 3-decimal
    values share one, so that string, without its trailing zeros, is exactly
    the shortest repr; beyond it (or for anything odd) the slow way is taken.
    """
    millis = seconds * 1000
    if not 0 <= millis < 1e9:
        return repr(round(millis, 3))
    text = format(millis, ".3f").rstrip("0")
    return text + "0" if text.endswith(".") else text


def _span_middle(outcome: str, phase: str) -> Tuple[str, str]:
    """A test span's JSON from its status to before its name, and from after its name to its
    optional attributes, for a passing or skipped test with this outcome and phase."""
    if outcome == "skipped":
        status = '"UNSET","message":""'
    else:
        status = '"OK","message":""'
    status_open = f',"status":{{"code":{status}}},"attributes":{{"test.case.name":'
    attributes = (
        f',"test.case.result.status":"{_RESULT_STATUS.get(outcome, "pass")}"'
        f",\"orchestra.outcome\":{_encode_string(outcome)},\"orchestra.phase\":{_encode_string(phase)}"
    )
    return status_open, attributes


def _json_value(value: Any) -> str:
    """``_encode_json(value)``, without the encoder's set-up for the common str and int."""
    kind = type(value)
    if kind is str:
        return _encode_string(value)
    if kind is int:
        return int.__repr__(value)
    return _encode_json(value)
