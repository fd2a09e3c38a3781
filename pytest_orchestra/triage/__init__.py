"""Failure triage: evidence, classification, fingerprints and the workflow sections.

Importing the package is cheap: its names load on first use (the rules compile
their patterns then), since every pytest start imports ``triage.plugin`` (and
``triage.schema`` when the workflow has a triage section).
"""

from __future__ import annotations

from pytest_orchestra.core.speed import lazy_exports

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


__getattr__ = lazy_exports(__name__, _HOMES)
