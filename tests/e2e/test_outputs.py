"""Outputs for CI systems and telemetry: GitHub Actions, OTLP, and secrets kept out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import history_rows
from tests.httpfakes import RecordingServer, recording_server

SECRET = "s3cr3t-t0ken-value"


def test_github_actions_gets_annotations_and_the_step_summary(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(pytester.path))
    pytester.makepyfile(
        test_pay="""
        import pytest
        @pytest.mark.parametrize("n", range(12))
        def test_pay(n):
            assert n < 0, "100% wrong,\\nsecond line"
        """
    )
    result = pytester.runpytest()
    assert result.ret == 1
    errors = [line for line in result.stdout.lines if line.startswith("::error ")]
    assert len(errors) == 10  # GitHub shows ten per step
    assert errors[0].startswith("::error file=test_pay.py,line=4,title=product%3A test_pay.py%3A%3Atest_pay[0]::")
    assert "100%25 wrong," in errors[0]
    assert "\n" not in errors[0]
    result.stdout.fnmatch_lines(["::notice::2 more failures are listed in the job summary"])
    text = step_summary.read_text()
    assert text.startswith("# earlier step\n")
    assert "pytest-orchestra: 12 failed" in text
    (run,) = history_rows(pytester.path, "runs")
    assert run["triggered_by"] == "github-actions"


def test_secrets_never_reach_reports_history_or_annotations(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHOP_API_TOKEN", SECRET)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    pytester.makepyfile(
        """
        import os
        def test_leaks():
            token = os.environ["SHOP_API_TOKEN"]
            assert token == "expected", f"login refused for token {token}"
        """
    )
    result = pytester.runpytest("--orchestra-gate=max_failures=0")
    assert result.ret == 6
    latest = pytester.path / ".orchestra" / "reports" / "latest"
    for name in ("summary.json", "report.md", "events.jsonl"):
        text = (latest / name).read_text()
        assert SECRET not in text, name
        assert "***" in text, name
    assert all(SECRET not in (row["message"] or "") for row in history_rows(pytester.path))
    assert SECRET not in (tmp_path / "summary.md").read_text()
    annotations = [line for line in result.stdout.lines if line.startswith("::error")]
    assert annotations and all(SECRET not in line for line in annotations)


@pytest.fixture
def otlp_collector() -> Iterator[RecordingServer]:
    with recording_server() as server:
        yield server


def test_spans_go_to_an_otlp_collector_when_configured(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, otlp_collector: RecordingServer
) -> None:
    trace_pb2 = pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_collector.url)
    pytester.makepyfile("def test_a(): pass\ndef test_b(): assert 0\n")
    result = pytester.runpytest()
    assert result.ret == 1
    assert otlp_collector.bodies, "no OTLP request arrived"
    request = trace_pb2.ExportTraceServiceRequest()
    request.ParseFromString(otlp_collector.bodies[0])
    names = {span.name for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans}
    assert {"pytest session", "test_spans_go_to_an_otlp_collector_when_configured.py::test_b"} <= names
    events = [json.loads(line) for line in (pytester.path / ".orchestra/reports/latest/events.jsonl").open()]
    assert len(events) == 3


def test_a_dead_otlp_endpoint_is_one_line_not_a_failure(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2")
    pytester.makepyfile("def test_a(): pass")
    result = pytester.runpytest()
    assert result.ret == 0
    result.stdout.fnmatch_lines(["orchestra: OTLP export to * failed*"])
