"""The built-in classification rules, one module per category, in the order they are tried.

Each rule is named, has a category and a confidence, a predicate over the
:class:`Facts` of one failure and an explanation for the report. Rules weigh
what the exception *says* (its class and MRO, the words of its type names,
message vocabulary, HTTP status classes, version-requirement phrases, errno
values, see ``vocabulary``) alongside *where* it was raised and whose code the
failing frame is. The order mirrors how specific each kind of evidence is:

1. pytest's own verdicts (its timeout, missing fixtures, bad parametrize);
2. infrastructure before timeout, so a socket read timeout is the network's;
3. environment, timeout and data, whose signals are specific;
4. the test's own mistakes, then the product, the catch-all for code that ran;
5. failures with no exception: a failed dependency, a crashed worker.

Where to add a rule: the module of its category, in the tuple, at the place
its specificity puts it; ``tests/unit/test_triage_rules.py`` names the rule each
case must be decided by. Pure logic: no pytest import.
"""

from __future__ import annotations

from typing import Iterable

from pytest_orchestra.triage.rules.data import CORRUPT_ARCHIVE_RULE, DATA_RULES
from pytest_orchestra.triage.rules.environment import ENVIRONMENT_RULES
from pytest_orchestra.triage.rules.facts import (
    DATA_FOLDERS,
    STDLIB_DIRS,
    TEST_FOLDERS,
    Facts,
)
from pytest_orchestra.triage.rules.infrastructure import INFRASTRUCTURE_RULES
from pytest_orchestra.triage.rules.product import FALLBACK_RULES, PRODUCT_RULES
from pytest_orchestra.triage.rules.rule import Rule, first_match
from pytest_orchestra.triage.rules.testcode import PYTEST_USAGE_RULES, TEST_RULES
from pytest_orchestra.triage.rules.timeout import PYTEST_TIMEOUT_RULE, TIMEOUT_RULES

__all__ = [
    "BUILTIN_RULES",
    "DATA_FOLDERS",
    "STDLIB_DIRS",
    "TEST_FOLDERS",
    "Facts",
    "Rule",
    "first_match",
    "rule_names",
]

#: Every built-in rule, in the order the classifier tries them.
BUILTIN_RULES: tuple[Rule, ...] = (
    PYTEST_TIMEOUT_RULE,
    *PYTEST_USAGE_RULES,
    *INFRASTRUCTURE_RULES,
    CORRUPT_ARCHIVE_RULE,
    *ENVIRONMENT_RULES,
    *TIMEOUT_RULES,
    *DATA_RULES,
    *TEST_RULES,
    *PRODUCT_RULES,
    *FALLBACK_RULES,
)


def rule_names(rules: Iterable[Rule] = BUILTIN_RULES) -> list[str]:
    return [rule.name for rule in rules]
