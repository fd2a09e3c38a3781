"""Fingerprints: one short id for failures that are the same problem.

Messages are normalized (ids, numbers, paths and times become typed
placeholders) so that "port 41233 refused" and "port 51877 refused" share a
fingerprint, while different exception types or code paths do not. Line
numbers are never used: an edit above the failing line must not split a
cluster. Pure logic: no pytest import.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Iterable

from pytest_orchestra.triage.failure import PROJECT_KINDS, Failure

#: Placeholders in the order they are applied; earlier ones protect their text from later ones.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("uuid", re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")),
    ("timestamp", re.compile(
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?\b")),
    ("date", re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")),
    ("ip", re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\[[0-9a-fA-F:]*::[0-9a-fA-F:]*\]")),
    ("path", re.compile(r"(?:[A-Za-z]:\\|~?/)?(?:[\w.-]+[/\\])+[\w.-]+|(?<![\w.])/[\w.-]+")),
    ("hex", re.compile(r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b")),
    ("num", re.compile(r"(?<![\w<])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")),
)
PORT = re.compile(r"(<ip\d*>|localhost|\b[\w-]+\.[\w.-]+):(\d{1,5})\b")

#: How many innermost frames' function names enter the fingerprint.
FRAME_DEPTH = 3


def normalize_message(message: str) -> str:
    """``message`` with variable parts replaced by typed placeholders.

    Each placeholder type is numbered by first appearance when a message has
    more than one distinct value of that type (``<num1> of <num2>``), so
    ``expected 3 got 4`` and ``expected 3 got 3`` stay different.
    """
    values: dict[str, list[str]] = {}
    marked = PORT.sub(lambda m: f"{m.group(1)}:\x00port\x00{_remember(values, 'port', m.group(2))}\x00", message)
    for name, pattern in _PATTERNS:
        marked = _substitute(marked, name, pattern, values)
    return re.sub(
        "\x00(\\w+)\x00(\\d+)\x00",
        lambda m: _placeholder(m.group(1), int(m.group(2)), values),
        marked,
    ).strip()


def _remember(values: dict[str, list[str]], name: str, value: str) -> int:
    seen = values.setdefault(name, [])
    if value not in seen:
        seen.append(value)
    return seen.index(value)


def _substitute(text: str, name: str, pattern: re.Pattern[str], values: dict[str, list[str]]) -> str:
    pieces = re.split("(\x00\\w+\x00\\d+\x00)", text)
    for index in range(0, len(pieces), 2):  # odd pieces are placeholders already
        pieces[index] = pattern.sub(
            lambda m: f"\x00{name}\x00{_remember(values, name, m.group(0))}\x00", pieces[index]
        )
    return "".join(pieces)


def _placeholder(name: str, index: int, values: dict[str, list[str]]) -> str:
    if len(values.get(name, ())) > 1:
        return f"<{name}{index + 1}>"
    return f"<{name}>"


def _relevant_functions(failure: Failure) -> list[str]:
    evidence = failure.evidence
    if evidence is None:
        return []
    project = [frame.function for frame in evidence.frames if frame.kind in PROJECT_KINDS]
    chosen = project or [frame.function for frame in evidence.frames]
    return chosen[-FRAME_DEPTH:]


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def fingerprint(failure: Failure) -> str:
    """12 hex digits identifying the problem behind ``failure``."""
    evidence = failure.evidence
    if evidence is not None:
        kind, message = evidence.exception_type, evidence.message
    else:
        kind, message = f"<{failure.phase}>", _first_line(failure.longrepr)
    parts = [kind, normalize_message(message), *_relevant_functions(failure)]
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=6).hexdigest()


@dataclass
class Cluster:
    id: str
    category: str
    exception_type: str
    normalized_message: str
    nodeids: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.nodeids)


def clusters(fingerprinted: Iterable[tuple[str, str, Failure]]) -> list[Cluster]:
    """Group ``(fingerprint, category, failure)`` by fingerprint, biggest first.

    The category of a cluster is the one most of its failures got (ties: first seen).
    """
    found: dict[str, Cluster] = {}
    votes: dict[str, dict[str, int]] = {}
    for print_id, category, failure in fingerprinted:
        cluster = found.get(print_id)
        if cluster is None:
            evidence = failure.evidence
            cluster = found[print_id] = Cluster(
                id=print_id,
                category=category,
                exception_type=evidence.exception_type if evidence else f"<{failure.phase}>",
                normalized_message=normalize_message(
                    evidence.message if evidence else _first_line(failure.longrepr)
                ),
            )
            votes[print_id] = {}
        if failure.nodeid not in cluster.nodeids:
            cluster.nodeids.append(failure.nodeid)
        tally = votes[print_id]
        tally[category] = tally.get(category, 0) + 1
    for print_id, cluster in found.items():
        tally = votes[print_id]
        cluster.category = max(tally, key=lambda name: tally[name])  # dicts keep first-seen order
    return sorted(found.values(), key=lambda c: (-c.size, c.id))
