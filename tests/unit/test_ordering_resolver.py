"""The ordering resolver: stable order, references, chains, upstreams, cycles, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pytest_orchestra.ordering.resolver import OrderingError, Reference, TestNode, resolve, suffixes


def node(nodeid: str, *refs: str, marker: str = "after", app: str | None = None, alias: str = "") -> TestNode:
    return TestNode(nodeid, app, (alias,) if alias else (), tuple(Reference(r, marker) for r in refs))


def ordered(tests, apps=None):
    resolution = resolve(tests, apps or {})
    return [tests[i].nodeid for i in resolution.order]


def test_without_constraints_the_given_order_is_kept() -> None:
    tests = [node(f"t.py::test_{i}") for i in (5, 1, 9, 3)]
    assert ordered(tests) == [t.nodeid for t in tests]
    assert resolve(tests, {}).chain_of == {}


def test_a_constraint_moves_only_what_it_must() -> None:
    tests = [node("t.py::a"), node("t.py::b", "d"), node("t.py::c"), node("t.py::d"), node("t.py::e")]
    # b waits for d; everything else keeps its place relative to the others.
    assert ordered(tests) == ["t.py::a", "t.py::c", "t.py::d", "t.py::b", "t.py::e"]


def test_parametrized_base_name_means_every_variant() -> None:
    tests = [node("t.py::test_pay", "test_login", marker="requires"), node("t.py::test_login[a]"),
             node("t.py::test_login[b]")]
    resolution = resolve(tests, {})
    assert [tests[i].nodeid for i in resolution.order] == ["t.py::test_login[a]", "t.py::test_login[b]", "t.py::test_pay"]
    assert {u.name for u in resolution.upstreams[0]} == {"t.py::test_login[a]", "t.py::test_login[b]"}
    assert set(resolution.chain_of.values()) == {"t.py::test_login[a]"}


def test_suffix_in_own_file_wins_over_other_files() -> None:
    tests = [node("a/test_x.py::test_setup"), node("b/test_y.py::test_setup"),
             node("b/test_y.py::test_use", "test_setup", marker="requires")]
    upstreams = resolve(tests, {}).upstreams[2]
    assert [u.name for u in upstreams] == ["b/test_y.py::test_setup"]
    # A path makes it explicit.
    tests[2] = node("b/test_y.py::test_use", "test_x.py::test_setup", marker="requires")
    assert [u.name for u in resolve(tests, {}).upstreams[2]] == ["a/test_x.py::test_setup"]


def test_references_by_alias_file_and_app() -> None:
    tests = [
        node("r.py::test_report", "invoice", "test_auth.py", marker="requires"),
        node("b.py::test_invoice", alias="invoice", app="billing"),
        node("test_auth.py::test_a"),
        node("test_auth.py::test_b"),
        node("x.py::test_after_billing", "billing"),
    ]
    resolution = resolve(tests, {})
    order = [tests[i].nodeid for i in resolution.order]
    assert order.index("r.py::test_report") > max(order.index(n) for n in ("b.py::test_invoice", "test_auth.py::test_a", "test_auth.py::test_b"))
    assert order.index("x.py::test_after_billing") > order.index("b.py::test_invoice")
    assert 4 not in resolution.upstreams  # after() orders only


def test_app_dependencies_order_apps_and_make_outcomes_upstream() -> None:
    tests = [node("r.py::test_r", app="reporting"), node("b.py::test_b", app="billing"),
             node("a.py::test_a1", app="auth"), node("free.py::test_free"), node("a.py::test_a2", app="auth")]
    resolution = resolve(tests, {"billing": ["auth"], "reporting": ["billing"]})
    assert [tests[i].nodeid for i in resolution.order] == [
        "free.py::test_free", "a.py::test_a1", "a.py::test_a2", "b.py::test_b", "r.py::test_r"
    ] or [tests[i].nodeid for i in resolution.order] == [
        "a.py::test_a1", "free.py::test_free", "a.py::test_a2", "b.py::test_b", "r.py::test_r"
    ]
    assert [(u.kind, u.name) for u in resolution.upstreams[1]] == [("app", "auth")]
    assert 3 not in resolution.chain_of  # the free test is no chain member: it may go anywhere
    assert len(set(resolution.chain_of.values())) == 1 and len(resolution.chain_of) == 4


def test_unknown_reference_names_marker_and_test() -> None:
    with pytest.raises(OrderingError, match=r"t.py::test_b: @pytest.mark.requires\('test_nope'\): no test, alias or app"):
        resolve([node("t.py::test_a"), node("t.py::test_b", "test_nope", marker="requires")], {})


def test_a_test_cannot_require_only_itself() -> None:
    with pytest.raises(OrderingError, match="names only this test itself"):
        resolve([node("t.py::test_a", "test_a")], {})


def test_cycle_between_tests_is_printed() -> None:
    tests = [node("t.py::test_a", "test_b"), node("t.py::test_b", "test_a", marker="requires")]
    with pytest.raises(OrderingError) as error:
        resolve(tests, {})
    message = str(error.value)
    assert message.startswith("ordering cycle: ")
    assert "t.py::test_a" in message and "t.py::test_b" in message and "requires('test_a')" in message


def test_cycle_through_apps_reads_as_apps() -> None:
    tests = [node("a.py::test_a", "billing", app="auth"), node("b.py::test_b", app="billing")]
    with pytest.raises(OrderingError, match=r"ordering cycle: (auth → billing → auth|billing → auth → billing)"):
        resolve(tests, {"billing": ["auth"]})


def test_suffixes_cover_path_and_name_boundaries() -> None:
    assert set(suffixes("a/b.py::C::t")) == {"a/b.py::C::t", "b.py::C::t", "C::t", "t", "a/b.py", "b.py"}


def test_same_order_in_processes_with_different_hash_seeds() -> None:
    script = (
        "import json; from pytest_orchestra.ordering.resolver import *\n"
        "tests=[TestNode(f'm{i%7}.py::t{i}', app=f'app{i//12}', aliases=(f'x{i}',),"
        " references=tuple(Reference(f'x{j}', 'requires') for j in range(i) if (i*j) % 11 == 1)) for i in range(60)]\n"
        "r=resolve(tests, {'app3': ['app1'], 'app4': ['app3']})\n"
        "print(json.dumps([r.order, sorted(r.chain_of.items())]))\n"
    )
    outputs = set()
    for seed in ("1", "2", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outputs.add(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                   check=True).stdout)
    assert len(outputs) == 1
    order, chains = json.loads(outputs.pop())
    assert sorted(order) == list(range(60)) and chains
