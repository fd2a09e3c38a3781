"""Which data files of the test tree a failing piece of code was reading.

"Product code failing on input read from a data file" is a data problem, not a
product bug, but the exception seldom says where its input came from. The live
traceback does: a frame's variables hold the path, the open file or the file's
whole content (a fixture read it and handed the text over), or the failing line
names the file in a string (``load(DATA / "orders.csv")``). Only
files of the test tree (under a ``tests``/``data``/``fixtures``... folder of the
rootdir) that are not Python count: they are the suite's inputs. Read on
failures only, with small caps, so a green run pays nothing.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from types import FrameType
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

#: Folders that hold a suite's input data rather than code (inside or beside the test folders).
DATA_FOLDERS = frozenset({"data", "fixtures", "testdata", "test_data"})
#: Folders that hold the test suite.
TEST_FOLDERS = frozenset({"tests", "test", "testing"})
#: Folders never searched.
SKIPPED_FOLDERS = frozenset({".git", "__pycache__", ".orchestra", ".pytest_cache", ".tox", ".nox", ".venv",
                             "venv", "node_modules", ".hypothesis", ".mypy_cache"})
CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyi", ".so", ".pyd")

#: Most variables looked at per frame, most entries walked per tree, longest string taken as a path.
LOCALS_LIMIT = 200
TREE_LIMIT = 50_000
PATH_LENGTH_LIMIT = 1_024

QUOTED = re.compile(r"""(?P<q>['"])(?P<text>[^'"\n]{1,200})(?P=q)""")


def in_test_tree(relative: str) -> bool:
    """Whether a rootdir-relative posix path lies in a test or data folder."""
    folders = relative.split("/")[:-1]
    return any(part in TEST_FOLDERS or part in DATA_FOLDERS for part in folders)


def _is_data_file(relative: str) -> bool:
    return in_test_tree(relative) and not relative.endswith(CODE_SUFFIXES) and not relative.endswith("conftest.py")


@functools.lru_cache(maxsize=8)
def test_tree_files(rootdir: Path) -> Dict[str, Tuple[str, ...]]:
    """Base name -> rootdir-relative paths of the test tree's data files (listed once per rootdir)."""
    found: Dict[str, List[str]] = {}
    seen = 0
    for directory, dirs, files in os.walk(rootdir):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_FOLDERS and not d.startswith("."))
        base = Path(directory).relative_to(rootdir).as_posix()
        for name in files:
            relative = name if base == "." else f"{base}/{name}"
            if _is_data_file(relative):
                found.setdefault(name, []).append(relative)
        seen += len(files) + len(dirs)
        if seen >= TREE_LIMIT:
            break
    return {name: tuple(sorted(paths)) for name, paths in found.items()}


def _relative(candidate: str, rootdir: Path, near: Optional[Path]) -> Optional[str]:
    """The rootdir-relative path of an existing data file ``candidate`` names, if any."""
    if not candidate or len(candidate) > PATH_LENGTH_LIMIT or "\0" in candidate:
        return None
    path = Path(candidate)
    options = [path] if path.is_absolute() else [p for p in ((near / path) if near else None, rootdir / path) if p]
    for option in options:
        try:
            if not option.is_file():
                continue
            relative = option.resolve().relative_to(rootdir.resolve()).as_posix()
        except (OSError, ValueError):
            continue
        return relative if _is_data_file(relative) else None
    return None


def _path_like(value: Any) -> Optional[str]:
    if isinstance(value, str):
        return value if ("/" in value or "." in value) and len(value) <= PATH_LENGTH_LIMIT and "\n" not in value else None
    if isinstance(value, os.PathLike):
        try:
            return os.fspath(value)  # type: ignore[arg-type]
        except TypeError:
            return None
    name = getattr(value, "name", None) if hasattr(value, "read") else None
    return name if isinstance(name, str) else None


#: Shortest text taken for a data file's whole content (shorter strings are too common to tell).
CONTENT_MINIMUM = 16
#: Largest data file indexed by content, and most bytes indexed per tree.
CONTENT_FILE_LIMIT = 2 * 1024 * 1024
CONTENT_TREE_LIMIT = 64 * 1024 * 1024


def _digest(data: bytes) -> bytes:
    import hashlib

    return hashlib.blake2b(data, digest_size=16).digest()


