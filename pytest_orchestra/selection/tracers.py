"""The two line recorders: which lines of the project each context executes.

Both keep the cost of a context switch independent of the project's size, and
neither calls back into Python more than once per line per context:

* :class:`MonitoringRecorder` (Python 3.12+): ``sys.monitoring``. ``PY_START``
  fires once per code object for the whole session (then disabled for good) and
  turns ``LINE`` events on for the project's code objects only; each line event
  is disabled after its first hit. A switch re-arms only the code objects the
  context that ends touched, instead of ``restart_events()``, which re-armed every
  code object of the interpreter (pytest's own included) at every test.
* :class:`TracerRecorder` (older Pythons): coverage.py's C tracer driven
  directly, without coverage's data layer. It writes into a dict of sets; a
  switch hands the tracers a fresh dict, where coverage.py's ``switch_context``
  flushed every file's lines into SQLite. A frame already running keeps the dict
  it started with, so its lines stay with the context it was entered in.

Pure standard library and coverage; no pytest.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Dict, List, Optional, Set, Type

from pytest_orchestra.selection.recorder import IMPORT_CONTEXT, LineData, ProjectFiles

#: One stretch of a context between two switches: file (or code id) -> lines.
Segment = Dict[Any, Set[int]]


def _merge(segments: Dict[str, List[Segment]], name_of: Any) -> LineData:
    result: LineData = {}
    for context, parts in segments.items():
        by_file = result.setdefault(context, {})
        for part in parts:
            for key, lines in part.items():
                if lines:
                    by_file.setdefault(name_of(key), set()).update(lines)
    return result


class MonitoringRecorder:  # pragma: no cover - Python 3.12+; tested in a 3.12 subprocess
    """A ``sys.monitoring`` line recorder (Python 3.12+)."""

    name = "sys.monitoring"

    def __init__(self, files: ProjectFiles) -> None:
        self.files = files
        self.tool: Optional[int] = None
        self.segments: Dict[str, List[Segment]] = {}
        #: code id -> lines, for the context running now.
        self.current: Segment = {}
        # By id, holding the objects: code objects compare by value, and two files' identical
        # functions (``return self._x``) would otherwise pass for one.
        self._project_codes: Dict[int, Any] = {}

    def start(self, context: str = IMPORT_CONTEXT) -> None:
        monitoring = sys.monitoring  # type: ignore[attr-defined]
        for tool in (4, 3, 5, 2):
            if monitoring.get_tool(tool) is None:
                break
        else:
            raise RuntimeError("every sys.monitoring tool id is taken")
        monitoring.use_tool_id(tool, "pytest-orchestra")
        self.tool = tool
        events = monitoring.events
        monitoring.register_callback(tool, events.PY_START, self._on_start)
        monitoring.register_callback(tool, events.LINE, self._on_line)
        monitoring.set_events(tool, events.PY_START)
        self.switch(context)

    def _on_start(self, code: Any, offset: int) -> object:
        # Disabled for this code object once seen; nothing here re-arms PY_START.
        monitoring = sys.monitoring  # type: ignore[attr-defined]
        if id(code) not in self._project_codes and self.files(code.co_filename):
            self._project_codes[id(code)] = code
            monitoring.set_local_events(self.tool, code, monitoring.events.LINE)
        return monitoring.DISABLE

    def _on_line(self, code: Any, line: int) -> object:
        key = id(code)
        lines = self.current.get(key)
        if lines is None:
            lines = self.current[key] = set()
        lines.add(line)
        return sys.monitoring.DISABLE  # type: ignore[attr-defined]

    def switch(self, context: str) -> None:
        if self.tool is not None and self.current:
            monitoring = sys.monitoring  # type: ignore[attr-defined]
            line_event = monitoring.events.LINE
            # Turning a code object's events off and on again re-arms the lines it disabled.
            for key in self.current:
                code = self._project_codes[key]
                monitoring.set_local_events(self.tool, code, 0)
                monitoring.set_local_events(self.tool, code, line_event)
        self.current = {}
        self.segments.setdefault(context, []).append(self.current)

    def stop(self) -> LineData:
        if self.tool is not None:
            monitoring = sys.monitoring  # type: ignore[attr-defined]
            monitoring.set_events(self.tool, 0)
            for code in self._project_codes.values():
                monitoring.set_local_events(self.tool, code, 0)
            monitoring.register_callback(self.tool, monitoring.events.PY_START, None)
            monitoring.register_callback(self.tool, monitoring.events.LINE, None)
            monitoring.free_tool_id(self.tool)
            self.tool = None
        filenames = {key: code.co_filename for key, code in self._project_codes.items()}
        return _merge(self.segments, filenames.__getitem__)


class TracerRecorder:
    """coverage.py's tracer (C, or its Python twin) with a fresh dict per context switch."""

    def __init__(self, files: ProjectFiles, *, python_tracer: bool = False) -> None:
        # Two unrelated classes, driven alike through the attributes both have.
        disposition: Type[Any]
        tracer_class: Type[Any]
        if python_tracer:
            from coverage.disposition import FileDisposition as disposition
            from coverage.pytracer import PyTracer as tracer_class
        else:
            from coverage.tracer import CFileDisposition as disposition
            from coverage.tracer import CTracer as tracer_class
        self.name = f"coverage.py {tracer_class.__name__}"
        self.files = files
        self._tracer_class = tracer_class
        self._disposition = disposition
        self._dispositions: Dict[str, Any] = {}
        self.tracers: List[Any] = []
        self.segments: Dict[str, List[Segment]] = {}
        self.current: Segment = {}
        self._outer: Any = None
        #: Another coverage.py measurement (pytest-cov, ``coverage run``) was paused while recording.
        self.paused_other = False

    def _should_trace(self, filename: str, frame: Any) -> Any:
        disposition = self._disposition()
        disposition.original_filename = disposition.canonical_filename = disposition.source_filename = filename
        disposition.trace = self.files(filename)
        disposition.reason = "" if disposition.trace else "not in the project"
        disposition.file_tracer = None
        disposition.has_dynamic_filename = False
        return disposition

    def _new_tracer(self) -> Any:
        tracer = self._tracer_class()
        tracer.data = self.current
        tracer.trace_arcs = False
        tracer.should_trace = self._should_trace
        tracer.should_trace_cache = self._dispositions
        tracer.warn = _ignore_warning
        tracer.lock_data = tracer.unlock_data = _nothing
        for attribute, value in (("concur_id_func", None), ("file_tracers", {}), ("should_start_context", None),
                                 ("switch_context", None), ("disable_plugin", _ignore_warning),
                                 ("check_include", None), ("threading", None)):
            if hasattr(tracer, attribute):
                setattr(tracer, attribute, value)
        tracer.start()
        self.tracers.append(tracer)
        return tracer

    def _in_new_thread(self, frame: Any, event: str, arg: Any) -> Any:
        sys.settrace(None)
        return self._new_tracer()(frame, event, arg)

    def start(self, context: str = IMPORT_CONTEXT) -> None:
        self._outer = _running_coverage()
        self.paused_other = self._outer is not None
        if self._outer is not None:
            self._outer.pause()
        self.switch(context)
        self._new_tracer()
        threading.settrace(self._in_new_thread)

    def switch(self, context: str) -> None:
        self.current = {}
        self.segments.setdefault(context, []).append(self.current)
        for tracer in self.tracers:
            tracer.data = self.current

    def stop(self) -> LineData:
        threading.settrace(None)
        for tracer in self.tracers:
            tracer.stop()
        self.tracers = []
        if self._outer is not None:
            self._outer.resume()
            self._outer = None
        return _merge(self.segments, lambda filename: filename)


def _running_coverage() -> Any:
    """The collector of a coverage.py measurement running in this process, if any."""
    try:
        from coverage.collector import Collector
    except ImportError:  # pragma: no cover - coverage is a dependency
        return None
    collectors = getattr(Collector, "_collectors", None) or []
    return collectors[-1] if collectors else None


def _nothing() -> None:
    return None


def _ignore_warning(*args: Any, **kwargs: Any) -> None:
    return None


def line_recorder(files: ProjectFiles) -> Any:
    """The cheapest recorder this interpreter offers (``ORCHESTRA_RECORDER`` picks another:
    ``monitoring``, ``ctrace`` or ``pytracer``)."""
    wanted = os.environ.get("ORCHESTRA_RECORDER", "")
    if wanted in ("", "monitoring") and sys.version_info >= (3, 12):
        return MonitoringRecorder(files)
    if wanted != "pytracer":
        try:
            return TracerRecorder(files)
        except ImportError:  # pragma: no cover - coverage.py installed without its C extension
            pass
    return TracerRecorder(files, python_tracer=True)
