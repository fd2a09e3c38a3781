"""Failure triage end to end: categories, clusters, retries, quarantine, routing, triage.json."""

from __future__ import annotations

import json
import socket
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Dict, List

import pytest

from tests.conftest import history_rows, latest_summary
from tests.httpfakes import recording_server

FAILURES = """
import json, os, socket, subprocess, sys
import pytest

def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

def test_service_down():
    socket.create_connection(("127.0.0.1", _closed_port()), timeout=2)

def test_exporter_hangs():
    subprocess.run([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.3)

def test_fixture_file_corrupt(tmp_path):
    path = tmp_path / "orders.json"
    path.write_text('{"orders": [1, 2')
    json.loads(path.read_text())

def test_typo():
    assert totl == 3

def test_license_missing():
    os.environ["SHOP_LICENSE_KEY_FILE_XYZ"]

def test_wrong_total():
    assert sum([1, 2]) == 4
"""

EXPECTED = {
    "test_service_down": "infrastructure",
    "test_exporter_hangs": "timeout",
    "test_fixture_file_corrupt": "data",
    "test_typo": "test",
    "test_license_missing": "environment",
    "test_wrong_total": "product",
}


def _triage(base: Path) -> Dict[str, Dict[str, Any]]:
    records = json.loads((base / ".orchestra" / "reports" / "latest" / "triage.json").read_text())
    return {r["nodeid"].split("::")[-1]: r for r in records}


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_every_failure_gets_a_category_rule_and_fingerprint(pytester: pytest.Pytester, workers: List[str]) -> None:
    pytester.makepyfile(test_shop=FAILURES)
    result = pytester.runpytest(*workers)
    assert result.ret == 1
    triage = _triage(pytester.path)
    assert {name: r["category"] for name, r in triage.items()} == EXPECTED
    for record in triage.values():
        assert record["rule"] and record["reason"] and 0 < record["confidence"] <= 1
        assert len(record["fingerprint"]) == 12
    rows = {r["nodeid"].split("::")[-1]: r["category"] for r in history_rows(pytester.path)}
    assert rows == EXPECTED
    assert latest_summary(pytester.path)["by_category"] == {c: 1 for c in EXPECTED.values()}
    result.stdout.fnmatch_lines(["orchestra: triage: *1 product*; 6 cluster(s)*"])
    report = (pytester.path / ".orchestra/reports/latest/report.md").read_text()
    assert "#### infrastructure (1)" in report and "#### timeout (1)" in report


def test_collection_errors_are_classified(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_broken="import totally_missing_third_party_pkg_xyz\n")
    pytester.makepyfile(test_syntax="def test_x(:\n    pass\n")
    pytester.runpytest()
    triage = {r["nodeid"]: r for r in json.loads((pytester.path / ".orchestra/reports/latest/triage.json").read_text())}
    assert triage["test_broken.py"]["category"] == "environment"
    assert triage["test_syntax.py"]["category"] == "test"
    assert triage["test_syntax.py"]["phase"] == "collect"


def test_look_alike_failures_fold_into_one_incident(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_outage="""
        import socket, pytest
        def _closed_port():
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                return probe.getsockname()[1]
        @pytest.mark.parametrize("n", range(8))
        def test_inventory_api(n):
            socket.create_connection(("127.0.0.1", _closed_port()), timeout=2)
        """
    )
    pytester.runpytest()
    triage = _triage(pytester.path)
    assert len({r["fingerprint"] for r in triage.values()}) == 1  # ports differ, fingerprint does not
    summary = latest_summary(pytester.path)
    assert len(summary["triage"]["incidents"]) == 1
    report = (pytester.path / ".orchestra/reports/latest/report.md").read_text()
    assert "**Incident**" in report and "(8 tests)" in report
    assert report.count("test_inventory_api[") == 5  # five named, then "and 3 more"
    assert "… and 3 more" in report


