"""Report parsers, one module per format: bytes in, :class:`ParsedReport` out.

Pure logic, no pytest, no I/O beyond the bytes given. Each raises
:class:`~pytest_orchestra.runners.cases.ReportError` for a report it cannot
read, and lists lesser problems (a stream cut short) on the result.
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable, Dict

from pytest_orchestra.runners.cases import ParsedReport, ReportError

_MODULES: Dict[str, str] = {"junit": "junit", "trx": "trx", "tap": "tap", "go-json": "gojson"}

__all__ = ["ParsedReport", "ReportError", "parse_report"]


def parse_report(format: str, data: bytes, *, source: str = "report") -> ParsedReport:
    """The cases of one report of ``format`` (``junit``, ``trx``, ``tap``, ``go-json``)."""
    if format not in _MODULES:
        raise ValueError(f"unknown report format {format!r} (known: {', '.join(_MODULES)})")
    if not data.strip():
        raise ReportError(f"{source} is empty")
    parse: Callable[..., ParsedReport] = import_module(f"{__name__}.{_MODULES[format]}").parse
    return parse(data, source=source)
