"""What the rules ask about one failure: :class:`Facts`, computed lazily and at most once.

Two kinds of fact: what the exception *says* (its class and MRO, the words of
its type names, its message) and *where* it was raised (whose code each frame
is: the test's, the product's, a library's, the stdlib's). The optional
:class:`~pytest_orchestra.triage.rules.project.ProjectIndex` adds what only the
checkout can tell (whether the product's code mentions a name, whether a data
file is well-formed). Pure logic: no pytest import.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from pytest_orchestra.triage.datainputs import DATA_FOLDERS, TEST_FOLDERS
from pytest_orchestra.triage.failure import (
    PROJECT_KINDS,
    TEST_KINDS,
    Failure,
    FailureEvidence,
    Frame,
)
from pytest_orchestra.triage.frames import STDLIB_DIRS
from pytest_orchestra.triage.rules.vocabulary import rx, type_words

if TYPE_CHECKING:
    from pytest_orchestra.triage.frames import STDLIB_DIRS
from pytest_orchestra.triage.rules.project import ProjectIndex

__all__ = ["DATA_FOLDERS", "STDLIB_DIRS", "TEST_FOLDERS", "Facts", "because", "in_test_tree", "path_has", "rx"]


#: Exceptions whose message carries an OS or network failure (errno, resolver text).
NETWORK_ERROR_TYPES = (
    "OSError", "URLError", "ConnectionError", "RequestException", "TransportError",
    "HTTPException", "ClientError", "OperationalError", "InterfaceError",
)

#: "The test failed on purpose" exceptions: their text is the test's own, not the code's.
ASSERTION_TYPES = ("AssertionError", "Failed")

#: A message saying something could not be found or opened.
NOT_FOUND = rx(
    r"\bnot found\b|\bdoes(n't| not) exist|no such file|cannot (be )?(found|opened|read|open|find)"
    r"|could not (be )?(found|opened|read|open|find|locate)|unable to (open|read|find|locate)|\bmissing\b"
)
#: Paths in a message: quoted, or bare absolute ones.
MESSAGE_PATH = re.compile(r"""'([^'\n]{1,300})'|"([^"\n]{1,300})"|(?<![\w.])(/[\w.@~+-]+(?:/[\w.@~+-]+)+)""")


