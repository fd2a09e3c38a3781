"""An optional learned classifier, consulted only where no rule spoke.

A small multinomial naive Bayes over normalized tokens of a failure (the
exception type, its message, the frames' function names and file kinds),
written in pure Python so it needs no extra dependency. It is trained from
labelled history (``python -m pytest_orchestra triage train``) and saved as
JSON (``.orchestra/triage-model.json`` by default). ``flaky``, ``dependency``
and ``unknown`` are never learned: flaky needs retry or history evidence and
dependency needs the resolver, which text cannot show.
Pure logic: no pytest import.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from pytest_orchestra.triage.failure import Failure, failure_text
from pytest_orchestra.triage.fingerprint import normalize_message

FORMAT = "pytest-orchestra/triage-model"
VERSION = 1

#: Categories the text of a failure cannot tell.
UNLEARNABLE = frozenset({"flaky", "dependency", "unknown"})

#: Naive Bayes posteriors are over-confident; scaled so a model never outranks a rule.
CONFIDENCE_SCALE = 0.85

TOKEN = re.compile(r"<\w+>|[A-Za-z_][A-Za-z0-9_]{1,40}")
SMOOTHING = 1.0


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens of ``text`` after numbers, paths and ids were normalized."""
    return [token.lower() for token in TOKEN.findall(normalize_message(text))]


@dataclass
class LearnedModel:
    """Token counts per category; ``predict`` returns (category, confidence) or None."""

    class_counts: dict[str, int] = field(default_factory=dict)
    token_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    kind: str = "naive-bayes"

    @classmethod
    def train(cls, examples: Iterable[tuple[str, str]]) -> LearnedModel:
        """Train from ``(text, category)`` pairs; unlearnable categories are skipped."""
        model = cls()
        for text, category in examples:
            if category in UNLEARNABLE:
                continue
            model.class_counts[category] = model.class_counts.get(category, 0) + 1
            counts = model.token_counts.setdefault(category, {})
            for token, count in Counter(tokens(text)).items():
                counts[token] = counts.get(token, 0) + count
        return model

    @property
    def vocabulary(self) -> set[str]:
        return {token for counts in self.token_counts.values() for token in counts}

    def scores(self, text: str) -> dict[str, float]:
        """Posterior probability of each category for ``text``."""
        if not self.class_counts:
            return {}
        vocabulary = self.vocabulary
        words = [token for token in tokens(text) if token in vocabulary]
        total_examples = sum(self.class_counts.values())
        log_scores: dict[str, float] = {}
        for category, examples in self.class_counts.items():
            counts = self.token_counts.get(category, {})
            denominator = sum(counts.values()) + SMOOTHING * len(vocabulary)
            score = math.log(examples / total_examples)
            for word in words:
                score += math.log((counts.get(word, 0) + SMOOTHING) / denominator)
            log_scores[category] = score
        top = max(log_scores.values())
        exp = {category: math.exp(score - top) for category, score in log_scores.items()}
        norm = sum(exp.values())
        return {category: value / norm for category, value in exp.items()}

    def predict_text(self, text: str) -> tuple[str, float] | None:
        scores = self.scores(text)
        if not scores or not any(token in self.vocabulary for token in tokens(text)):
            return None
        category = max(scores, key=lambda name: scores[name])
        return category, scores[category] * CONFIDENCE_SCALE

    def predict(self, failure: Failure) -> tuple[str, float] | None:
        return self.predict_text(failure_text(failure))

    def to_dict(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "kind": self.kind,
            "class_counts": self.class_counts,
            "token_counts": self.token_counts,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearnedModel:
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise ValueError(f"not a {FORMAT} version {VERSION} document")
        return cls(
            class_counts={str(k): int(v) for k, v in dict(data["class_counts"]).items()},
            token_counts={
                str(category): {str(t): int(c) for t, c in dict(counts).items()}
                for category, counts in dict(data["token_counts"]).items()
            },
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), sort_keys=True), encoding="utf-8")


def load_model(path: Path) -> LearnedModel | None:
    """The model saved at ``path``; None when there is none or it cannot be read.

    An unreadable model must not break a test run: rules still classify.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return LearnedModel.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