def test_user_rules_and_the_classify_hook(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml",
        orchestra="""
        triage:
          rules:
            - {name: payments-sandbox, category: infrastructure, message: "sandbox is resetting"}
        """,
    )
    pytester.makeconftest(
        """
        from pytest_orchestra.triage.classifier import Decision
        def pytest_orchestra_classify(failure):
            if "legacy" in failure.nodeid:
                return Decision("dependency", 0.9, "hook:legacy", "legacy suite depends on the mainframe")
        """
    )
    pytester.makepyfile(
        """
        def test_payment():
            raise RuntimeError("payments sandbox is resetting, try later")
        def test_legacy_report():
            assert False
        """
    )
    pytester.runpytest()
    triage = _triage(pytester.path)
    assert (triage["test_payment"]["category"], triage["test_payment"]["rule"]) == ("infrastructure", "user:payments-sandbox")
    assert (triage["test_legacy_report"]["category"], triage["test_legacy_report"]["rule"]) == ("dependency", "hook:legacy")


def test_bad_triage_config_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra="triage:\n  rules:\n    - {name: x, category: prodcut}\n")
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: orchestra.yaml: triage.rules[[]0[]].category: expected one of product, *got 'prodcut'"])


RETRY_SUITE = """
import os, socket, pytest
COUNTER = os.path.join(os.path.dirname(__file__), "attempts-{name}.txt")

def _bump(name):
    path = COUNTER.format(name=name)
    n = int(open(path).read()) + 1 if os.path.exists(path) else 1
    open(path, "w").write(str(n))
    return n

def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

def test_flaky_network():
    if _bump("net") == 1:
        socket.create_connection(("127.0.0.1", _closed_port()), timeout=2)

def test_always_down():
    _bump("down")
    socket.create_connection(("127.0.0.1", _closed_port()), timeout=2)

def test_product_bug():
    _bump("bug")
    assert 1 + 1 == 3
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_retries_only_retryable_categories_and_flag_flaky(pytester: pytest.Pytester, workers: List[str]) -> None:
    pytester.makepyfile(test_retry=RETRY_SUITE)
    result = pytester.runpytest("--orchestra-reruns", "2", *workers)
    assert result.ret == 1
    attempts = {name: int((pytester.path / f"attempts-{name}.txt").read_text()) for name in ("net", "down", "bug")}
    assert attempts == {"net": 2, "down": 3, "bug": 1}  # product failures are not retried by default
    triage = _triage(pytester.path)
    assert triage["test_flaky_network"]["category"] == "flaky"
    assert triage["test_flaky_network"]["flaky"] is True and triage["test_flaky_network"]["attempts"] == 2
    assert triage["test_always_down"]["category"] == "infrastructure"
    assert triage["test_always_down"]["flaky"] is False and triage["test_always_down"]["attempts"] == 3
    rows = {r["nodeid"].split("::")[-1]: r for r in history_rows(pytester.path)}
    assert rows["test_flaky_network"]["outcome"] == "passed" and rows["test_flaky_network"]["attempts"] == 2
    assert rows["test_always_down"]["outcome"] == "failed"
    report = (pytester.path / ".orchestra/reports/latest/report.md").read_text()
    assert "test_flaky_network" in report.split("### Retries")[1]


def test_retry_every_category_from_the_workflow(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra="retries: {max: 1, categories: all}\n")
    pytester.makepyfile(test_retry=RETRY_SUITE)
    pytester.runpytest()
    assert (pytester.path / "attempts-bug.txt").read_text() == "2"


def test_quarantined_failures_fail_neither_the_session_nor_the_gate(pytester: pytest.Pytester) -> None:
    today = date.today()
    (pytester.path / ".orchestra").mkdir()
    (pytester.path / ".orchestra" / "quarantine.yaml").write_text(
        "entries:\n"
        f"  - {{nodeid: 'test_q.py::test_known_bad', reason: 'JIRA-12', owner: '@qa', since: {today - timedelta(days=3)}, expires: {today + timedelta(days=3)}}}\n"
        f"  - {{nodeid: 'test_q.py::test_expired', reason: 'old', owner: '@qa', since: {today - timedelta(days=30)}, expires: {today - timedelta(days=1)}}}\n"
    )
    pytester.makepyfile(
        test_q="""
        def test_known_bad():
            assert False, "still broken"
        def test_ok():
            pass
        """
    )
    result = pytester.runpytest("--orchestra-gate=max_failures=0")
    assert result.ret == 0
    triage = _triage(pytester.path)
    assert triage["test_known_bad"]["quarantined"] is True
    report = (pytester.path / ".orchestra/reports/latest/report.md").read_text()
    assert "test_known_bad" in report.split("### Quarantined")[1]
    # an expired entry returns to normal by itself
    pytester.makepyfile(test_q="def test_expired():\n    assert False\n")
    assert pytester.runpytest().ret == 1


def test_malformed_quarantine_file_names_the_entry(pytester: pytest.Pytester) -> None:
    (pytester.path / ".orchestra").mkdir()
    (pytester.path / ".orchestra" / "quarantine.yaml").write_text(
        "entries:\n  - {nodeid: a, reason: b, since: 2026-01-01, expires: soon}\n"
    )
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *quarantine.yaml: entries[[]0[]].expires: *'soon'*"])


def test_failures_route_to_a_webhook_and_a_jsonl_file(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAM_HOOK_TOKEN", "hook-secret-value-42")
    with recording_server() as hook:
        pytester.makefile(
            ".yaml",
            orchestra=f"""
            triage:
              sinks:
                team-hook: {{type: webhook, url: "{hook.url}/hook", token_env: TEAM_HOOK_TOKEN}}
                log: {{type: jsonl, path: .orchestra/failures.jsonl}}
              routes:
                - {{categories: [infrastructure, timeout], sinks: [team-hook]}}
                - {{sinks: [log]}}
            """,
        )
        pytester.makepyfile(test_shop=FAILURES)
        pytester.runpytest()
        assert len(hook.received) == 1
        method, path, headers, body = hook.received[0]
        assert (method, path) == ("POST", "/hook")
        assert headers["authorization"] == "Bearer hook-secret-value-42"
        payload = json.loads(body)
        assert {f["nodeid"].split("::")[-1] for f in payload["failures"]} == {"test_service_down", "test_exporter_hangs"}
        assert b"hook-secret-value-42" not in body
    logged = [json.loads(line) for line in (pytester.path / ".orchestra/failures.jsonl").read_text().splitlines()]
    assert len(logged) == 6
    triage = _triage(pytester.path)
    assert triage["test_service_down"]["routes"] == ["team-hook", "log"]
    assert triage["test_service_down"]["delivered"] == ["team-hook", "log"]


def test_a_dead_webhook_spools_and_a_later_run_delivers(pytester: pytest.Pytester) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workflow = """
    triage:
      sinks:
        hook: {{type: webhook, url: "http://127.0.0.1:{port}/hook", timeout: 1, retries: 1}}
      routes:
        - {{sinks: [hook]}}
    """
    pytester.makefile(".yaml", orchestra=workflow.format(port=port))
    pytester.makepyfile("def test_bad():\n    assert 1 == 2\n")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["orchestra: sink hook: * spooled for the next run*"])
    spooled = list((pytester.path / ".orchestra" / "spool").rglob("*.json"))
    assert len(spooled) == 1
    with recording_server() as hook:
        pytester.makefile(".yaml", orchestra=workflow.format(port=hook.url.rsplit(":", 1)[1]))
        pytester.makepyfile("def test_bad():\n    pass\n")  # a green run delivers the spool too
        pytester.runpytest()
        assert len(hook.received) == 1
        assert json.loads(hook.received[0][3])["failures"][0]["nodeid"].endswith("::test_bad")
    assert not list((pytester.path / ".orchestra" / "spool").rglob("*.json"))


def test_a_deterministic_timeout_stays_a_timeout_across_retries(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_timeout")
    pytester.makepyfile(
        test_slow="""
        import time, pytest
        @pytest.mark.timeout(0.5)
        def test_hangs():
            time.sleep(3)
        """
    )
    pytester.runpytest("--orchestra-reruns", "1", "-p", "timeout")
    record = _triage(pytester.path)["test_hangs"]
    assert (record["category"], record["flaky"], record["attempts"]) == ("timeout", False, 2)


def _git_repo(path: Path, *files: str) -> None:
    import subprocess

    git = ["git", "-c", "user.email=a@b.c", "-c", "user.name=a"]
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    subprocess.run([*git, "add", *files], cwd=path, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=path, check=True)


def test_flips_between_runs_of_the_same_code_make_a_test_flaky_and_auto_quarantined(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makefile(
        ".yaml", orchestra="quarantine: {auto: true, min_runs: 4, flip_rate: 0.3, expires_days: 7}\n"
    )
    # The nondeterminism lives outside the checkout (a service, the clock...): the code stays the same.
    mode = pytester.path.parent / f"{pytester.path.name}-mode"
    monkeypatch.setenv("FLIP_MODE_FILE", str(mode))
    pytester.makepyfile(
        test_flip="""
        import os, pathlib, pytest
        def test_sometimes():
            assert pathlib.Path(os.environ["FLIP_MODE_FILE"]).read_text() == "pass"
        def test_always_broken():
            assert 1 == 2
        @pytest.mark.parametrize("n", range(6))
        def test_fine(n):
            pass
        """
    )
    _git_repo(pytester.path, "test_flip.py", "orchestra.yaml")
    for flip in ("pass", "fail", "pass", "fail", "pass", "fail"):
        mode.write_text(flip)
        pytester.runpytest()
    triage = _triage(pytester.path)
    assert triage["test_sometimes"]["category"] == "flaky"
    assert triage["test_sometimes"]["rule"] == "history"
    assert "flips between runs of the same code" in triage["test_sometimes"]["flakiness"]
    assert triage["test_sometimes"]["flaky_evidence"] == ["same-code flips"]
    assert triage["test_sometimes"]["quarantined"] is True  # auto-quarantined by an earlier run
    reports = sorted((pytester.path / ".orchestra" / "reports").glob("2*/report.md"))
    quarantining = [r.read_text() for r in reports if "quarantined by this run from the next one on" in r.read_text()]
    assert len(quarantining) == 1 and "(evidence: 3 flips between runs of the same code)" in quarantining[0]
    assert triage["test_always_broken"]["category"] == "product"  # never flaky: it never passes
    quarantine = (pytester.path / ".orchestra" / "quarantine.yaml").read_text()
    assert "test_flip.py::test_sometimes" in quarantine
    assert "flips between runs of the same code)" in quarantine and "auto: flip rate" in quarantine
    assert "test_always_broken" not in quarantine
    # the next run treats it as quarantined: its failure no longer fails the session
    mode.write_text("fail")
    pytester.makepyfile(test_flip="import os, pathlib\ndef test_sometimes():\n    assert pathlib.Path(os.environ['FLIP_MODE_FILE']).read_text() == 'pass'\n")
    assert pytester.runpytest().ret == 0


EDIT_LOOP_PRODUCT = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
EDIT_LOOP_TESTS = """
from calc import add, sub