class Facts:
    """What rules ask about one failure, computed lazily and at most once."""

    def __init__(self, failure: Failure, project: Optional["ProjectIndex"] = None) -> None:
        self.failure = failure
        self.project = project

    # -- the exception --------------------------------------------------------------

    @cached_property
    def evidences(self) -> tuple[FailureEvidence, ...]:
        """The raised exception first, then its causes and contexts."""
        evidence = self.failure.evidence
        return evidence.all_evidence() if evidence is not None else ()

    @property
    def primary(self) -> FailureEvidence | None:
        return self.failure.evidence

    @cached_property
    def frames(self) -> tuple[Frame, ...]:
        return self.primary.frames if self.primary is not None else ()

    @cached_property
    def text(self) -> str:
        """Messages of the whole chain, or the failure text when there is no evidence."""
        if self.evidences:
            return "\n".join(ev.message for ev in self.evidences)
        return self.failure.longrepr

    @cached_property
    def words(self) -> frozenset[str]:
        """Lower-case words of the type names of every exception of the chain and their MROs."""
        found: set[str] = set()
        for evidence in self.evidences:
            found |= type_words(evidence)
        return frozenset(found)

    def is_a(self, *names: str) -> bool:
        """Whether the raised exception is one of ``names`` (subclasses included)."""
        return self.primary is not None and self.primary.is_a(*names)

    def chain_is_a(self, *names: str) -> bool:
        """Whether any exception of the chain is one of ``names``."""
        return any(ev.is_a(*names) for ev in self.evidences)

    def matching(self, *names: str) -> FailureEvidence | None:
        for evidence in self.evidences:
            if evidence.is_a(*names):
                return evidence
        return None

    def is_assertion(self) -> bool:
        """The test's own check failed (an assert, ``pytest.fail``): the text is the test's."""
        return self.is_a(*ASSERTION_TYPES)

    def says(self, pattern: re.Pattern[str]) -> bool:
        return bool(pattern.search(self.text))

    def message_says(self, pattern: re.Pattern[str]) -> bool:
        """``pattern`` in the message of any exception of the chain that is not an assertion."""
        if self.primary is None:
            return bool(pattern.search(self.failure.longrepr))
        return any(pattern.search(ev.message) for ev in self.evidences if not ev.is_a(*ASSERTION_TYPES))

    def network_error_says(self, pattern: re.Pattern[str]) -> bool:
        """``pattern`` in the message of an OS or network-library error of the chain.

        Without evidence the failure text is read instead (crashes, old reports).
        """
        if self.primary is None:
            return bool(pattern.search(self.failure.longrepr))
        return any(
            ev.is_a(*NETWORK_ERROR_TYPES) and pattern.search(ev.message) for ev in self.evidences
        )

    def message_line(self) -> str:
        """The raised exception's first message line (the user's text, not pytest's diff)."""
        if self.primary is None:
            return ""
        lines = self.primary.message.strip().splitlines()
        return lines[0] if lines else ""

    @cached_property
    def data_inputs(self) -> tuple[str, ...]:
        """Data files of the test tree the failing code was reading (see ``datainputs``)."""
        found: list[str] = []
        for evidence in self.evidences:
            found.extend(evidence.data_inputs)
        return tuple(dict.fromkeys(found))

    # -- where it was raised -----------------------------------------------------------

    @cached_property
    def culprit(self) -> Frame | None:
        """The innermost frame of the project (test, conftest, product or data code)."""
        for frame in reversed(self.frames):
            if frame.kind in PROJECT_KINDS:
                return frame
        return None

    @cached_property
    def innermost(self) -> Frame | None:
        return self.frames[-1] if self.frames else None

    def raised_in(self, *kinds: str) -> bool:
        return self.culprit is not None and self.culprit.kind in kinds

    def raised_by_test_code(self) -> bool:
        """The test's own code raised, not code it called: the innermost frame is the suite's."""
        frame = self.innermost
        return frame is not None and frame.kind in TEST_KINDS

    def stdlib_frames(self, *modules: str) -> bool:
        """Whether a stdlib or site-packages frame of the chain is in ``modules``.

        ``modules`` are path fragments such as ``socket.py`` or ``asyncio/``.
        """
        for evidence in self.evidences:
            for frame in evidence.frames:
                if frame.kind in ("stdlib", "site-packages") and any(
                    path_has(frame.path, module) for module in modules
                ):
                    return True
        return False

    @cached_property
    def project_modules(self) -> frozenset[str]:
        """Top-level names the project's own code lives under (from the traceback and node id)."""
        names: set[str] = set()
        paths = [self.failure.test_path] + [
            frame.path for ev in self.evidences for frame in ev.frames if frame.kind in PROJECT_KINDS
        ]
        for path in paths:
            parts = [p for p in path.replace("\\", "/").split("/") if p]
            if not parts or path.startswith("/"):
                continue
            for part in parts[:2] if parts[0] == "src" else parts[:1]:
                names.add(part[:-3] if part.endswith(".py") else part)
        if self.project is not None:
            names |= self.project.packages
        return frozenset(names | TEST_FOLDERS | {"conftest"})

    def is_project_module(self, name: str) -> bool:
        top = name.split(".", 1)[0]
        if top in self.project_modules:
            return True
        return "." in name and is_project_package(top)

    def in_test_tree(self, path: str) -> bool:
        """Whether ``path`` (as a message writes it) is a file of the suite's test or data folders.

        An absolute path counts only inside the rootdir when the project is known, so a
        checkout that itself lives under a folder called ``tests`` is not all test tree.
        """
        if self.project is not None and path.startswith("/"):
            root = str(self.project.rootdir).rstrip("/") + "/"
            if not path.startswith(root):
                return False
            path = path[len(root):]
        return in_test_tree(path)

    @cached_property
    def missing_paths(self) -> tuple[str, ...]:
        """Paths that an exception of the chain (not an assertion) says are missing or unreadable."""
        found: list[str] = []
        for evidence in self.evidences:
            if evidence.is_a(*ASSERTION_TYPES) or not NOT_FOUND.search(evidence.message):
                continue
            for match in MESSAGE_PATH.finditer(evidence.message):
                candidate = next(group for group in match.groups() if group)
                if "/" in candidate or "." in candidate.strip("."):
                    found.append(candidate)
        return tuple(dict.fromkeys(found))

    def defined_by_project(self, evidence: FailureEvidence) -> bool:
        """Whether the exception's class is the project's own (not the stdlib's or a library's)."""
        module = evidence.exception_type.rpartition(".")[0]
        return bool(module) and module.split(".", 1)[0] in self.project_modules - TEST_FOLDERS - {"conftest"}

    # -- for explanations ---------------------------------------------------------------

    def where(self) -> str:
        frame = self.culprit or self.innermost
        return f"in {frame.describe()}" if frame is not None else f"in {self.failure.test_path}"

    def headline(self) -> str:
        """``ConnectionRefusedError: [Errno 111] ...`` or the failure text's first line."""
        if self.primary is not None:
            message = self.primary.message.strip().splitlines()
            first = message[0][:160] if message else ""
            return f"{self.primary.short_type}: {first}" if first else self.primary.short_type
        for line in self.failure.longrepr.splitlines():
            if line.strip():
                return line.strip()[:160]
        return f"{self.failure.outcome} in {self.failure.phase}"


def path_has(path: str, module: str) -> bool:
    if path.startswith("<frozen "):  # Python 3.11 runs os, codecs... as frozen modules
        path = path[len("<frozen "):-1].replace(".", "/") + ".py"
    normalized = "/" + path.replace("\\", "/")
    if module.endswith("/"):
        return f"/{module}" in normalized
    return normalized.endswith("/" + module)


def path_parts(path: str) -> list[str]:
    return [part for part in path.replace("\\", "/").split("/") if part]


def in_test_tree(path: str) -> bool:
    return any(part in TEST_FOLDERS or part in DATA_FOLDERS for part in path_parts(path)[:-1])


def is_project_package(name: str) -> bool:
    """Whether a top-level module importable here lives outside site-packages and the stdlib.

    A dotted "No module named 'a.b'" means 'a' was found; when 'a' is the
    project's own package, the missing piece is a typo in the test, not a
    missing install. The traceback may not show the package, so ask the import system.
    """
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    origin = getattr(spec, "origin", None) or ""
    locations = list(getattr(spec, "submodule_search_locations", None) or ())
    place = origin if origin not in ("", "namespace") else (locations[0] if locations else "")
    if not place or place in ("built-in", "frozen"):
        return False
    parts = Path(place).parts
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    return not any(place.startswith(stdlib) for stdlib in STDLIB_DIRS)


def raised(facts: Facts) -> str:
    return f"{facts.headline()} raised {facts.where()}"


def because(text: str) -> Callable[[Facts], str]:
    """An explanation: a fixed reason followed by what was raised where."""
    return lambda facts: f"{text}: {raised(facts)}"
