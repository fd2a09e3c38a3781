"""Which lines each test executes and which files it reads, per context.

A *context* is a test's node id, a higher-scoped fixture's key (its lines serve
every test that uses it), or :data:`IMPORT_CONTEXT` for what runs outside any
test: imports and collection.

Two line recorders, the same interface:

* :class:`MonitoringRecorder` (Python 3.12+): ``sys.monitoring`` LINE events on
  the project's code objects only, each disabled after its first hit and
  restarted at every context switch, so each line costs one callback per test.
* :class:`CoverageRecorder` (older Pythons): coverage.py's C tracer with one
  dynamic context per test. Its ``sysmon`` core credits a line to the first
  context only (coveragepy #2200), so the ``ctrace`` core is pinned.

Plus :class:`OpenRecorder`: an audit hook noting files opened for reading.
Pure standard library and coverage; no pytest.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

IMPORT_CONTEXT = "<import>"

#: Folders never recorded: environments, caches, our own state.
EXCLUDED_PARTS = frozenset(
    {".git", ".hg", ".orchestra", ".tox", ".nox", ".venv", "venv", "env", "node_modules", "__pycache__",
     "site-packages", "dist-packages", ".eggs", "build", ".pytest_cache", ".mypy_cache"}
)

#: context -> absolute file name -> executed lines
LineData = Dict[str, Dict[str, Set[int]]]
#: context -> absolute paths opened for reading
OpenData = Dict[str, Set[str]]


class ProjectFiles:
    """Decides, once per file name, whether a file belongs to the project."""

    def __init__(self, root: Path, *, exclude: Iterable[Path] = ()) -> None:
        self.root = str(root.resolve())
        self.prefix = self.root.rstrip(os.sep) + os.sep
        self.exclude = tuple(str(path.resolve()).rstrip(os.sep) + os.sep for path in exclude)
        self._cache: Dict[str, bool] = {}

    def __call__(self, filename: str) -> bool:
        known = self._cache.get(filename)
        if known is None:
            known = self._cache[filename] = self._decide(filename)
        return known

    def _decide(self, filename: str) -> bool:
        if not filename.startswith(self.prefix) or filename.startswith(self.exclude):
            return False
        relative = filename[len(self.prefix):]
        return not EXCLUDED_PARTS.intersection(relative.split(os.sep)[:-1])

    def relative(self, filename: str) -> str:
        return Path(filename[len(self.prefix):]).as_posix()


class MonitoringRecorder:  # pragma: no cover - Python 3.12+; tested in a 3.12 subprocess
    """A ``sys.monitoring`` line recorder (Python 3.12+)."""

    name = "sys.monitoring"

    def __init__(self, files: ProjectFiles) -> None:
        self.files = files
        self.data: LineData = {}
        self.current: Dict[str, Set[int]] = {}
        self.tool: Optional[int] = None
        # By id, holding the objects: code objects compare by value, and two files' identical
        # functions (``return self._x``) would otherwise pass for one.
        self._seen: Dict[int, object] = {}
        self._instrumented: List[object] = []

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

    def _on_start(self, code: object, offset: int) -> object:
        monitoring = sys.monitoring  # type: ignore[attr-defined]
        if id(code) not in self._seen:
            self._seen[id(code)] = code
            if self.files(code.co_filename):  # type: ignore[attr-defined]
                self._instrumented.append(code)
                monitoring.set_local_events(self.tool, code, monitoring.events.LINE)
        return monitoring.DISABLE

    def _on_line(self, code: object, line: int) -> object:
        filename = code.co_filename  # type: ignore[attr-defined]
        lines = self.current.get(filename)
        if lines is None:
            lines = self.current[filename] = set()
        lines.add(line)
        return sys.monitoring.DISABLE  # type: ignore[attr-defined]

    def switch(self, context: str) -> None:
        self.current = self.data.setdefault(context, {})
        if self.tool is not None:
            sys.monitoring.restart_events()  # type: ignore[attr-defined]

    def stop(self) -> LineData:
        if self.tool is not None:
            monitoring = sys.monitoring  # type: ignore[attr-defined]
            monitoring.set_events(self.tool, 0)
            for code in self._instrumented:
                monitoring.set_local_events(self.tool, code, 0)
            monitoring.register_callback(self.tool, monitoring.events.PY_START, None)
            monitoring.register_callback(self.tool, monitoring.events.LINE, None)
            monitoring.free_tool_id(self.tool)
            self.tool = None
        return self.data


class CoverageRecorder:
    """coverage.py's C tracer with a dynamic context per test (before Python 3.12)."""

    name = "coverage.py ctrace"

    def __init__(self, files: ProjectFiles) -> None:
        import coverage

        self.files = files
        self.coverage = coverage.Coverage(
            data_file=None,
            config_file=False,
            include=[files.prefix + "*"],
            omit=[f"*{os.sep}{part}{os.sep}*" for part in sorted(EXCLUDED_PARTS)]
            + [prefix + "*" for prefix in files.exclude],
        )
        try:
            self.coverage.set_option("run:core", "ctrace")
        except Exception:  # pragma: no cover - a coverage.py without the option
            pass
        #: Another measurement paused while this one runs (pytest-cov, say).
        self.paused_other = False

    def start(self, context: str = IMPORT_CONTEXT) -> None:
        import coverage

        self.paused_other = coverage.Coverage.current() is not None
        self.coverage.start()
        self.coverage.switch_context(context)

    def switch(self, context: str) -> None:
        self.coverage.switch_context(context)

    def stop(self) -> LineData:
        self.coverage.stop()
        data = self.coverage.get_data()
        result: LineData = {}
        for filename in data.measured_files():
            if not self.files(filename):
                continue
            for line, contexts in data.contexts_by_lineno(filename).items():
                for context in contexts:
                    result.setdefault(context or IMPORT_CONTEXT, {}).setdefault(filename, set()).add(line)
        return result


