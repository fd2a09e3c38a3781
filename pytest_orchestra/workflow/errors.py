"""What goes wrong in a workflow, and how it is told: the errors, key paths and messages.

:class:`WorkflowError` is what a user sees (file, key path, message);
:class:`SchemaViolation` is what a schema node raises (key path and message,
the file added by the caller with :meth:`SchemaViolation.at`). The helpers
word the usual messages the same way everywhere: ``expected X, got Y``, and
``unknown key; did you mean ...?``.
"""

from __future__ import annotations

import difflib
from typing import Mapping, Optional, Sequence

from pytest_orchestra.core.errors import OrchestraError


class WorkflowError(OrchestraError):
    """A workflow that cannot be used; ``str()`` is the one-line message for the user.

    ``source`` names the file (``orchestra.yaml``, ``pyproject.toml [tool.orchestra]``,
    ``--orchestra-gate``...), ``path`` the key path inside it (``""`` for the whole
    document), ``line``/``column`` (1-based) are set for syntax errors only.
    """

    def __init__(
        self,
        source: str,
        path: str,
        message: str,
        *,
        line: Optional[int] = None,
        column: Optional[int] = None,
    ) -> None:
        self.source = source
        self.path = path
        self.message = message
        self.line = line
        self.column = column
        super().__init__(self.format())

    def format(self) -> str:
        location = self.source
        if location and self.line is not None:
            location = f"{location}:{self.line}:{self.column}"
        return ": ".join(part for part in (location, self.path, self.message) if part)

    def __str__(self) -> str:
        return self.format()


class SchemaViolation(Exception):
    """Raised by nodes; carries the key path and message but not the source."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message

    def at(self, source: str) -> WorkflowError:
        return WorkflowError(source, self.path, self.message)


def key_path(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def index_path(path: str, index: int) -> str:
    return f"{path}[{index}]"


def describe_value(value: object) -> str:
    """How a wrong value is shown after ``got``: strings quoted, containers by kind."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Mapping):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, (list, tuple)):
        return "a list" if value else "an empty list"
    return str(value)


def expected_error(path: str, expected: str, value: object) -> SchemaViolation:
    return SchemaViolation(path, f"expected {expected}, got {describe_value(value)}")


def unknown_key_error(path: str, key: str, allowed: Sequence[str]) -> SchemaViolation:
    names = sorted(allowed)
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return SchemaViolation(key_path(path, key), f"unknown key{hint} (allowed: {', '.join(names)})")
