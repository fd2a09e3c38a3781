"""Reviewed labels: a person's category for a failure fingerprint, in a file kept with the code.

A QA lead corrects triage once — ``python -m pytest_orchestra triage label
NODEID|FINGERPRINT CATEGORY --note "..."`` — and the label wins for every later
failure with that fingerprint (ReportPortal's loop, in a committable file)::

    # Reviewed failure categories: a label wins for every later failure with its fingerprint.
    labels:
      - fingerprint: 3f2a9c1d0b7e
        category: infrastructure
        by: alice
        at: 2026-12-06T10:15:00Z
        note: the staging database restarts at 10:00
        example: tests/test_orders.py::test_checkout
        text: "phase_call psycopg OperationalError server closed the connection unexpectedly"

``text`` is what the learned model reads for the failure (the model trains on
reviewed labels only). Errors name the file, the entry and the key. Pure
logic: no pytest import.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

from pytest_orchestra.core.categories import CATEGORIES
from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.core.files import write_text_atomically
from pytest_orchestra.triage.specs import DEFAULT_LABELS_FILE

KNOWN_KEYS = ("fingerprint", "category", "by", "at", "note", "example", "text")
FINGERPRINT = re.compile(r"^[0-9a-f]{12}$")
#: Categories a person may give: ``unknown`` is not a verdict.
REVIEWABLE = tuple(category for category in CATEGORIES if category != "unknown")
TEXT_LIMIT = 600


class LabelsError(OrchestraError, ValueError):
    """The labels file or a label is malformed; the message says where."""


@dataclass(frozen=True)
class ReviewedLabel:
    fingerprint: str
    category: str
    by: str
    at: str
    note: str = ""
    example: str = ""
    text: str = ""

    def describe(self) -> str:
        """``reviewed by alice on 2026-12-06: the staging database restarts at 10:00``."""
        day = self.at[:10] if self.at else "an unknown day"
        note = f": {self.note}" if self.note else ""
        return f"reviewed by {self.by} on {day}{note}"

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"fingerprint": self.fingerprint, "category": self.category,
                                "by": self.by, "at": self.at}
        for key in ("note", "example", "text"):
            value = getattr(self, key)
            if value:
                data[key] = value
        return data


def _entry(raw: Any, where: str) -> ReviewedLabel:
    if not isinstance(raw, dict):
        raise LabelsError(f"{where}: expected a mapping with fingerprint and category, got {raw!r}")
    unknown = sorted(str(key) for key in raw if key not in KNOWN_KEYS)
    if unknown:
        raise LabelsError(f"{where}.{unknown[0]}: unknown key (known: {', '.join(KNOWN_KEYS)})")
    for key in ("fingerprint", "category"):
        if key not in raw:
            raise LabelsError(f"{where}.{key}: missing")
    fingerprint = str(raw["fingerprint"]).strip()
    if not FINGERPRINT.match(fingerprint):
        raise LabelsError(f"{where}.fingerprint: expected 12 hex digits, got {raw['fingerprint']!r}")
    category = str(raw["category"]).strip()
    if category not in REVIEWABLE:
        raise LabelsError(f"{where}.category: expected one of {', '.join(REVIEWABLE)}, got {raw['category']!r}")
    at = raw.get("at", "")
    return ReviewedLabel(
        fingerprint=fingerprint,
        category=category,
        by=str(raw.get("by") or "someone"),
        at=at.isoformat() if isinstance(at, (dt.date, dt.datetime)) else str(at or ""),
        note=str(raw.get("note") or ""),
        example=str(raw.get("example") or ""),
        text=str(raw.get("text") or "")[:TEXT_LIMIT],
    )


class ReviewedLabels:
    """The labels of one file, by fingerprint (empty when the file does not exist)."""

    def __init__(self, labels: Sequence[ReviewedLabel] = (), path: Optional[Path] = None) -> None:
        self.path = path
        self._by_fingerprint: Dict[str, ReviewedLabel] = {label.fingerprint: label for label in labels}

    @classmethod
    def load(cls, path: Path) -> "ReviewedLabels":
        path = Path(path)
        if not path.exists():
            return cls((), path)
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise LabelsError(f"{path}: cannot read: {error}") from error
        except yaml.YAMLError as error:
            raise LabelsError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from error
        if data is None:
            return cls((), path)
        if not isinstance(data, dict) or not isinstance(data.get("labels", []), list):
            raise LabelsError(f"{path}: expected a mapping with a list under 'labels'")
        labels = [_entry(raw, f"{path}: labels[{index}]") for index, raw in enumerate(data.get("labels") or [])]
        return cls(labels, path)

    def __len__(self) -> int:
        return len(self._by_fingerprint)

    def __iter__(self) -> Iterator[ReviewedLabel]:
        return iter(sorted(self._by_fingerprint.values(), key=lambda label: (label.at, label.fingerprint)))

    def get(self, fingerprint: str) -> Optional[ReviewedLabel]:
        return self._by_fingerprint.get(fingerprint)

    def add(self, label: ReviewedLabel) -> Optional[ReviewedLabel]:
        """Add ``label``; returns the label it replaced for the same fingerprint, if any."""
        if label.category not in REVIEWABLE:
            raise LabelsError(f"category: expected one of {', '.join(REVIEWABLE)}, got {label.category!r}")
        if not FINGERPRINT.match(label.fingerprint):
            raise LabelsError(f"fingerprint: expected 12 hex digits, got {label.fingerprint!r}")
        previous = self._by_fingerprint.get(label.fingerprint)
        self._by_fingerprint[label.fingerprint] = replace(label, text=label.text[:TEXT_LIMIT])
        return previous

    def remove(self, fingerprint: str) -> Optional[ReviewedLabel]:
        return self._by_fingerprint.pop(fingerprint, None)

    def save(self, path: Optional[Path] = None) -> Path:
        """Write the file atomically: readers see the old or the new labels, never half."""
        target = Path(path or self.path or DEFAULT_LABELS_FILE)
        target.parent.mkdir(parents=True, exist_ok=True)
        import yaml

        text = "# Reviewed failure categories: a label wins for every later failure with its fingerprint.\n"
        text += yaml.safe_dump({"labels": [label.to_dict() for label in self]}, sort_keys=False,
                               default_flow_style=False, allow_unicode=True, width=1000)
        write_text_atomically(target, text)
        self.path = target
        return target

    def training_examples(self) -> List[tuple[str, str]]:
        """``(text, category)`` of every label that carries the failure's text."""
        return [(label.text, label.category) for label in self if label.text]


def now_stamp(now: Optional[dt.datetime] = None) -> str:
    moment = now or dt.datetime.now(dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def reviewer(environ: Optional[Dict[str, str]] = None) -> str:
    """Who is labelling: ``ORCHESTRA_REVIEWER``, git's user.name, or the login name."""
    env = os.environ if environ is None else environ
    if env.get("ORCHESTRA_REVIEWER"):
        return env["ORCHESTRA_REVIEWER"]
    import subprocess

    try:
        name = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        name = ""
    return name or env.get("USER") or env.get("USERNAME") or "someone"
