"""Extracting :class:`FailureEvidence` from a live exception or from failure text.

``evidence_from_excinfo`` runs where the exception is alive (a worker under
xdist) and reduces it to names and text that travel on the report;
``evidence_from_longrepr`` is the fallback for what only exists as text
(collection errors, crashed workers, reports from older workers).
``failure_from_report`` builds the :class:`Failure` the classifier sees.
No pytest import at run time: reports and ExceptionInfo are read duck-typed.
"""

from __future__ import annotations

import builtins
import fnmatch
import functools
import re
import sys
from pathlib import Path, PurePath
from types import TracebackType
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from pytest_orchestra.core import channel
from pytest_orchestra.triage.datainputs import DATA_FOLDERS, TEST_FOLDERS
from pytest_orchestra.triage.failure import (
    CAPTURED_LIMIT,
    MESSAGE_LIMIT,
    PROJECT_KINDS,
    Failure,
    FailureEvidence,
    Frame,
    cap,
)
from pytest_orchestra.triage.rules.facts import STDLIB_DIRS

if TYPE_CHECKING:
    from _pytest._code import ExceptionInfo

DEFAULT_TEST_PATTERNS: tuple[str, ...] = ("test_*.py", "*_test.py")

#: Path components of pytest's own machinery, dropped from tracebacks.
INTERNAL_PARTS = frozenset({"_pytest", "pluggy", "xdist", "execnet"})

#: Most frames kept per exception; the innermost ones matter.
FRAME_LIMIT = 40
#: Most linked exceptions (causes and contexts) followed.
CHAIN_LIMIT = 5
#: Longest source line kept for a frame.
LINE_LIMIT = 200



# --- frame kinds --------------------------------------------------------------------


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


# --- from a live exception ------------------------------------------------------


