"""Which lines each test executes and which files it reads, per context.

A *context* is a test's node id, a higher-scoped fixture's key (its lines serve
every test that uses it), or :data:`IMPORT_CONTEXT` for what runs outside any
test: imports and collection.

The line recorders (``sys.monitoring`` on Python 3.12+, coverage.py's C tracer
before) live in :mod:`~pytest_orchestra.selection.tracers`, whose
``line_recorder`` picks one. coverage.py's own ``sysmon`` core is not used: it credits a line to
the first context only (coveragepy #2200).

Here: :class:`ProjectFiles`, which decides what the project is, and
:class:`OpenRecorder`, an audit hook noting files opened for reading.
Pure standard library and coverage; no pytest.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Dict, Iterable, Optional, Set, Tuple

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
