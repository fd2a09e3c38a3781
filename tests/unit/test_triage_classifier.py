"""The classifier's order of evidence: retry, context, user rules, built-ins, model, threshold."""

from __future__ import annotations

import pytest

from pytest_orchestra.triage.classifier import CATEGORIES, Classifier, Decision
from pytest_orchestra.triage.failure import Failure, FailureEvidence, Frame
from pytest_orchestra.triage.specs import UserRule

TEST = Frame("tests/api/test_orders.py", 12, "test_orders", "test")
PRODUCT = Frame("shop/db.py", 40, "connect", "product")


def make(
    kind: str = "builtins.ConnectionRefusedError",
    message: str = "[Errno 111] Connection refused",
    *,
    mro: tuple[str, ...] = ("builtins.ConnectionRefusedError", "builtins.ConnectionError", "builtins.OSError"),
    frames: tuple[Frame, ...] = (TEST, PRODUCT),
    **fields,
) -> Failure:
    values = {"nodeid": "tests/api/test_orders.py::test_orders", "phase": "call", "outcome": "failed",
              "longrepr": "E   ConnectionRefusedError: [Errno 111] Connection refused"}
    values.update(fields)
    return Failure(evidence=FailureEvidence(kind, mro, message, frames), **values)


class FixedModel:
    kind = "fixed"

    def __init__(self, guess):
        self.guess = guess
        self.asked = 0

    def predict(self, failure):
        self.asked += 1
        return self.guess


def test_categories_are_the_fixed_vocabulary():
    assert CATEGORIES == ("product", "test", "infrastructure", "environment", "timeout",
                          "data", "flaky", "dependency", "unknown")


def test_builtin_rule_decides_with_reason():
    decision = Classifier().classify(make())
    assert decision == Decision(
        "infrastructure", 0.95, "builtin:connection-refused",
        "a service refused the connection: ConnectionRefusedError: [Errno 111] Connection refused"
        " raised in shop/db.py:40 (connect)",
    )
    assert decision.as_dict()["confidence"] == 0.95


def test_passed_on_retry_is_flaky_before_anything_else():
    decision = Classifier().classify(make(passed_on_retry=True, attempts=2))
    assert (decision.category, decision.rule) == ("flaky", "retry")
    assert "attempt 2" in decision.reason


def test_failing_retries_are_not_flaky():
    decision = Classifier().classify(make(attempts=3))
    assert decision.category == "infrastructure"


@pytest.mark.parametrize("key", ["dependency", "environment", "flaky"])
def test_context_facts_come_before_rules(key):
    decision = Classifier().classify(make(context={key: "told by another capability"}))
    assert decision == Decision(key, 0.95, f"context:{key}", "told by another capability")


def test_dependency_context_wins_over_environment_context():
    decision = Classifier().classify(make(context={"environment": "e", "dependency": "d"}))
    assert decision.category == "dependency"


def test_unrelated_context_is_ignored():
    assert Classifier().classify(make(context={"note": "x"})).category == "infrastructure"


def test_user_rule_beats_builtin_rules():
    rule = UserRule(name="pg-down", category="environment", exception=("ConnectionError",),
                    message="Connection refused")
    decision = Classifier(user_rules=[rule]).classify(make())
    assert (decision.category, decision.rule, decision.confidence) == ("environment", "user:pg-down", 0.95)
    assert "pg-down" in decision.reason and "shop/db.py:40" in decision.reason


@pytest.mark.parametrize(
    "rule",
    [
        UserRule(name="r", category="product", exception=("KeyError",)),
        UserRule(name="r", category="product", message="^nothing like it$"),
        UserRule(name="r", category="product", traceback="NotInTheText"),
        UserRule(name="r", category="product", paths=("tests/ui/*",)),
        UserRule(name="r", category="product", markers=("slow",)),
        UserRule(name="r", category="product", phase=("setup",)),
    ],
    ids=["exception", "message", "traceback", "paths", "markers", "phase"],
)
def test_each_user_rule_condition_can_reject(rule):
    assert Classifier(user_rules=[rule]).classify(make(markers=("critical",))).rule == "builtin:connection-refused"


def test_user_rule_with_every_condition_matching():
    rule = UserRule(
        name="orders", category="product", exception=("builtins.OSError",), message="Errno 111",
        traceback="ConnectionRefused", paths=("shop/*.py",), markers=("critical",), phase=("call",),
        confidence=0.7,
    )
    decision = Classifier(user_rules=[rule]).classify(make(markers=("critical",)))
    assert (decision.category, decision.rule, decision.confidence) == ("product", "user:orders", 0.7)


def test_user_rule_message_reads_longrepr_without_evidence():
    rule = UserRule(name="text", category="infrastructure", message="gw0 crashed")
    failure = Failure("tests/a.py::t", "crash", "error", None, "worker 'gw0 crashed' hard")
    assert Classifier(user_rules=[rule]).classify(failure).rule == "user:text"


def test_below_threshold_is_unknown_with_best_guess():
    rule = UserRule(name="weak", category="product", exception=("OSError",), confidence=0.4)
    decision = Classifier(user_rules=[rule], threshold=0.6).classify(make())
    assert (decision.category, decision.rule, decision.confidence) == ("unknown", "threshold", 0.4)
    assert "best guess product (user:weak, 0.40) is below the threshold 0.60" in decision.reason


def test_model_is_consulted_only_when_rules_are_silent():
    model = FixedModel(("data", 0.8))
    classifier = Classifier(model=model)
    assert classifier.classify(make()).rule == "builtin:connection-refused"
    assert model.asked == 0
    silent = Failure("tests/a.py::t", "call", "failed", None, "")
    decision = classifier.classify(silent)
    assert (decision.category, decision.rule, decision.confidence) == ("data", "model:fixed", 0.8)
    assert model.asked == 1


def test_model_without_a_guess_leaves_unknown():
    silent = Failure("tests/a.py::t", "call", "failed", None, "")
    decision = Classifier(model=FixedModel(None)).classify(silent)
    assert (decision.category, decision.rule, decision.confidence) == ("unknown", "none", 0.0)
    assert decision.reason == "no rule matched: failed in call"


def test_low_confidence_model_guess_falls_under_threshold():
    silent = Failure("tests/a.py::t", "call", "failed", None, "")
    decision = Classifier(model=FixedModel(("data", 0.3))).classify(silent)
    assert (decision.category, decision.rule) == ("unknown", "threshold")
