"""Who owns a file, read from a GitHub ``CODEOWNERS`` file.

Follows GitHub's semantics: the last matching pattern wins; a pattern with a
leading or inner ``/`` is anchored at the repository root, one without matches
at any depth; a trailing ``/`` means "everything under this directory";
``*`` stays within one path segment, ``**`` crosses segments; ``docs/*``
matches files directly in ``docs`` but not deeper. A pattern with no owners
makes its files explicitly unowned. Pure logic: no pytest import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Pattern

#: Where GitHub looks for the file, in the order it looks.
LOCATIONS: tuple[str, ...] = ("CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS")


@dataclass(frozen=True)
class OwnerRule:
    pattern: str
    owners: tuple[str, ...]
    regex: Pattern[str]
    line: int


def _translate(body: str) -> str:
    """The regex for a pattern body (without anchoring slash or trailing slash)."""
    out: list[str] = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    return "".join(out)


def compile_pattern(pattern: str) -> Pattern[str]:
    """A regex matching the repository-relative posix paths ``pattern`` covers."""
    directory_only = pattern.endswith("/")
    body = pattern.rstrip("/") if directory_only else pattern
    anchored = body.startswith("/") or "/" in body
    body = body.lstrip("/")
    prefix = "" if anchored else "(?:.*/)?"
    if directory_only:
        suffix = "/.*"
    elif body.endswith("*") and not body.endswith("**"):
        # GitHub: "docs/*" owns docs/a.md but not docs/sub/a.md.
        suffix = ""
    else:
        # A plain name may be a directory: it then owns everything inside.
        suffix = "(?:/.*)?"
    return re.compile(f"^{prefix}{_translate(body)}{suffix}$")


def parse(text: str) -> list[OwnerRule]:
    rules: list[OwnerRule] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # An inline comment starts at " #"; "#" inside an owner is not a thing.
        line = line.split(" #", 1)[0].strip()
        parts = line.split()
        pattern, owners = parts[0], tuple(parts[1:])
        rules.append(OwnerRule(pattern, owners, compile_pattern(pattern), number))
    return rules


class CodeOwners:
    """The rules of one CODEOWNERS file."""

    def __init__(self, rules: list[OwnerRule], source: Path | None = None) -> None:
        self.rules = rules
        self.source = source

    @classmethod
    def from_text(cls, text: str, source: Path | None = None) -> CodeOwners:
        return cls(parse(text), source)

    @classmethod
    def load(cls, rootdir: Path) -> CodeOwners | None:
        """The first CODEOWNERS file GitHub would use under ``rootdir``, or None."""
        for location in LOCATIONS:
            path = Path(rootdir) / location
            if path.is_file():
                try:
                    text = path.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    return None
                return cls.from_text(text, path)
        return None

    def owners_for(self, path: str) -> list[str]:
        """Owners of a repository-relative path (``./`` and ``\\`` tolerated)."""
        normalized = path.replace("\\", "/")
        while normalized.startswith("./"):
            normalized = normalized[2:]
        normalized = normalized.lstrip("/")
        for rule in reversed(self.rules):
            if rule.regex.match(normalized):
                return list(rule.owners)
        return []
