"""Plain data describing one failure, as classification sees it.

``FailureEvidence`` is extracted where the live exception is (a worker under
xdist) and travels on the report as a plain dict; ``Failure`` is what the
controller hands to the classifier. No pytest import: pure data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Kinds a traceback frame can have, decided from its file's path.
FRAME_KINDS: tuple[str, ...] = ("test", "conftest", "product", "data", "stdlib", "site-packages")

#: Kinds of frames that belong to the project under the rootdir.
PROJECT_KINDS = frozenset({"test", "conftest", "product", "data"})

#: Kinds of frames written as part of the test suite.
TEST_KINDS = frozenset({"test", "conftest", "data"})

MESSAGE_LIMIT = 2_000
LONGREPR_LIMIT = 20_000
CAPTURED_LIMIT = 4_000


def cap(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marking the cut so a reader knows."""
    if len(text) <= limit:
        return text
    return text[: limit - 15] + "... [truncated]"


@dataclass
class Frame:
    """One traceback entry; ``path`` is rootdir-relative posix when under the rootdir."""

    path: str
    lineno: int
    function: str
    kind: str
    #: The source line, for the project's own frames (rules read what the line does).
    line: str = ""

    def describe(self) -> str:
        return f"{self.path}:{self.lineno} ({self.function})"


@dataclass
class FailureEvidence:
    """The exception of a failure, reduced to names and text (xdist-serializable)."""

    exception_type: str
    exception_mro: tuple[str, ...]
    message: str
    frames: tuple[Frame, ...]
    chain: tuple[FailureEvidence, ...] = ()
    #: Data files of the project the failing code was reading (rootdir-relative): named by
    #: a path or open file in a frame's variables, or by a string on a failing line.
    data_inputs: tuple[str, ...] = ()

    @property
    def short_type(self) -> str:
        """``ConnectionRefusedError`` for ``builtins.ConnectionRefusedError``."""
        return self.exception_type.rsplit(".", 1)[-1]

    def is_a(self, *names: str) -> bool:
        """Whether the exception is (a subclass of) one of ``names``.

        A name with a dot must match a qualified MRO entry; a bare name matches
        the class name in any module, so rules can say ``TimeoutError``.
        """
        known = self._type_names()
        return any(name in known for name in names)

    def _type_names(self) -> frozenset[str]:
        # Qualified and bare names of the MRO, built once: the rules ask often.
        cached = self.__dict__.get("_type_names_cache")
        if cached is None:
            mro = self.exception_mro or (self.exception_type,)
            cached = frozenset(mro) | frozenset(entry.rsplit(".", 1)[-1] for entry in mro)
            self.__dict__["_type_names_cache"] = cached
        return cached

    def all_evidence(self) -> tuple[FailureEvidence, ...]:
        """This exception followed by its causes and contexts, flattened."""
        result: list[FailureEvidence] = [self]
        for linked in self.chain:
            result.extend(linked.all_evidence())
        return tuple(result)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "exception_type": self.exception_type,
            "exception_mro": list(self.exception_mro),
            "message": self.message,
            "frames": [_frame_dict(f) for f in self.frames],
            "chain": [linked.to_dict() for linked in self.chain],
        }
        if self.data_inputs:
            data["data_inputs"] = list(self.data_inputs)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FailureEvidence:
        return cls(
            exception_type=str(data.get("exception_type", "")),
            exception_mro=tuple(str(name) for name in data.get("exception_mro", ())),
            message=str(data.get("message", "")),
            frames=tuple(
                Frame(
                    path=str(f["path"]),
                    lineno=int(f["lineno"]),
                    function=str(f["function"]),
                    kind=str(f["kind"]),
                    line=str(f.get("line", "")),
                )
                for f in data.get("frames", ())
            ),
            chain=tuple(cls.from_dict(linked) for linked in data.get("chain", ())),
            data_inputs=tuple(str(path) for path in data.get("data_inputs", ())),
        )


def _frame_dict(frame: Frame) -> dict[str, Any]:
    data: dict[str, Any] = {"path": frame.path, "lineno": frame.lineno, "function": frame.function, "kind": frame.kind}
    if frame.line:
        data["line"] = frame.line
    return data


@dataclass
class Failure:
    """One failed or errored phase of a test (or a failed collector)."""

    nodeid: str
    phase: str  # "collect" | "setup" | "call" | "teardown" | "crash"
    outcome: str  # "failed" | "error"
    evidence: FailureEvidence | None
    longrepr: str
    captured: str = ""
    markers: tuple[str, ...] = ()
    app: str | None = None
    attempts: int = 1
    passed_on_retry: bool = False
    context: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.longrepr = cap(self.longrepr or "", LONGREPR_LIMIT)
        self.captured = cap(self.captured or "", CAPTURED_LIMIT)

    @property
    def test_path(self) -> str:
        """The file part of the node id (``tests/test_x.py``)."""
        return self.nodeid.split("::", 1)[0]


def failure_text(failure: Failure) -> str:
    """The text of one failure that the learned model reads and triage.json shows: evidence when
    there is some, else the longrepr."""
    evidence = failure.evidence
    if evidence is None:
        return f"phase_{failure.phase} {failure.longrepr[-2000:]}"
    words = [f"phase_{failure.phase}", evidence.exception_type.replace(".", " "), evidence.message]
    for frame in evidence.frames[-5:]:
        words.append(f"kind_{frame.kind.replace('-', '_')} {frame.function}")
    for linked in evidence.chain:
        words.append(linked.exception_type.replace(".", " "))
        words.append(linked.message)
    return " ".join(words)