def line_recorder(files: ProjectFiles) -> "MonitoringRecorder | CoverageRecorder":
    """The best recorder this interpreter offers."""
    if sys.version_info >= (3, 12) and os.environ.get("ORCHESTRA_RECORDER") != "coverage":
        return MonitoringRecorder(files)
    return CoverageRecorder(files)


class OpenRecorder:
    """Files of the project opened for reading, per context, through an audit hook.

    Audit hooks cannot be removed, so one hook per process forwards to the
    recorder that is active, if any.
    """

    _active: Optional["OpenRecorder"] = None
    _installed = False

    def __init__(self, files: ProjectFiles, *, ignore_suffixes: Tuple[str, ...] = (".py", ".pyc", ".pyi")) -> None:
        self.files = files
        self.ignore_suffixes = ignore_suffixes
        self.data: OpenData = {}
        self.current: Set[str] = set()

    def start(self, context: str = IMPORT_CONTEXT) -> None:
        if not OpenRecorder._installed:
            sys.addaudithook(_audit)
            OpenRecorder._installed = True
        self.switch(context)
        OpenRecorder._active = self

    def switch(self, context: str) -> None:
        self.current = self.data.setdefault(context, set())

    def stop(self) -> OpenData:
        if OpenRecorder._active is self:
            OpenRecorder._active = None
        return self.data

    def saw(self, path: object, mode: object, flags: object) -> None:
        if isinstance(path, int):
            return
        if isinstance(mode, str):
            if "r" not in mode and "+" not in mode:
                return
        elif isinstance(flags, int) and flags & os.O_ACCMODE == os.O_WRONLY:
            return
        try:
            text = os.fsdecode(path)  # type: ignore[arg-type]
        except TypeError:
            return
        if text.endswith(self.ignore_suffixes):
            return
        absolute = os.path.abspath(text)
        if self.files(absolute) and os.path.isfile(absolute):
            self.current.add(absolute)


def _audit(event: str, args: Tuple[object, ...]) -> None:
    if event != "open":
        return
    recorder = OpenRecorder._active
    if recorder is not None and len(args) >= 3:
        recorder.saw(args[0], args[1], args[2])


Switcher = Callable[[str], None]
