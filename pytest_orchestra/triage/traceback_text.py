"""Parsing :class:`FailureEvidence` out of pytest's failure text.

The fallback for what only exists as text (collection errors, crashed
workers, reports from older workers): pytest's ``E   Type: message`` lines
name the exception, ``path:lineno: ...`` locations give the frames, and
chained sections become the chain. Names of exception types are resolved to
their class (and MRO) when it is loaded, else kept as written.
"""

from __future__ import annotations

import builtins
import re
import sys
from pathlib import Path

from pytest_orchestra.triage.exception_evidence import qualified_name
from pytest_orchestra.triage.failure import MESSAGE_LIMIT, PROJECT_KINDS, FailureEvidence, Frame, cap
from pytest_orchestra.triage.frames import DEFAULT_TEST_PATTERNS, LINE_LIMIT, frame_at, kept_frames

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
        return qualified_name(kind), tuple(qualified_name(k) for k in kind.__mro__)
    module_name, _, attr = name.rpartition(".")
    module = sys.modules.get(module_name) if module_name else None
    kind = getattr(module, attr, None) if module is not None else None
    if isinstance(kind, type) and issubclass(kind, BaseException):
        return qualified_name(kind), tuple(qualified_name(k) for k in kind.__mro__)
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
                frames.append(frame_at(syntax.group(1), int(syntax.group(2)), "<module>", rootdir,
                                       DEFAULT_TEST_PATTERNS))
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
            frames.append(frame_at(location.group(1), int(location.group(2)), function, rootdir,
                                   DEFAULT_TEST_PATTERNS))
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
        frames=kept_frames(frames),
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
