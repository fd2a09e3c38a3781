"""OTLP export: the spans of events.jsonl reach a real OTLP/HTTP endpoint."""

from __future__ import annotations

import socket
import sys
import time
from typing import Iterator, List

import pytest

from pytest_orchestra.core.records import RunRecord, RunResult, TestRecord
from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.reporting.events import build_spans
from pytest_orchestra.reporting.otlp import export_spans, traces_endpoint
from tests.httpfakes import RecordingServer, recording_server

trace_service_pb2 = pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")
pytest.importorskip("opentelemetry.exporter.otlp.proto.http.trace_exporter")

STARTED = 1714564800.0


@pytest.fixture
def collector() -> Iterator[RecordingServer]:
    with recording_server() as server:
        yield server


def make_spans() -> List[dict]:
    tests = [
        TestRecord("tests/test_a.py::test_ok", "passed", duration=0.5, start=STARTED + 1, app="billing",
                   matrix={"role": "Guest"}),
        TestRecord("tests/test_a.py::test_bad", "failed", duration=0.25, start=STARTED + 2, category="product",
                   message="AssertionError: token tok-secret-123 rejected"),
        TestRecord("tests/test_a.py::test_skip", "skipped", start=STARTED + 3),
    ]
    return build_spans(RunResult(RunRecord("20240501T120000Z-abcdef", STARTED, ended=STARTED + 4, branch="main"),
                                 tests))


def attributes(span: object) -> dict:
    values = {}
    for item in span.attributes:  # type: ignore[attr-defined]
        kind = item.value.WhichOneof("value")
        values[item.key] = getattr(item.value, kind)
    return values


def test_spans_arrive_with_ids_parents_and_attributes(collector: RecordingServer) -> None:
    spans = make_spans()
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url + "/", "OTEL_SERVICE_NAME": "billing-qa",
               "OTEL_EXPORTER_OTLP_HEADERS": "x-team=qa"}
    assert export_spans(spans, environ=environ, redactor=Redactor(["tok-secret-123"])) is None

    [(_, path, headers, body)] = collector.received
    assert path == "/v1/traces"
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["x-team"] == "qa"
    request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
    [resource_spans] = request.resource_spans
    assert attributes(resource_spans.resource)["service.name"] == "billing-qa"
    received = list(resource_spans.scope_spans[0].spans)
    assert [span.name for span in received] == [span["name"] for span in spans]
    for sent, got in zip(spans, received):
        assert got.trace_id.hex() == sent["traceId"]
        assert got.span_id.hex() == sent["spanId"]
        assert got.parent_span_id.hex() == sent["parentSpanId"]
        assert got.start_time_unix_nano == sent["startTimeUnixNano"]
        assert got.end_time_unix_nano == sent["endTimeUnixNano"]
    session, passed, failed, skipped = received
    assert attributes(session) == {
        "test.suite.name": "pytest", "test.suite.run.status": "failure",
        "orchestra.run_id": "20240501T120000Z-abcdef", "vcs.ref.head.name": "main",
        "cicd.pipeline.trigger": "local",
    }
    assert attributes(passed) == {
        "test.case.name": "tests/test_a.py::test_ok", "test.case.result.status": "pass",
        "orchestra.outcome": "passed", "orchestra.phase": "call", "orchestra.app": "billing",
        "orchestra.matrix.role": "Guest", "orchestra.attempts": 1,
    }
    assert passed.status.code == passed.status.STATUS_CODE_OK
    assert failed.status.code == failed.status.STATUS_CODE_ERROR
    assert failed.status.message == "AssertionError: token *** rejected"  # redacted before it left
    assert skipped.status.code == skipped.status.STATUS_CODE_UNSET


def test_traces_endpoint_wins_and_is_used_as_is(collector: RecordingServer) -> None:
    environ = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.url + "/custom/traces",
               "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    assert export_spans(make_spans(), environ=environ) is None
    assert [path for _, path, _, _ in collector.received] == ["/custom/traces"]
    assert traces_endpoint({}) is None
    assert traces_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == "http://c:4318/v1/traces"


def test_rejected_export_gives_a_reason(collector: RecordingServer) -> None:
    collector.status = 400
    reason = export_spans(make_spans(), environ={"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url})
    assert reason == f"OTLP export to {collector.url}/v1/traces failed: Failed to export spans batch code: 400, reason: Bad Request"


def test_dead_endpoint_gives_a_reason_quickly() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    started = time.monotonic()
    reason = export_spans(make_spans(), environ={"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}"},
                          timeout=1.0)
    assert time.monotonic() - started < 3.0
    assert reason == f"OTLP export to http://127.0.0.1:{port}/v1/traces failed: [Errno 111] Connection refused"


def test_not_configured_means_no_export_and_no_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    assert export_spans(make_spans(), environ={}) is None


@pytest.mark.parametrize(
    ("module", "missing"),
    [
        ("opentelemetry.exporter.otlp.proto.http.trace_exporter", "opentelemetry-exporter-otlp-proto-http"),
        ("opentelemetry.sdk.trace.export", "opentelemetry-sdk"),
    ],
)
def test_missing_packages_give_an_install_hint(monkeypatch: pytest.MonkeyPatch, module: str, missing: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    reason = export_spans(make_spans(), environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert reason == f"OTLP export skipped: {missing} is not installed (pip install 'pytest-orchestra[otel]')"


def test_an_exporter_crash_never_escapes(collector: RecordingServer) -> None:
    broken = make_spans()
    broken[1]["spanId"] = "not-hex"
    reason = export_spans(broken, environ={"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url})
    assert reason == (
        f"OTLP export to {collector.url}/v1/traces failed: ValueError: invalid literal for int() with base 16: 'not-hex'"
    )
