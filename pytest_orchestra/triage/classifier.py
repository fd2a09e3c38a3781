"""Deciding the category of one failure.

The order is fixed and mirrors how strong each kind of evidence is: a
person's reviewed label for the failure's fingerprint beats everything (see
``labels``), then a retry that passed (the outcome was not a function of the
code), then facts handed over by other capabilities (a dependency failed, an
environment could not be provisioned), then the user's rules, the built-in
rules, and last an optional learned model trained on reviewed labels. A
decision below the threshold is reported as ``unknown`` rather than guessed.
Pure logic: no pytest import.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from pytest_orchestra.core.categories import CATEGORIES
from pytest_orchestra.triage.failure import Failure
from pytest_orchestra.triage.rules import BUILTIN_RULES, Facts, Rule, first_match
from pytest_orchestra.triage.specs import UserRule

if TYPE_CHECKING:
    from pytest_orchestra.triage.labels import ReviewedLabel, ReviewedLabels
    from pytest_orchestra.triage.learned import LearnedModel
    from pytest_orchestra.triage.rules.project import ProjectIndex

__all__ = ["CATEGORIES", "Classifier", "Decision"]

#: Context keys other capabilities fill, strongest first; each names its category.
CONTEXT_CATEGORIES: tuple[str, ...] = ("dependency", "environment", "infrastructure", "data", "flaky")


#: The rule name of a decision taken from a reviewed label.
REVIEWED = "reviewed"


@dataclass(frozen=True)
class Decision:
    category: str
    confidence: float
    rule: str
    reason: str

    @property
    def reviewed(self) -> bool:
        """Whether a person decided this category (a reviewed label), not the plugin."""
        return self.rule == REVIEWED

    @classmethod
    def from_label(cls, label: "ReviewedLabel") -> "Decision":
        return cls(label.category, 1.0, REVIEWED, label.describe())

    def as_dict(self) -> dict[str, object]:
        return {
            "category": self.category,
            "confidence": round(self.confidence, 3),
            "rule": self.rule,
            "reason": self.reason,
        }


class Classifier:
    """Classifies failures; one instance serves a whole run."""

    def __init__(
        self,
        *,
        user_rules: Sequence[UserRule] = (),
        threshold: float = 0.6,
        model: LearnedModel | None = None,
        builtin_rules: Sequence[Rule] = BUILTIN_RULES,
        labels: "ReviewedLabels | None" = None,
        project: "ProjectIndex | None" = None,
    ) -> None:
        self.user_rules = tuple(user_rules)
        self.threshold = threshold
        self.model = model
        self.builtin_rules = tuple(builtin_rules)
        self.labels = labels
        self.project = project
        # Compiled once: a run may classify thousands of failures.
        self._patterns: dict[str, re.Pattern[str]] = {}

    def reviewed(self, fingerprint: str | None) -> Decision | None:
        """The decision of a reviewed label for ``fingerprint``, if a person labelled it."""
        if self.labels is None or not fingerprint:
            return None
        label = self.labels.get(fingerprint)
        return Decision.from_label(label) if label is not None else None

    def classify(self, failure: Failure, fingerprint: str | None = None) -> Decision:
        reviewed = self.reviewed(fingerprint)
        if reviewed is not None:
            return reviewed
        decision = self._decide(failure)
        if decision.category != "unknown" and decision.confidence < self.threshold:
            return Decision(
                "unknown",
                decision.confidence,
                "threshold",
                f"best guess {decision.category} ({decision.rule}, {decision.confidence:.2f})"
                f" is below the threshold {self.threshold:.2f}: {decision.reason}",
            )
        return decision

    def _decide(self, failure: Failure) -> Decision:
        if failure.passed_on_retry:
            return Decision(
                "flaky",
                0.99,
                "retry",
                f"failed, then passed on a retry (attempt {failure.attempts})",
            )
        for key in CONTEXT_CATEGORIES:
            fact = failure.context.get(key)
            if fact:
                return Decision(key, 0.95, f"context:{key}", fact)
        facts = Facts(failure, self.project)
        for user_rule in self.user_rules:
            if self._user_rule_matches(user_rule, facts):
                return Decision(user_rule.category, user_rule.confidence, f"user:{user_rule.name}",
                                f"matched user rule {user_rule.name!r}: {facts.where()}")
        matched = first_match(facts, self.builtin_rules)
        if matched is not None:
            rule, reason = matched
            return Decision(rule.category, rule.confidence, f"builtin:{rule.name}", reason)
        if self.model is not None:
            guess = self.model.predict(failure)
            if guess is not None:
                category, confidence = guess
                return Decision(category, confidence, f"model:{self.model.kind}",
                                f"learned model, closest to past {category} failures")
        return Decision("unknown", 0.0, "none", f"no rule matched: {facts.headline()}")

    def _pattern(self, text: str) -> re.Pattern[str]:
        pattern = self._patterns.get(text)
        if pattern is None:
            pattern = self._patterns[text] = re.compile(text)
        return pattern

    def _user_rule_matches(self, rule: UserRule, facts: Facts) -> bool:
        failure = facts.failure
        if rule.phase and failure.phase not in rule.phase:
            return False
        if rule.markers and not set(rule.markers) & set(failure.markers):
            return False
        if rule.exception and not any(ev.is_a(*rule.exception) for ev in facts.evidences):
            return False
        if rule.message is not None:
            pattern = self._pattern(rule.message)
            texts = [ev.message for ev in facts.evidences] or [failure.longrepr]
            if not any(pattern.search(text) for text in texts):
                return False
        if rule.traceback is not None and not self._pattern(rule.traceback).search(
            failure.longrepr
        ):
            return False
        if rule.paths:
            paths = [failure.test_path, *(frame.path for frame in facts.frames)]
            if not any(fnmatch.fnmatch(path, glob) for path in paths for glob in rule.paths):
                return False
        return True