def test_add():
    assert add(2, 3) == 5

def test_sub():
    assert sub(5, 3) == 2
""" + "".join(f"\ndef test_other_{n}():\n    assert sub({n}, 0) == {n}\n" for n in range(9))


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_edits_between_runs_at_one_commit_are_never_called_flaky(
    pytester: pytest.Pytester, workers: List[str]
) -> None:
    # The repro: 11 tests in a git repository; break add(), run, restore it, run, break it again, run.
    pytester.makefile(".yaml", orchestra="quarantine: {auto: true, min_runs: 2, flip_rate: 0.1}\n")
    pytester.makepyfile(calc=EDIT_LOOP_PRODUCT, test_calc=EDIT_LOOP_TESTS)
    _git_repo(pytester.path, "calc.py", "test_calc.py", "orchestra.yaml")
    calc = pytester.path / "calc.py"
    broken = EDIT_LOOP_PRODUCT.replace("a + b", "a - b")
    for text in (EDIT_LOOP_PRODUCT, broken, EDIT_LOOP_PRODUCT, broken, EDIT_LOOP_PRODUCT, broken):
        calc.write_text(text)
        result = pytester.runpytest(*workers)
    result.assert_outcomes(passed=10, failed=1)
    entry = _triage(pytester.path)["test_add"]
    assert (entry["category"], entry["flaky"], entry["auto_quarantined"]) == ("product", False, False)
    assert "0 flips between runs of the same code" in entry["flakiness"]
    assert entry["changed_code"]["ran_changed_code"] is None  # no map: the run cannot tell which code it ran
    assert "the code changed since the last pass" in entry["changed_code"]["reason"]
    assert not (pytester.path / ".orchestra" / "quarantine.yaml").exists() or "test_add" not in (
        pytester.path / ".orchestra" / "quarantine.yaml").read_text()
    result.stdout.fnmatch_lines(["orchestra: triage: 1 product; 1 cluster(s)"])


def test_plugins_add_sinks_through_the_route_hook(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import json, pathlib
        from pytest_orchestra.triage.sinks.base import DeliveryResult

        class PagerSink:
            name = "pager"
            def deliver(self, failures, run):
                pathlib.Path("paged.json").write_text(json.dumps([f.nodeid for f in failures]))
                return DeliveryResult(self.name, len(failures), 0, None)

        def pytest_orchestra_route(failure, sinks):
            if failure.category == "product":
                return [PagerSink()]
        """
    )
    pytester.makepyfile(test_shop=FAILURES)
    pytester.runpytest()
    assert json.loads((pytester.path / "paged.json").read_text()) == ["test_shop.py::test_wrong_total"]
    assert _triage(pytester.path)["test_wrong_total"]["delivered"] == ["pager"]