def _qualified(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def _message(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not break triage
        text = f"<unprintable {type(exc).__name__}>"
    return cap(text, MESSAGE_LIMIT)


def _linked(exc: BaseException) -> BaseException | None:
    if exc.__cause__ is not None:
        return exc.__cause__
    if exc.__context__ is not None and not exc.__suppress_context__:
        return exc.__context__
    return None


def _raw_frames(
    tb: TracebackType | None, rootdir: Path, patterns: Sequence[str], live: list | None = None
) -> list[Frame]:
    """The traceback's frames; the project's own carry their source line.

    ``live`` (when given) receives ``(frame object, kind, line)`` of each frame,
    for readers that look into variables (see ``datainputs``).
    """
    frames: list[Frame] = []
    while tb is not None:
        code = tb.tb_frame.f_code
        frame = _frame(code.co_filename, tb.tb_lineno, code.co_name, rootdir, patterns)
        if frame.kind in PROJECT_KINDS:
            frame.line = _source_line(code.co_filename, tb.tb_lineno)
        if live is not None:
            live.append((tb.tb_frame, frame.kind, frame.line))
        frames.append(frame)
        tb = tb.tb_next
    return frames


def _source_line(filename: str, lineno: int) -> str:
    import linecache

    linecache.checkcache(filename)  # a file edited since it was cached must not show its old line
    return linecache.getline(filename, lineno).strip()[:LINE_LIMIT]


#: Exceptions the data rules never read data inputs for (a test's own check, the OS's or network's
#: errors, a name or attribute mistake): looking into frames' variables for them is wasted work.
_NO_DATA_INPUTS: tuple[type, ...] = (AssertionError, OSError, NameError, AttributeError, MemoryError, RecursionError)


def _wants_data_inputs(exc: BaseException | None) -> bool:
    if exc is None:
        return True
    if isinstance(exc, ImportError) or isinstance(exc, UnicodeError):
        return True
    return not isinstance(exc, _NO_DATA_INPUTS) and type(exc).__module__ != "_pytest.outcomes"


def _data_inputs(live: list, rootdir: Path, exc: BaseException | None = None) -> tuple[str, ...]:
    if not _wants_data_inputs(exc):
        return ()
    try:
        from pytest_orchestra.triage.datainputs import data_inputs, import_path_archives

        found = data_inputs(live, rootdir)
        if isinstance(exc, ImportError):
            found += import_path_archives(rootdir)
        return found
    except Exception:  # noqa: BLE001 - best effort: the rules still see the exception
        return ()


def _frame(path: str, lineno: int, function: str, rootdir: Path, patterns: Sequence[str]) -> Frame:
    kind, shown = frame_kind(path, rootdir, patterns)
    return Frame(path=shown, lineno=lineno, function=function, kind=kind)


def _with_syntax_location(
    exc: BaseException, frames: list[Frame], rootdir: Path, patterns: Sequence[str]
) -> list[Frame]:
    """A SyntaxError's offending file is not a traceback frame; add it as the innermost one."""
    if isinstance(exc, SyntaxError) and exc.filename and not exc.filename.startswith("<"):
        frames = [*frames, _frame(exc.filename, exc.lineno or 0, "<module>", rootdir, patterns)]
    return frames


def _keep(frames: Iterable[Frame]) -> tuple[Frame, ...]:
    kept = [frame for frame in frames if not _is_internal(frame.path)]
    return tuple(kept[-FRAME_LIMIT:])


def evidence_from_exception(
    exc: BaseException,
    *,
    rootdir: Path,
    test_file_patterns: Sequence[str] = DEFAULT_TEST_PATTERNS,
    _seen: set[int] | None = None,
) -> FailureEvidence:
    """Evidence from an exception object (its own ``__traceback__``) and its chain."""
    seen = _seen if _seen is not None else {id(exc)}
    live: list = []
    frames = _raw_frames(exc.__traceback__, rootdir, tuple(test_file_patterns), live)
    return FailureEvidence(
        exception_type=_qualified(type(exc)),
        exception_mro=tuple(_qualified(kind) for kind in type(exc).__mro__),
        message=_message(exc),
        frames=_keep(_with_syntax_location(exc, frames, rootdir, test_file_patterns)),
        chain=_chain(exc, rootdir, test_file_patterns, seen),
        data_inputs=_data_inputs(live, rootdir, exc),
    )


def _chain(
    exc: BaseException, rootdir: Path, patterns: Sequence[str], seen: set[int]
) -> tuple[FailureEvidence, ...]:
    linked = _linked(exc)
    if linked is None or id(linked) in seen or len(seen) > CHAIN_LIMIT:
        return ()
    seen.add(id(linked))
    return (evidence_from_exception(linked, rootdir=rootdir, test_file_patterns=patterns, _seen=seen),)


def evidence_from_excinfo(
    excinfo: ExceptionInfo[BaseException],
    *,
    rootdir: Path,
    test_file_patterns: Sequence[str] = DEFAULT_TEST_PATTERNS,
) -> FailureEvidence:
    """Evidence from pytest's ``ExceptionInfo`` of a failed phase.

    pytest's traceback (already cut to the test) gives the frames; pytest,
    pluggy and xdist frames are dropped, so the innermost frame is where the
    project, a library or the stdlib raised.
    """
    exc = excinfo.value
    # The raw traceback, not pytest's ``excinfo.traceback``: building pytest's
    # entries costs more than the rest of triage, and the frames it cuts away
    # (pytest's and pluggy's) are dropped by ``_keep`` all the same.
    live: list = []
    frames = _raw_frames(excinfo.tb, rootdir, tuple(test_file_patterns), live)
    return FailureEvidence(
        exception_type=_qualified(type(exc)),
        exception_mro=tuple(_qualified(kind) for kind in type(exc).__mro__),
        message=_message(exc),
        frames=_keep(_with_syntax_location(exc, frames, rootdir, test_file_patterns)),
        chain=_chain(exc, rootdir, test_file_patterns, {id(exc)}),
        data_inputs=_data_inputs(live, rootdir, exc),
    )


# --- from failure text -------------------------------------------------------------

CHAIN_SEPARATORS = re.compile(
    r"^(The above exception was the direct cause of the following exception:"
    r"|During handling of the above exception, another exception occurred:)\s*$",
    re.MULTILINE,
)
ERROR_LINE = re.compile(r"^E\s{1,8}(.*)$")
EXCEPTION_HEAD = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")
EXCEPTION_SUFFIXES = ("Error", "Exception", "Exit", "Failed", "Interrupt", "Warning", "Empty",
                      "Expired", "Timeout", "Mismatch", "Skipped", "Exhausted")
# "tests/test_a.py:12: in test_x" (short/collection style) or "tests/test_a.py:12: KeyError"
LOCATION = re.compile(r"^(<frozen [\w.]+>|\S[^\n:]*\.py):(\d+):(?: in (\S+)| ([\w.]+))?\s*$")
#: The source line pytest prints under a short traceback entry (``    x = os.environ["A"]``).
SOURCE_LINE = re.compile(r"^\s{2,}(\S.*)$")
DEF_LINE = re.compile(r"^[>\s]*(?:async\s+)?def\s+(\w+)\s*\(")
SYNTAX_FILE = re.compile(r'^\s*File "([^"]+)", line (\d+)')
FIXTURE_NOT_FOUND = re.compile(r"fixture '([^']+)' not found")
WORKER_CRASHED = re.compile(r"worker '([^']+)' crashed")
IMPORT_ERROR_HEAD = re.compile(r"ImportError while importing test module '([^']+)'")


def _looks_like_exception(name: str) -> bool:
    """``Failed``, ``json.decoder.JSONDecodeError``, ``acme.Boom``; not ``Hint`` or ``assert``."""
    last = name.rsplit(".", 1)[-1]
    if not last[:1].isupper():
        return False
    return "." in name or last.endswith(EXCEPTION_SUFFIXES) or isinstance(getattr(builtins, last, None), type)


def _type_from_name(name: str) -> tuple[str, tuple[str, ...]]:
    """Qualified name and MRO for an exception named in text, as far as it can be known."""
    if "." not in name and isinstance(getattr(builtins, name, None), type):
        kind = getattr(builtins, name)
        return _qualified(kind), tuple(_qualified(k) for k in kind.__mro__)
    module_name, _, attr = name.rpartition(".")
    module = sys.modules.get(module_name) if module_name else None
    kind = getattr(module, attr, None) if module is not None else None
    if isinstance(kind, type) and issubclass(kind, BaseException):
        return _qualified(kind), tuple(_qualified(k) for k in kind.__mro__)
    return name, (name,)


def _section_evidence(section: str, rootdir: Path) -> FailureEvidence | None:
    exception_name: str | None = None
    message_lines: list[str] = []
    frames: list[Frame] = []
    last_def = ""
    awaiting_source: Frame | None = None
    for line in section.splitlines():
        if awaiting_source is not None:
            source = SOURCE_LINE.match(line)
            if source and source.group(1) != "???" and not ERROR_LINE.match(line):
                awaiting_source.line = source.group(1).strip()[:LINE_LIMIT]
            awaiting_source = None
        error = ERROR_LINE.match(line)
        if error:
            text = error.group(1)
            syntax = SYNTAX_FILE.match(text)
            if syntax:
                frames.append(_frame(syntax.group(1), int(syntax.group(2)), "<module>", rootdir, DEFAULT_TEST_PATTERNS))
                continue
            head = EXCEPTION_HEAD.match(text.strip()) if exception_name is None else None
            if head and _looks_like_exception(head.group(1)):
                exception_name = head.group(1)
                message_lines = [head.group(2) or ""]
            elif exception_name is not None:
                message_lines.append(text.strip())
            else:
                message_lines.append(text.strip())
            continue
        defined = DEF_LINE.match(line)
        if defined:
            last_def = defined.group(1)
            continue
        location = LOCATION.match(line.strip())
        if location:
            function = location.group(3) or last_def
            frames.append(_frame(location.group(1), int(location.group(2)), function, rootdir, DEFAULT_TEST_PATTERNS))
            if frames[-1].kind in PROJECT_KINDS:
                awaiting_source = frames[-1]
            if location.group(4) and exception_name is None:
                exception_name = location.group(4)
            last_def = ""
    found = FIXTURE_NOT_FOUND.search(section)
    if exception_name is None and found:
        exception_name = "_pytest.fixtures.FixtureLookupError"
        message_lines = [found.group(0)]
    if exception_name is None:
        return None
    qualified, mro = _type_from_name(exception_name)
    return FailureEvidence(
        exception_type=qualified,
        exception_mro=mro,
        message=cap("\n".join(message_lines).strip(), MESSAGE_LIMIT),
        frames=_keep(frames),
    )


def evidence_from_longrepr(text: str, *, rootdir: Path) -> FailureEvidence | None:
    """Evidence parsed from pytest's failure text; None when no exception is named.

    Reads pytest's ``E   Type: message`` lines and ``path:lineno: ...``
    locations; chained sections become the chain (the last section is the
    exception that was raised last, i.e. the primary one).
    """
    if not text:
        return None
    sections = CHAIN_SEPARATORS.split(text)
    # split() keeps the separator text at odd positions; drop it.
    parsed = [_section_evidence(part, rootdir) for part in sections[::2]]
    found = [evidence for evidence in parsed if evidence is not None]
    if not found:
        return None
    primary = found[-1]
    earlier = tuple(reversed(found[:-1]))
    if earlier:
        # Nest so that the chain reads cause of cause ... as the live extraction does.
        linked: tuple[FailureEvidence, ...] = ()
        for evidence in reversed(earlier):
            evidence.chain = linked
            linked = (evidence,)
        primary.chain = linked
    return primary


# --- from a report ---------------------------------------------------------------


def _captured(report: Any) -> str:
    parts = []
    for title, content in getattr(report, "sections", ()) or ():
        if "Captured" in title and content:
            parts.append(f"--- {title} ---\n{content}")
    return cap("\n".join(parts), CAPTURED_LIMIT)


def _phase(report: Any) -> str:
    # CollectReport.when is "collect"; xdist reports a crashed worker's test as "???".
    when = getattr(report, "when", None) or "collect"
    return when if when in ("setup", "call", "teardown", "collect") else "crash"


def failure_from_report(
    report: Any,
    *,
    rootdir: Path,
    markers: Sequence[str] = (),
    app: str | None = None,
    attempts: int = 1,
    passed_on_retry: bool = False,
    context: Mapping[str, str] | None = None,
) -> Failure:
    """The :class:`Failure` of a failed test or collect report.

    Uses the evidence a worker attached (``report.orchestra_evidence``) and
    falls back to parsing ``report.longrepr``.
    """
    longrepr = str(report.longrepr) if report.longrepr is not None else ""
    raw = channel.read(report, channel.EVIDENCE)
    if isinstance(raw, dict):
        evidence: FailureEvidence | None = FailureEvidence.from_dict(raw)
    else:
        evidence = evidence_from_longrepr(longrepr, rootdir=rootdir)
    phase = _phase(report)
    return Failure(
        nodeid=report.nodeid or str(getattr(report, "fspath", "") or "<collection>"),
        phase=phase,
        outcome="failed" if phase == "call" else "error",
        evidence=evidence,
        longrepr=longrepr,
        captured=_captured(report),
        markers=tuple(markers),
        app=app,
        attempts=attempts,
        passed_on_retry=passed_on_retry,
        context=dict(context or {}),
    )