@functools.lru_cache(maxsize=8)
def _test_tree_data(rootdir: Path) -> Tuple[Dict[bytes, str], Tuple[Tuple[str, str], ...]]:
    """The test tree's data files, read once per process: digests of each file's content (bytes, and
    text with newlines as Python reads them) -> path, and (path, text) of the text files."""
    index: Dict[bytes, str] = {}
    texts: List[Tuple[str, str]] = []
    total = 0
    for paths in test_tree_files(rootdir).values():
        for relative in paths:
            path = rootdir / relative
            try:
                size = path.stat().st_size
                if size > CONTENT_FILE_LIMIT or total + size > CONTENT_TREE_LIMIT:
                    continue
                raw = path.read_bytes()
            except OSError:
                continue
            total += size
            index.setdefault(_digest(raw), relative)
            text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            index.setdefault(_digest(text), relative)
            index.setdefault(_digest(text.strip()), relative)
            if b"\0" not in raw[:1024]:
                texts.append((relative, text.decode("utf-8", "replace")))
    return index, tuple(texts)


def test_tree_contents(rootdir: Path) -> Dict[bytes, str]:
    """Digest of each test-tree data file's content -> its rootdir-relative path: a fixture that
    hands a test a file's *content* is found by it."""
    return _test_tree_data(rootdir)[0]


#: Shortest value looked up inside data files (shorter ones are everywhere).
VALUE_MINIMUM = 4
VALUE_MAXIMUM = 300


def _from_values(frame: FrameType, rootdir: Path) -> List[str]:
    """Data files holding a string value of the frame that its own source does not spell out:
    a line or field the code read from the file (``isoparse(line)``)."""
    try:
        values = [v for v in list(frame.f_locals.values())[:LOCALS_LIMIT]
                  if isinstance(v, str) and VALUE_MINIMUM <= len(v.strip()) <= VALUE_MAXIMUM and "\n" not in v.strip()]
    except Exception:  # noqa: BLE001 - a frame's locals are best effort
        return []
    if not values:
        return []
    import linecache

    source = "".join(linecache.getlines(frame.f_code.co_filename))
    found: List[str] = []
    texts = _test_tree_data(rootdir)[1]
    for value in values[:50]:
        needle = value.strip()
        if needle in source:
            continue  # a literal of the code itself, not data it read
        found.extend(relative for relative, text in texts if needle in text)
    return found


def _content_of(value: Any, rootdir: Path) -> Optional[str]:
    """The data file whose whole content ``value`` is (a str or bytes read from it), if any."""
    if isinstance(value, str):
        if len(value) < CONTENT_MINIMUM or len(value) > CONTENT_FILE_LIMIT:
            return None
        data = value.encode("utf-8", "surrogateescape")
    elif isinstance(value, (bytes, bytearray)):
        if len(value) < CONTENT_MINIMUM or len(value) > CONTENT_FILE_LIMIT:
            return None
        data = bytes(value)
    else:
        return None
    index = test_tree_contents(rootdir)
    return index.get(_digest(data)) or index.get(_digest(data.strip()))


def _from_variables(frame: FrameType, rootdir: Path, near: Optional[Path]) -> List[str]:
    found: List[str] = []
    try:
        values: Iterable[Any] = list(frame.f_locals.values())[:LOCALS_LIMIT]
    except Exception:  # noqa: BLE001 - a frame's locals are best effort
        return found
    for value in values:
        items = value if isinstance(value, (list, tuple)) and len(value) <= 20 else (value,)
        for item in items:
            text = _path_like(item)
            relative = _relative(text, rootdir, near) if text is not None else None
            if relative is None:
                relative = _content_of(item, rootdir)
            if relative is not None:
                found.append(relative)
    return found


def _from_line(line: str, rootdir: Path, near: Optional[Path]) -> List[str]:
    found: List[str] = []
    for match in QUOTED.finditer(line):
        text = match.group("text")
        relative = _relative(text, rootdir, near)
        if relative is None and "/" not in text and "." in text:
            matches = test_tree_files(rootdir).get(text, ())
            relative = matches[0] if len(matches) == 1 else None
        if relative is not None:
            found.append(relative)
    return found


def data_inputs(
    frames: Sequence[Tuple[FrameType, str, str]], rootdir: Path
) -> Tuple[str, ...]:
    """Data files named by the project's frames: ``(frame, kind, source line)``, outermost first."""
    found: List[str] = []
    for frame, kind, line in frames:
        if kind not in ("test", "conftest", "data", "product"):
            continue
        near = Path(frame.f_code.co_filename).parent
        found.extend(_from_variables(frame, rootdir, near))
        if line:
            found.extend(_from_line(line, rootdir, near))
    if not found:
        for frame, kind, _line in frames:
            if kind in ("test", "conftest", "product"):
                found.extend(_from_values(frame, rootdir))
    return tuple(dict.fromkeys(found))[:10]


def import_path_archives(rootdir: Path) -> Tuple[str, ...]:
    """Archives of the test tree on ``sys.path`` (zip-imported packages): an import from one may fail."""
    import sys

    found = []
    for entry in sys.path[:200]:
        if not entry or not entry.lower().endswith((".zip", ".egg", ".whl")):
            continue
        relative = _relative(entry, rootdir, None)
        if relative is not None:
            found.append(relative)
    return tuple(found)
