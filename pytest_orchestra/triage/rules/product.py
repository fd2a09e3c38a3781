"""``product``: the code under test behaved wrongly; and the last-resort rules.

An assertion about the code's output failed, ``DID NOT RAISE``, or the
product's code raised something no earlier rule explained. Last come the
rules for failures that carry no exception at all: a dependency that failed
(the resolver's text) and a worker process that died.
"""

from __future__ import annotations

import re

from pytest_orchestra.triage.rules.facts import Facts, because, rx
from pytest_orchestra.triage.rules.rule import Rule

DID_NOT_RAISE = re.compile(r"DID NOT (RAISE|WARN)")
DEPENDENCY_FAILED = rx(r"\bdepend(s|ency|ed)\b[^\n]*\b(failed|did not pass|was skipped|errored)\b")
CRASHED = rx(r"worker '[^']+' crashed|node down:|Fatal Python error|killed by signal|\bSIGKILL\b")


def _did_not_raise(facts: Facts) -> bool:
    if facts.primary is not None:
        return facts.is_a("Failed") and bool(DID_NOT_RAISE.match(facts.primary.message))
    return bool(DID_NOT_RAISE.search(facts.failure.longrepr))


PRODUCT_RULES: tuple[Rule, ...] = (
    Rule("did-not-raise", "product", 0.9, _did_not_raise,
         because("the code under test did not raise the expected exception")),
    Rule("assertion-failed", "product", 0.85,
         lambda f: f.is_a("AssertionError") and f.failure.phase == "call",
         because("an assertion about the code under test failed")),
    Rule("raised-in-product", "product", 0.85,
         lambda f: f.raised_in("product"),
         because("the code under test raised")),
    Rule("explicit-fail", "product", 0.7,
         lambda f: f.is_a("Failed") and f.failure.phase == "call",
         because("the test called pytest.fail")),
    Rule("assertion-outside-call", "product", 0.65,
         lambda f: f.is_a("AssertionError"),
         because("an assertion failed outside the test body")),
    Rule("raised-in-test", "product", 0.65,
         lambda f: f.raised_in("test") and f.failure.phase == "call",
         because("the test failed on a value the code under test returned")),
)

FALLBACK_RULES: tuple[Rule, ...] = (
    Rule("dependency-failed", "dependency", 0.8,
         lambda f: f.primary is None and bool(DEPENDENCY_FAILED.search(f.failure.longrepr)),
         because("a test or app it depends on failed")),
    Rule("worker-crashed", "infrastructure", 0.65,
         lambda f: f.failure.phase == "crash" or bool(CRASHED.search(f.failure.longrepr)),
         lambda f: f"the worker process running the test died: {f.headline()}"),
)
