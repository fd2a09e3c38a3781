"""Failure triage: evidence, classification, fingerprints and the workflow sections.

Importing the package is cheap; the plugin wiring lives in ``triage.plugin``.
"""

from __future__ import annotations

from pytest_orchestra.triage.classifier import CATEGORIES, Classifier, Decision
from pytest_orchestra.triage.failure import Failure, FailureEvidence, Frame

__all__ = ["CATEGORIES", "Classifier", "Decision", "Failure", "FailureEvidence", "Frame"]
