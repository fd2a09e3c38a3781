"""Reruns from history: the filter, the run, the picked tests, the chain: pure logic."""

from __future__ import annotations

from typing import Dict, Optional

import pytest

from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.plans.rerun import (
    RerunChain,
    RerunError,
    RerunRequest,
    find_run,
    follow_chain,
    parse_filter,
    pick,
    request_for,
    rerun_section,
    split_collected,
)

CATEGORIES = ("product", "infrastructure", "flaky")


def record(nodeid: str, outcome: str = "failed", matrix: Optional[Dict[str, str]] = None, **kw: object) -> TestRecord:
    return TestRecord(nodeid=nodeid, outcome=outcome, matrix=dict(matrix or {}), **kw)  # type: ignore[arg-type]


TESTS = [
    record("tests/billing/test_refund.py::test_refund[Guest-pro]", "failed", {"role": "Guest", "edition": "pro"},
           category="product", app="billing"),
    record("tests/billing/test_refund.py::test_refund[Admin-pro]", "passed", {"role": "Admin", "edition": "pro"},
           app="billing"),
    record("tests/auth/test_login.py::test_login", "error", category="infrastructure", app="auth"),
    record("tests/auth/test_login.py::test_login", "error", category="infrastructure", app="auth"),
    record("tests/test_broken.py", "error", phase="collect"),
    record("tests/test_skip.py::test_s", "skipped"),
]


def test_filter_syntax() -> None:
    f = parse_filter("category=product|infrastructure, app=billing,role=Guest,nodeid=tests/billing/*",
                     dimensions=["role"], categories=CATEGORIES)
    assert f.terms == (
        ("category", ("product", "infrastructure")), ("app", ("billing",)), ("role", ("Guest",)),
        ("nodeid", ("tests/billing/*",)),
    )
    assert [t.nodeid for t in pick(TESTS, f)] == ["tests/billing/test_refund.py::test_refund[Guest-pro]"]
    assert parse_filter(None).terms == () and parse_filter("  ").terms == ()
    assert [t.nodeid for t in pick(TESTS, parse_filter("outcome=error"))] == [
        "tests/auth/test_login.py::test_login", "tests/test_broken.py",
    ]
    assert pick(TESTS, parse_filter("role=Admin", dimensions=["role"])) == []  # Admin passed
    assert len(pick(TESTS, parse_filter("nodeid=*::test_login"))) == 1  # once each


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rol=Guest", "unknown key 'rol' (keys: category, app, outcome, nodeid, or a matrix dimension (role))"),
        ("category", "expected KEY=VALUE, got 'category'"),
        ("app=", "expected KEY=VALUE, got 'app='"),
        ("category=regression", "unknown category 'regression' (categories: product, infrastructure, flaky)"),
        ("outcome=passed", "outcome 'passed': reruns take failed or error"),
        ("app=a,app=b", "'app' is given twice (list alternatives with '|')"),
    ],
)
def test_bad_filters_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(RerunError) as raised:
        parse_filter(text, dimensions=["role"], categories=CATEGORIES)
    assert str(raised.value) == f"--orchestra-rerun-filter: {message}"


def run(run_id: str, status: str = "complete", **kw: object) -> RunRecord:
    return RunRecord(run_id=run_id, started=0.0, status=status, **kw)  # type: ignore[arg-type]


def test_finding_the_run() -> None:
    runs = [run("20261122T0003-cc", "running"), run("20261122T0002-bb"), run("20261121T0001-aa", "interrupted")]
    assert find_run(runs, None).run_id == "20261122T0002-bb"  # the last finished run
    assert find_run(runs, "20261121").run_id == "20261121T0001-aa"  # a unique prefix
    with pytest.raises(RerunError, match=r"run nope is not in .orchestra/history.db \(last runs: 20261122T0002-bb, 20261121T0001-aa\)"):
        find_run(runs, "nope")
    with pytest.raises(RerunError, match=r"'2026' names 3 runs .*give more of the id"):
        find_run(runs, "2026")
    with pytest.raises(RerunError, match="no finished run in h.db"):
        find_run([run("x", "running")], None, where="h.db")
    with pytest.raises(RerunError, match=r"last runs: none"):
        find_run([], "x")


