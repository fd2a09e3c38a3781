"""Optional export of the run's spans to an OpenTelemetry collector over OTLP/HTTP.

Only active when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces-specific
variable) is set; opentelemetry is imported only then. The spans keep the ids,
times, attributes and parent links of events.jsonl, so the file and the
collector tell the same story. Export problems never fail the test run: they
come back as a one-line reason for the terminal.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any, Dict, List, Mapping, Optional

from pytest_orchestra.core.redaction import Redactor

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACES_ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
DEFAULT_SERVICE_NAME = "pytest-orchestra"
DEFAULT_TIMEOUT = 5.0

_EXPORTER_LOGGER = "opentelemetry.exporter.otlp.proto.http.trace_exporter"
_INSTALL_HINT = "(pip install 'pytest-orchestra[otel]')"
_OS_ERROR = re.compile(r"\[Errno -?\d+\][^\"'()]*")


def traces_endpoint(environ: Mapping[str, str]) -> Optional[str]:
    """The full URL spans are POSTed to, or None when export is not configured."""
    explicit = environ.get(TRACES_ENDPOINT_VARIABLE, "").strip()
    if explicit:
        return explicit
    base = environ.get(ENDPOINT_VARIABLE, "").strip()
    return f"{base.rstrip('/')}/v1/traces" if base else None


class _ReasonCatcher(logging.Filter):
    """Keeps the exporter's last complaint and stops it reaching the user's log output.

    The SDK exporter only says SUCCESS or FAILURE; the why is in its log records
    and, for connection problems, in the exception the HTTP session raised.
    """

    def __init__(self) -> None:
        super().__init__()
        self.last_message: Optional[str] = None
        self.last_error: Optional[BaseException] = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            self.last_message = record.getMessage()
        return False

    def reason(self) -> str:
        """The most telling one-line account of the failure."""
        if self.last_error is not None:
            text = str(self.last_error)
            # requests nests the OS error deep in a long message; the errno part is what a human needs.
            os_error = _OS_ERROR.search(text)
            return os_error.group(0).strip() if os_error else f"{type(self.last_error).__name__}: {text}"[:300]
        return (self.last_message or "the exporter reported a failure").splitlines()[0][:300]


def _recording_session(catcher: _ReasonCatcher) -> Any:
    """A requests session that tells ``catcher`` about the exceptions it raises."""
    import requests

    class RecordingSession(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().request(*args, **kwargs)
            except Exception as error:
                catcher.last_error = error
                raise

    return RecordingSession()


def _headers(environ: Mapping[str, str]) -> Dict[str, str]:
    from opentelemetry.util.re import parse_env_headers

    raw = environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or environ.get("OTEL_EXPORTER_OTLP_HEADERS", "")
    return dict(parse_env_headers(raw, liberal=True))


def _attribute_value(value: Any) -> Any:
    return value if isinstance(value, (str, bool, int, float)) else str(value)


def _readable_spans(spans: List[Dict[str, Any]], service_name: str) -> List[Any]:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import (
        SpanContext,
        SpanKind,
        Status,
        StatusCode,
        TraceFlags,
    )

    resource = Resource.create({"service.name": service_name})
    scope = InstrumentationScope("pytest_orchestra")
    sampled = TraceFlags(TraceFlags.SAMPLED)
    readable = []
    for span in spans:
        trace_id = int(span["traceId"], 16)
        context = SpanContext(trace_id, int(span["spanId"], 16), is_remote=False, trace_flags=sampled)
        parent_hex = span.get("parentSpanId") or ""
        parent = (
            SpanContext(trace_id, int(parent_hex, 16), is_remote=False, trace_flags=sampled) if parent_hex else None
        )
        code = StatusCode[span["status"]["code"]]
        # The SDK accepts a description on ERROR statuses only.
        status = Status(code, span["status"].get("message") or None) if code is StatusCode.ERROR else Status(code)
        readable.append(
            ReadableSpan(
                name=span["name"],
                context=context,
                parent=parent,
                resource=resource,
                attributes={k: _attribute_value(v) for k, v in span["attributes"].items()},
                kind=SpanKind[span.get("kind", "INTERNAL")],
                status=status,
                start_time=span["startTimeUnixNano"],
                end_time=span["endTimeUnixNano"],
                instrumentation_scope=scope,
            )
        )
    return readable


def _timeout_from(environ: Mapping[str, str]) -> float:
    """``OTEL_EXPORTER_OTLP_TIMEOUT`` (seconds, as the Python SDK reads it), else 5 s."""
    raw = environ.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or environ.get("OTEL_EXPORTER_OTLP_TIMEOUT")
    try:
        return max(float(raw), 0.1) if raw else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT


def export_spans(
    spans: List[Dict[str, Any]],
    *,
    environ: Mapping[str, str] = os.environ,
    timeout: Optional[float] = None,
    redactor: Optional[Redactor] = None,
) -> Optional[str]:
    """Send ``spans`` (from build_spans) to the configured OTLP/HTTP endpoint.

    Returns None when the export succeeded or is not configured, else a
    one-line reason. Never raises. ``redactor`` masks secrets in the spans first.
    """
    endpoint = traces_endpoint(environ)
    if endpoint is None:
        return None
    if timeout is None:
        timeout = _timeout_from(environ)
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.trace.export import SpanExportResult
    except ImportError as error:
        module = error.name or ""
        if module.startswith("opentelemetry.exporter"):
            missing = "opentelemetry-exporter-otlp-proto-http"
        elif module.startswith("opentelemetry"):
            missing = "opentelemetry-sdk"
        else:
            missing = module or "a dependency of opentelemetry"
        return f"OTLP export skipped: {missing} is not installed {_INSTALL_HINT}"
    if redactor is not None:
        spans = redactor.redact_data(spans)
    catcher = _ReasonCatcher()
    exporter_logger = logging.getLogger(_EXPORTER_LOGGER)
    exporter_logger.addFilter(catcher)
    try:
        service_name = environ.get("OTEL_SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME
        exporter = OTLPSpanExporter(
            endpoint=endpoint, headers=_headers(environ), timeout=timeout, session=_recording_session(catcher)
        )
        try:
            outcome = exporter.export(_readable_spans(spans, service_name))
        finally:
            exporter.shutdown()
    except Exception as error:  # an exporter bug must not fail the test run
        return f"OTLP export to {endpoint} failed: {type(error).__name__}: {error}".splitlines()[0]
    finally:
        exporter_logger.removeFilter(catcher)
    if outcome is SpanExportResult.SUCCESS:
        return None
    return f"OTLP export to {endpoint} failed: {catcher.reason()}"