def test_a_markdown_sink_adds_its_section_to_report_md(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml",
        orchestra="""
        triage:
          sinks:
            billing-team: {type: markdown}
          routes:
            - {categories: [product], sinks: [billing-team]}
        """,
    )
    pytester.makepyfile(test_shop=FAILURES)
    pytester.runpytest()
    report = (pytester.path / ".orchestra/reports/latest/report.md").read_text()
    section = report.split("### Routed to billing-team")[1]
    assert "`test_shop.py::test_wrong_total` (product)" in section
    assert "test_typo" not in section


def test_negative_reruns_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest("--orchestra-reruns", "-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --orchestra-reruns: expected an integer >= 0, got -1"])


@pytest.mark.parametrize("extra", [[], ["--orchestra-reruns", "1"], ["-n", "2"]], ids=["plain", "retries", "xdist"])
def test_unittest_and_collection_errors_are_judged_from_their_live_exceptions(
    pytester: pytest.Pytester, extra: List[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOP_THEME_FOR_TRIAGE", raising=False)
    monkeypatch.delenv("SHOP_PROXY_FOR_TRIAGE", raising=False)
    pytester.makepyfile(
        test_theme="""
        import os, unittest
        class TestTheme(unittest.TestCase):
            def setUp(self):
                self.theme = os.environ["SHOP_THEME_FOR_TRIAGE"]
            def test_page(self):
                self.assertTrue(self.theme)
        """,
        test_proxy="""
        import os
        PROXY = os.environ["SHOP_PROXY_FOR_TRIAGE"]
        def test_proxy():
            assert PROXY
        """,
    )
    pytester.runpytest("--continue-on-collection-errors", *extra)
    triage = _triage(pytester.path)
    assert (triage["test_page"]["category"], triage["test_page"]["rule"]) == ("environment", "builtin:missing-env-var")
    assert (triage["test_proxy.py"]["category"], triage["test_proxy.py"]["rule"]) == (
        "environment", "builtin:missing-env-var")
