"""Flakiness from history: flips between runs of the same code, retry passes, outages, broken tests."""

from __future__ import annotations

from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.triage.flaky import flakiness, is_outage

NODE = "tests/test_cart.py::test_total"


def history(*rows: tuple[str, str | None, str], attempts: dict[int, int] | None = None):
    """Rows (outcome, code state, run id suffix) oldest first -> newest-first pairs like the store.

    A state like ``c1`` is a clean tree at commit c1; ``c1+edit`` the same commit with a changed tree.
    """
    pairs = []
    for index, (outcome, state, run_id) in enumerate(rows):
        commit = state.split("+", 1)[0] if state else None
        run = RunRecord(run_id=run_id, started=1000.0 + index, commit=commit, code_state=state)
        test = TestRecord(nodeid=NODE, outcome=outcome, attempts=(attempts or {}).get(index, 1))
        pairs.append((run, test))
    return list(reversed(pairs))


def test_fail_then_pass_on_the_same_code_is_a_flip() -> None:
    rows = [("passed", "c1", "r1"), ("failed", "c1", "r2"), ("passed", "c1", "r3"),
            ("passed", "c1", "r4"), ("failed", "c1", "r5")]
    stats = flakiness(history(*rows), min_runs=5, flip_rate=0.3)
    assert stats.nodeid == NODE
    assert (stats.runs, stats.failures, stats.flips, stats.comparisons) == (5, 2, 3, 4)
    assert stats.flip_rate == 0.75
    assert stats.flaky
    assert "2 of 5 runs failed" in stats.evidence and "flip rate 75%" in stats.evidence


def test_changes_across_commits_are_not_flips() -> None:
    # Failing on c2 and passing again on c3 is a bug and its fix, not flakiness.
    rows = [("passed", "c1", "r1"), ("failed", "c2", "r2"), ("failed", "c2", "r3"),
            ("passed", "c3", "r4"), ("passed", "c3", "r5")]
    stats = flakiness(history(*rows), min_runs=5, flip_rate=0.3)
    assert stats.flips == 0
    assert not stats.flaky


def test_always_failing_is_never_flaky() -> None:
    rows = [("failed", "c1", f"r{n}") for n in range(10)]
    stats = flakiness(history(*rows), min_runs=5, flip_rate=0.0)
    assert stats.failures == 10
    assert not stats.flaky
    assert "broken, not flaky" in stats.evidence


def test_pass_on_retry_is_evidence_even_in_one_run() -> None:
    stats = flakiness(history(("passed", "c1", "r1"), attempts={0: 2}), min_runs=5, flip_rate=0.3)
    assert stats.passed_on_retry == 1
    assert stats.flaky and stats.evidence_kinds == ("retry",)
    assert "passed on retry 1x" in stats.evidence


def test_edits_between_runs_at_one_commit_are_not_flips() -> None:
    # Break a function, run, restore it, run, break it again: three programs, one commit.
    rows = [("passed", "c1", "r1"), ("failed", "c1+broken", "r2"), ("passed", "c1", "r3"),
            ("failed", "c1+broken", "r4"), ("passed", "c1", "r5"), ("failed", "c1+other-bug", "r6"),
            ("passed", "c1", "r7")]
    stats = flakiness(history(*rows), min_runs=2, flip_rate=0.1)
    assert stats.same_code_flips == 0 and stats.flips == 0
    assert not stats.flaky
    assert stats.comparable_runs == 6  # four clean runs and two of the same broken tree


def test_a_flip_within_one_edited_state_still_counts() -> None:
    rows = [("passed", "c1+wip", "r1"), ("failed", "c1+wip", "r2"), ("passed", "c1+wip", "r3"),
            ("failed", "c1+wip", "r4"), ("passed", "c1+wip", "r5")]
    stats = flakiness(history(*rows), min_runs=5, flip_rate=0.3)
    assert stats.flaky and stats.evidence_kinds == ("same-code flips",)
    assert "4 flips between runs of the same code" in stats.evidence


def test_runs_of_unknown_state_are_compared_with_none() -> None:
    # History written before code states were recorded: a commit alone is not the same code.
    pairs = [(RunRecord(run_id=f"r{n}", started=float(n), commit="c1"),
              TestRecord(nodeid=NODE, outcome="failed" if n % 2 else "passed")) for n in range(8)]
    stats = flakiness(pairs, min_runs=2, flip_rate=0.1)
    assert stats.comparisons == 0 and not stats.flaky


def test_a_per_test_state_compares_runs_whose_other_files_changed() -> None:
    rows = [("passed", "c1", "r1"), ("failed", "c1+docs", "r2"), ("passed", "c1+readme", "r3"),
            ("failed", "c1+docs2", "r4"), ("passed", "c1+other", "r5")]
    # The test executed none of the files that changed: for it, every run tested the same code.
    stats = flakiness(history(*rows), min_runs=5, flip_rate=0.3, state_of=lambda run: "files-of-this-test")
    assert stats.flaky and stats.same_code_flips == 4
    assert not flakiness(history(*rows), min_runs=5, flip_rate=0.3).flaky


def test_flaky_flag_on_the_record_counts_as_a_retry_pass() -> None:
    run = RunRecord(run_id="r1", started=1.0, commit="c1")
    test = TestRecord(nodeid=NODE, outcome="passed", flaky=True)
    assert flakiness([(run, test)], min_runs=5, flip_rate=0.3).flaky


def test_retried_but_still_failing_is_not_flaky() -> None:
    rows = [("failed", "c1", f"r{n}") for n in range(3)]
    stats = flakiness(history(*rows, attempts={0: 3, 1: 3, 2: 3}), min_runs=1, flip_rate=0.1)
    assert stats.passed_on_retry == 0 and stats.comparisons == 5
    assert not stats.flaky


def test_outage_runs_are_ignored() -> None:
    rows = [("passed", "c1", "r1"), ("failed", "c1", "outage"), ("passed", "c1", "r3"),
            ("passed", "c1", "r4"), ("passed", "c1", "r5"), ("passed", "c1", "r6")]
    stats = flakiness(history(*rows), min_runs=5, flip_rate=0.1, outage_runs={"outage"})
    assert stats.runs == 5 and stats.flips == 0
    assert not stats.flaky
    assert "1 outage runs ignored" in stats.evidence


def test_too_few_runs_are_not_enough_evidence() -> None:
    rows = [("passed", "c1", "r1"), ("failed", "c1", "r2"), ("passed", "c1", "r3")]
    stats = flakiness(history(*rows), min_runs=5, flip_rate=0.3)
    assert stats.flips == 2
    assert not stats.flaky


def test_skips_and_runs_without_a_code_state_do_not_flip() -> None:
    rows = [("passed", None, "r1"), ("failed", None, "r2"), ("skipped", "c1", "r3")]
    stats = flakiness(history(*rows), min_runs=1, flip_rate=0.1)
    assert stats.runs == 2 and stats.flips == 0 and stats.flip_rate == 0.0


def test_empty_history() -> None:
    stats = flakiness([], min_runs=1, flip_rate=0.1)
    assert stats.nodeid == "" and stats.runs == 0 and not stats.flaky


def test_outage_rule_is_more_than_eighty_percent() -> None:
    assert is_outage(81, 100)
    assert not is_outage(80, 100)
    assert not is_outage(0, 0)
