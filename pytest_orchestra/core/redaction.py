"""Keep secrets out of everything pytest-orchestra writes.

A :class:`Redactor` knows the values of secret-looking environment variables
(and any extra values it is given) and masks them in text and in JSON-like data.
Reports, logs and sinks pass their final text through it, so a token that leaks
into a failure message never reaches a file, a PR comment or a collector.
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterable, Mapping, Optional, Pattern

#: Names of variables or settings whose values are secrets.
# "auth" but not "author": GIT_AUTHOR_NAME is no secret, and masking it everywhere is noise.
SECRET_NAME: Pattern[str] = re.compile(r"(?i)(token|secret|passw(or)?d|pwd|key|credential|auth(?!or))")

MASK = "***"

#: Values too short or too common to mask: hiding every "1" or "true" in a
#: report would destroy it while protecting nothing.
MIN_SECRET_LENGTH = 4
_HARMLESS_VALUES = frozenset({"true", "false", "yes", "no", "on", "off", "none", "null"})


#: Names that match :data:`SECRET_NAME` but hold no secret: the shell's working
#: directories would otherwise mask every path in every report.
NOT_SECRET_NAMES = frozenset({"PWD", "OLDPWD"})


def is_secret_name(name: str) -> bool:
    """Whether a variable or setting called ``name`` holds a secret."""
    return name.upper() not in NOT_SECRET_NAMES and SECRET_NAME.search(name) is not None


def _is_maskable(value: str) -> bool:
    return len(value) >= MIN_SECRET_LENGTH and value.lower() not in _HARMLESS_VALUES


class Redactor:
    """Replaces known secret values with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: tuple[str, ...] = ()
        self._pattern: Optional[Pattern[str]] = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Mask these values too: secrets made during the run (a database password, a token).

        Everyone holding this redactor (reports, history, sinks) sees the addition.
        """
        candidates = set(self._secrets)
        for value in secrets:
            # A value pasted with a trailing newline may show up in output stripped.
            for variant in (value, value.strip()):
                if _is_maskable(variant):
                    candidates.add(variant)
        if len(candidates) == len(self._secrets):
            return
        # Longest first, so a secret containing another one is hidden whole.
        self._secrets = tuple(sorted(candidates, key=lambda s: (-len(s), s)))
        self._pattern = re.compile("|".join(re.escape(s) for s in self._secrets))

    @classmethod
    def from_environ(
        cls,
        environ: Optional[Mapping[str, str]] = None,
        *,
        extra_values: Iterable[str] = (),
    ) -> "Redactor":
        """A redactor for the values of secret-named variables in ``environ`` (default: os.environ)."""
        source = os.environ if environ is None else environ
        values = [value for name, value in source.items() if is_secret_name(name)]
        values.extend(extra_values)
        return cls(values)

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._secrets

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of every secret replaced by ``***``."""
        if self._pattern is None:
            return text
        # Substring checks run in C and are far cheaper than a regex scan over
        # a large report that, almost always, contains no secret at all.
        if not any(secret in text for secret in self._secrets):
            return text
        return self._pattern.sub(MASK, text)

    def redact_data(self, obj: Any) -> Any:
        """A deep copy of JSON-like ``obj`` with secrets masked.

        Values under secret-named keys become ``***`` (except None and booleans,
        which reveal nothing and are useful to keep); every string is redacted.
        """
        if isinstance(obj, str):
            return self.redact(obj)
        if isinstance(obj, Mapping):
            copy = {}
            for key, value in obj.items():
                if (
                    isinstance(key, str)
                    and is_secret_name(key)
                    and value is not None
                    and not isinstance(value, bool)
                ):
                    copy[key] = MASK
                else:
                    copy[key] = self.redact_data(value)
            return copy
        if isinstance(obj, list):
            return [self.redact_data(item) for item in obj]
        if isinstance(obj, tuple):
            return tuple(self.redact_data(item) for item in obj)
        return obj