def test_request_selection_and_vanished_tests() -> None:
    request = request_for(run("r1", plan="nightly"), pick(TESTS, parse_filter(None)), parse_filter(None))
    assert request.plan == "nightly" and request.collectors == ("tests/test_broken.py",)
    assert request.nodeids == (
        "tests/billing/test_refund.py::test_refund[Guest-pro]", "tests/auth/test_login.py::test_login",
    )
    assert RerunRequest.from_json(request.to_json()) == request
    collected = [
        "tests/billing/test_refund.py::test_refund[Guest-pro]",
        "tests/billing/test_refund.py::test_refund[Admin-pro]",
        "tests/test_broken.py::test_now_fixed",
    ]
    kept, vanished = split_collected(collected, request)
    assert kept == ["tests/billing/test_refund.py::test_refund[Guest-pro]", "tests/test_broken.py::test_now_fixed"]
    assert vanished == ["tests/auth/test_login.py::test_login"]
    assert split_collected([], request)[1] == list(request.nodeids) + ["tests/test_broken.py"]
    folder = RerunRequest("r", None, (), ("tests/pkg",))
    assert folder.wanted("tests/pkg/test_a.py::t") and not folder.wanted("tests/pkg2/test_a.py::t")


def test_chains_follow_rerun_of_oldest_first() -> None:
    runs = {
        "r1": run("r1"),
        "r2": run("r2", rerun_of="r1"),
        "r3": run("r3", rerun_of="r2"),
        "loop": run("loop", rerun_of="loop"),
        "orphan": run("orphan", rerun_of="pruned"),
    }
    tests = {
        "r1": [record("a"), record("b"), record("c", "passed")],
        "r2": [record("a", "passed"), record("b")],
        "r3": [record("b")],
    }
    chain = follow_chain(runs["r3"], runs.get, lambda run_id: tests.get(run_id, []), ["a", "b"])
    assert [r.run_id for r in chain.runs] == ["r1", "r2", "r3"]
    assert chain.outcomes == {"a": {"r1": "failed", "r2": "passed"}, "b": {"r1": "failed", "r2": "failed", "r3": "failed"}}
    assert [r.run_id for r in follow_chain(runs["loop"], runs.get, lambda _: [], []).runs] == ["loop"]
    assert [r.run_id for r in follow_chain(runs["orphan"], runs.get, lambda _: [], []).runs] == ["orphan"]
    assert len(follow_chain(runs["r3"], runs.get, lambda _: [], [], limit=2).runs) == 2

    request = RerunRequest("r3", None, ("b", "gone"), ("tests/test_broken.py",), "app=x")
    section = rerun_section(
        request, chain, [record("b", "passed"), record("tests/test_broken.py::t", "failed")], ["gone"]
    )
    assert section["of"] == "r3" and section["chain"] == ["r1", "r2", "r3"] and section["filter"] == "app=x"
    assert section["requested"] == 3 and section["vanished"] == ["gone"]
    assert section["fixed"] == 1 and section["still_failing"] == 1
    assert section["tests"][0] == {
        "nodeid": "b", "before": "failed", "after": "passed",
        "history": [{"run": "r1", "outcome": "failed"}, {"run": "r2", "outcome": "failed"},
                    {"run": "r3", "outcome": "failed"}],
    }
    assert section["tests"][1]["nodeid"] == "tests/test_broken.py::t" and section["tests"][1]["before"] is None
    assert rerun_section(RerunRequest("x", None, ("a",)), RerunChain(), [], [])["tests"][0]["after"] is None
