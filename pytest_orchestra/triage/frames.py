"""Whose code a traceback frame is: test, conftest, data, product, site-packages or stdlib.

A frame's kind comes from its file's path (rootdir-relative when under the
rootdir, with the project's own packages recognised even when installed into
site-packages); frames of pytest's own machinery are dropped and only the
innermost ones kept. Shared by both readers of evidence: the live exception
(``exception_evidence``) and pytest's failure text (``traceback_text``).
"""

from __future__ import annotations

import fnmatch
import functools
import sysconfig
from pathlib import Path, PurePath
from typing import Iterable, Sequence

from pytest_orchestra.triage.datainputs import DATA_FOLDERS, TEST_FOLDERS
from pytest_orchestra.triage.failure import Frame

#: The standard library's folders: a frame there is neither the project's nor a library's.
STDLIB_DIRS: tuple[str, ...] = tuple(
    {str(Path(p).resolve()) for key in ("stdlib", "platstdlib") if (p := sysconfig.get_paths().get(key))}
)

DEFAULT_TEST_PATTERNS: tuple[str, ...] = ("test_*.py", "*_test.py")

#: Path components of pytest's own machinery, dropped from tracebacks.
INTERNAL_PARTS = frozenset({"_pytest", "pluggy", "xdist", "execnet"})

#: Most frames kept per exception; the innermost ones matter.
FRAME_LIMIT = 40
#: Longest source line kept for a frame.
LINE_LIMIT = 200


@functools.lru_cache(maxsize=4096)
def _is_internal(path: str) -> bool:
    parts = PurePath(path).parts
    if INTERNAL_PARTS.intersection(parts):
        return True
    # pytest's own package (pytest/__init__.py), not a project folder named pytest.
    return len(parts) >= 2 and parts[-2] == "pytest" and "site-packages" in parts


def frame_kind(path: str, rootdir: Path, test_file_patterns: Sequence[str] = DEFAULT_TEST_PATTERNS) -> tuple[str, str]:
    """The frame's kind and the path to report (rootdir-relative posix when under it)."""
    return _frame_kind(path, rootdir, tuple(test_file_patterns))


# Deep tracebacks repeat the same few files (socket.py, http/client.py...) across
# hundreds of failures: the kind of a path is computed once.
@functools.lru_cache(maxsize=4096)
def _frame_kind(path: str, rootdir: Path, test_file_patterns: tuple[str, ...]) -> tuple[str, str]:
    if path.startswith("<"):  # <frozen importlib._bootstrap>, <string>
        return "stdlib", path
    candidate = Path(path)
    absolute = candidate if candidate.is_absolute() else rootdir / candidate
    parts = absolute.parts
    if "site-packages" in parts or "dist-packages" in parts:
        # The project itself installed into the environment (tox, a wheel under test):
        # its code is still the code under test.
        index = max(i for i, part in enumerate(parts) if part in ("site-packages", "dist-packages"))
        inside = parts[index + 1:]
        if inside and _module_name(inside[0]) in project_packages(rootdir):
            return "product", "/".join(inside)
        return "site-packages", absolute.as_posix()
    try:
        relative = absolute.relative_to(rootdir)
    except ValueError:
        resolved = str(absolute)
        if any(resolved.startswith(stdlib) for stdlib in STDLIB_DIRS):
            return "stdlib", absolute.as_posix()
        return "site-packages", absolute.as_posix()
    return project_kind(relative.as_posix(), test_file_patterns), relative.as_posix()


def _module_name(part: str) -> str:
    return part[:-3] if part.endswith(".py") else part


#: Top-level names in a rootdir that are tooling, not the project's importable code.
_NOT_PROJECT_MODULES = frozenset({"setup", "conftest", "noxfile", "tasks", "fabfile", "manage", "docs", "doc",
                                   "examples", "scripts", "benchmarks", "build", "dist"})


@functools.lru_cache(maxsize=16)
def project_packages(rootdir: Path) -> frozenset[str]:
    """Top-level packages and modules the project defines (in the rootdir or its ``src/``)."""
    names: set[str] = set()
    for base in (rootdir, rootdir / "src"):
        try:
            entries = list(base.iterdir())
        except OSError:
            continue
        for entry in entries:
            name = _module_name(entry.name)
            if not name.isidentifier() or name in _NOT_PROJECT_MODULES or name in TEST_FOLDERS:
                continue
            if (entry.is_dir() and (entry / "__init__.py").is_file()) or (
                entry.is_file() and entry.name.endswith(".py")
            ):
                names.add(name)
    return frozenset(names)


def project_kind(relative: str, test_file_patterns: Sequence[str] = DEFAULT_TEST_PATTERNS) -> str:
    """test, conftest, data or product for a rootdir-relative path."""
    parts = relative.split("/")
    name = parts[-1]
    if name == "conftest.py":
        return "conftest"
    folders = parts[:-1]
    in_tests = [i for i, folder in enumerate(folders) if folder in TEST_FOLDERS]
    if in_tests and any(folder in DATA_FOLDERS for folder in folders[in_tests[0] + 1:]):
        return "data"
    if in_tests and not name.endswith(".py"):
        return "data"  # a template or other data file the code executes (its frames name it)
    if any(fnmatch.fnmatch(name, pattern) for pattern in test_file_patterns):
        return "test"
    # Helpers living in the test tree (tests/helpers.py) are test code, not product.
    return "test" if in_tests else "product"


def frame_at(path: str, lineno: int, function: str, rootdir: Path, patterns: Sequence[str]) -> Frame:
    """The :class:`Frame` of ``path:lineno`` in ``function``, with its kind and reported path."""
    kind, shown = frame_kind(path, rootdir, patterns)
    return Frame(path=shown, lineno=lineno, function=function, kind=kind)


def kept_frames(frames: Iterable[Frame]) -> tuple[Frame, ...]:
    """The frames outside pytest's machinery, innermost :data:`FRAME_LIMIT` of them."""
    kept = [frame for frame in frames if not _is_internal(frame.path)]
    return tuple(kept[-FRAME_LIMIT:])
