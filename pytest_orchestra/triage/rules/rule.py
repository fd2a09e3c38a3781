"""One named rule: a category, a confidence, a predicate over :class:`Facts` and an explanation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from pytest_orchestra.triage.rules.facts import Facts


@dataclass(frozen=True)
class Rule:
    name: str
    category: str
    confidence: float
    predicate: Callable[[Facts], bool]
    explain: Callable[[Facts], str]


def first_match(facts: Facts, rules: Sequence[Rule]) -> tuple[Rule, str] | None:
    """The first rule whose predicate holds, with its explanation."""
    for rule in rules:
        if rule.predicate(facts):
            return rule, rule.explain(facts)
    return None
