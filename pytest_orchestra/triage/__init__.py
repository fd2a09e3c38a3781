"""Failure triage: evidence, classification, fingerprints and the workflow sections.

Importing the package is cheap: its names load on first use (the rules compile
their patterns then), since every pytest start imports ``triage.plugin`` (and
``triage.schema`` when the workflow has a triage section).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CATEGORIES", "Classifier", "Decision", "Failure", "FailureEvidence", "Frame",
    "ReviewedLabel", "ReviewedLabels", "label_failure",
]

_HOMES = {
    "ReviewedLabel": "labels",
    "ReviewedLabels": "labels",
    "label_failure": "cli",
    "CATEGORIES": "classifier",
    "Classifier": "classifier",
    "Decision": "classifier",
    "Failure": "failure",
    "FailureEvidence": "failure",
    "Frame": "failure",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pytest_orchestra.triage' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"pytest_orchestra.triage.{home}"), name)
