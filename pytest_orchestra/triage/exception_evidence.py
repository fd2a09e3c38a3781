"""Reading :class:`FailureEvidence` from a live exception and its chain of causes.

Runs where the exception is alive (a worker under xdist) and reduces it to
names and text that travel on the report: the exception's qualified type and
MRO, its message, the traceback's frames (the project's own with their source
line), its causes and contexts, and the data files its frames were reading
(see ``datainputs``). No pytest import at run time: ``ExceptionInfo`` is read
duck-typed.
"""

from __future__ import annotations

from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Sequence

from pytest_orchestra.triage.failure import MESSAGE_LIMIT, PROJECT_KINDS, FailureEvidence, Frame, cap
from pytest_orchestra.triage.frames import DEFAULT_TEST_PATTERNS, LINE_LIMIT, frame_at, kept_frames

if TYPE_CHECKING:
    from _pytest._code import ExceptionInfo

#: Most linked exceptions (causes and contexts) followed.
CHAIN_LIMIT = 5

#: What ``_raw_frames`` hands to the data-input readers: (frame object, kind, source line).
LiveFrame = tuple[FrameType, str, str]


def qualified_name(kind: type) -> str:
    """``module.QualName`` of a class, as evidence names exception types."""
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
    tb: TracebackType | None, rootdir: Path, patterns: Sequence[str], live: list[LiveFrame] | None = None
) -> list[Frame]:
    """The traceback's frames; the project's own carry their source line.

    ``live`` (when given) receives ``(frame object, kind, line)`` of each frame,
    for readers that look into variables (see ``datainputs``).
    """
    frames: list[Frame] = []
    while tb is not None:
        code = tb.tb_frame.f_code
        frame = frame_at(code.co_filename, tb.tb_lineno, code.co_name, rootdir, patterns)
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


def _data_inputs(live: list[LiveFrame], rootdir: Path, exc: BaseException | None = None) -> tuple[str, ...]:
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


def _with_syntax_location(
    exc: BaseException, frames: list[Frame], rootdir: Path, patterns: Sequence[str]
) -> list[Frame]:
    """A SyntaxError's offending file is not a traceback frame; add it as the innermost one."""
    if isinstance(exc, SyntaxError) and exc.filename and not exc.filename.startswith("<"):
        frames = [*frames, frame_at(exc.filename, exc.lineno or 0, "<module>", rootdir, patterns)]
    return frames


def evidence_from_exception(
    exc: BaseException,
    *,
    rootdir: Path,
    test_file_patterns: Sequence[str] = DEFAULT_TEST_PATTERNS,
    _seen: set[int] | None = None,
) -> FailureEvidence:
    """Evidence from an exception object (its own ``__traceback__``) and its chain."""
    seen = _seen if _seen is not None else {id(exc)}
    return _evidence(exc, exc.__traceback__, rootdir, test_file_patterns, seen)


def _evidence(
    exc: BaseException, tb: TracebackType | None, rootdir: Path, patterns: Sequence[str], seen: set[int]
) -> FailureEvidence:
    live: list[LiveFrame] = []
    frames = _raw_frames(tb, rootdir, tuple(patterns), live)
    return FailureEvidence(
        exception_type=qualified_name(type(exc)),
        exception_mro=tuple(qualified_name(kind) for kind in type(exc).__mro__),
        message=_message(exc),
        frames=kept_frames(_with_syntax_location(exc, frames, rootdir, patterns)),
        chain=_chain(exc, rootdir, patterns, seen),
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


def _wrapped_by_pytest(exc: BaseException) -> BaseException | None:
    """The error inside pytest's ``CollectError`` (a test module that failed to import).

    pytest raises ``Collector.CollectError(<the error's text>) from error``: the
    wrapper's own frames are pytest's, so the evidence is the error it wraps.
    """
    kind = type(exc)
    if kind.__name__ == "CollectError" and kind.__module__.startswith("_pytest") and exc.__cause__ is not None:
        return exc.__cause__
    return None


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
    cause = _wrapped_by_pytest(exc)
    if cause is not None:
        return evidence_from_exception(cause, rootdir=rootdir, test_file_patterns=test_file_patterns)
    # The raw traceback, not pytest's ``excinfo.traceback``: building pytest's
    # entries costs more than the rest of triage, and the frames it cuts away
    # (pytest's and pluggy's) are dropped by ``kept_frames`` all the same.
    return _evidence(exc, excinfo.tb, rootdir, test_file_patterns, {id(exc)})
