"""``timeout``: the test, or a wait inside it, ran out of its time budget.

pytest-timeout's own failure, subprocess and futures/asyncio/multiprocessing
timeouts, an empty queue after ``get(timeout=...)``, and what a product's or
helper's exception says: a type named for a deadline (``DeadlineExceeded``,
``LockTimeout``) or a message saying time ran out ("lock not acquired within
2s"). Network timeouts were claimed by the infrastructure rules before these.
"""

from __future__ import annotations

import re

from pytest_orchestra.triage.rules.facts import Facts, because, raised
from pytest_orchestra.triage.rules.rule import Rule
from pytest_orchestra.triage.rules.vocabulary import (
    TIME_RAN_OUT,
    rx,
    says_timeout_in_type,
)

PYTEST_TIMEOUT = re.compile(r"^Timeout >|\+{3,} Timeout \+{3,}|Failed: Timeout >", re.MULTILINE)
#: The looser phrases a test's or helper's own assertion uses for a deadline.
DEADLINE = rx(
    r"timed? ?out|deadline|within \d+(\.\d+)?\s*(s|ms|sec|secs|seconds|minutes?)\b"
    r"|gave up (after|waiting)|still (running|pending|waiting) after|\bin time\b|took too long"
)


def pytest_timeout(facts: Facts) -> bool:
    if facts.primary is not None:
        return facts.is_a("Failed") and facts.primary.message.startswith("Timeout")
    return bool(PYTEST_TIMEOUT.search(facts.failure.longrepr))


def _deadline_message(facts: Facts) -> bool:
    if not facts.is_a("AssertionError", "RuntimeError", "Failed") or facts.is_a("OSError"):
        return False
    line = facts.message_line()
    # pytest's own rewritten "assert x == y" line says nothing about waiting.
    return not line.startswith("assert ") and bool(DEADLINE.search(line))


def _timeout_named(facts: Facts) -> bool:
    """A product's or library's exception whose class or message says time ran out."""
    if facts.primary is None or facts.is_assertion() or facts.chain_is_a("OSError"):
        return False
    return says_timeout_in_type(facts.words) or facts.message_says(TIME_RAN_OUT)


PYTEST_TIMEOUT_RULE = Rule(
    "pytest-timeout", "timeout", 0.95, pytest_timeout,
    lambda f: f"the test ran past its pytest-timeout budget: {raised(f)}",
)

TIMEOUT_RULES: tuple[Rule, ...] = (
    Rule("subprocess-timeout", "timeout", 0.95,
         lambda f: f.chain_is_a("TimeoutExpired"),
         because("a subprocess ran past its timeout")),
    Rule("wait-timeout", "timeout", 0.9,
         # Network timeouts were claimed by the infrastructure rules.
         lambda f: f.chain_is_a("TimeoutError", "multiprocessing.context.TimeoutError"),
         because("a wait ran out of its time budget")),
    Rule("queue-empty", "timeout", 0.85,
         lambda f: f.is_a("_queue.Empty", "queue.Empty"),
         because("a queue stayed empty past its get() timeout")),
    Rule("deadline-helper", "timeout", 0.8, _deadline_message,
         because("a polling helper's deadline passed")),
    Rule("timeout-named", "timeout", 0.8, _timeout_named,
         because("an exception says a wait or an operation ran out of time")),
)
