"""Triage that reads history and people: reviewed labels, and whether a failing test ran changed code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from tests.pghistory import history_server, history_url  # noqa: F401

CALC = '''\
def add(a, b):
    return a + b


def mul(a, b):
    return a * b
'''

TESTS = '''\
import os, pathlib
from calc import add, mul


def test_add():
    assert add(2, 3) == 5


def test_mul():
    assert mul(2, 3) == 6


def test_service():
    # Nondeterminism outside the checkout, like a flapping service.
    assert pathlib.Path(os.environ["SERVICE_STATE"]).read_text() == "up"
'''


def _triage(base: Path) -> Dict[str, Dict[str, Any]]:
    entries = json.loads((base / ".orchestra" / "reports" / "latest" / "triage.json").read_text())
    return {entry["nodeid"].split("::")[-1]: entry for entry in entries}


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makeini("[pytest]\npythonpath = .\n")
    pytester.makepyfile(calc=CALC, test_calc=TESTS)
    # stdout, stderr and runpytest-*: what pytester's subprocess runs leave in the project.
    (pytester.path / ".gitignore").write_text(".orchestra/\n__pycache__/\nstdout\nstderr\nrunpytest-*\n")
    state = pytester.path.parent / f"{pytester.path.name}-service"
    state.write_text("up")
    monkeypatch.setenv("SERVICE_STATE", str(state))
    git(pytester.path, "init", "-q", "-b", "main")
    git(pytester.path, "config", "user.email", "qa@example.com")
    git(pytester.path, "config", "user.name", "QA")
    git(pytester.path, "add", "-A")
    git(pytester.path, "commit", "-q", "-m", "calc")
    return pytester


def _service(project: pytest.Pytester, state: str) -> None:
    (project.path.parent / f"{project.path.name}-service").write_text(state)


def _edit(project: pytest.Pytester, old: str, new: str) -> None:
    path = project.path / "calc.py"
    path.write_text(path.read_text().replace(old, new))


def test_a_failure_that_ran_changed_lines_is_not_a_suspect_and_one_that_did_not_is(project: pytest.Pytester) -> None:
    # The map says which lines each test runs; recorded in a child process (see test_selection).
    project.runpytest_subprocess("--orchestra-record-map", "-p", "no:cacheprovider").assert_outcomes(passed=3)
    _edit(project, "return a * b", "return a * b + 0 * 1")  # a change test_add does not run
    _edit(project, "return a + b", "return a - b")  # a bug test_add runs
    _service(project, "down")

    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1, failed=2)

    triage = _triage(project.path)
    ran = triage["test_add"]["changed_code"]
    assert ran["ran_changed_code"] is True
    assert ran["reason"].startswith("executed calc.py:2, changed since the last pass (run ")
    flake = triage["test_service"]["changed_code"]
    assert flake["ran_changed_code"] is False
    # calc.py changed, and test_service imported it, but ran none of its changed lines.
    assert flake["reason"].startswith("executed none of the changed lines of 1 file(s) it uses since the last pass")
    assert flake["reason"].endswith("a flake suspect")


@pytest.mark.parametrize(
    "categories, workers",
    [("[infrastructure]", []), ("all", []), ("all", ["-n", "2"])],
    ids=["listed-infrastructure", "all", "all-xdist"],
)
def test_retries_go_to_flake_suspects_and_never_to_a_test_that_ran_changed_code(
    project: pytest.Pytester, categories: str, workers: List[str]
) -> None:
    project.makefile(".yaml", orchestra=f"retries: {{max: 1, categories: {categories}}}\n")
    git(project.path, "add", "orchestra.yaml")
    git(project.path, "commit", "-q", "-m", "retries")
    project.runpytest_subprocess("--orchestra-record-map", "-p", "no:cacheprovider").assert_outcomes(passed=3)
    _edit(project, "return a + b", "return a - b")
    # The service flaps: down on the first attempt, up again by the retry.
    (project.path / "conftest.py").write_text(
        "import os, pathlib, pytest\n"
        "@pytest.hookimpl(trylast=True)\n"
        "def pytest_runtest_teardown(item):\n"
        "    if item.name == 'test_service':\n"
        "        pathlib.Path(os.environ['SERVICE_STATE']).write_text('up')\n"
    )
    git(project.path, "add", "conftest.py")
    git(project.path, "commit", "-q", "-m", "service helper")
    project.runpytest("-p", "no:cacheprovider")  # the last pass of every test at this commit's code
    _edit(project, "return a - b", "return a + b")
    project.runpytest("-p", "no:cacheprovider")
    _edit(project, "return a + b", "return a - b")
    _service(project, "down")

    result = project.runpytest("-p", "no:cacheprovider", *workers)

    triage = _triage(project.path)
    # An assertion failure (product) need not be a listed category: the suspect is retried and passes: flaky.
    assert (triage["test_service"]["attempts"], triage["test_service"]["category"]) == (2, "flaky")
    # The product bug ran changed code: no retry, even where every category is listed.
    assert (triage["test_add"]["attempts"], triage["test_add"]["category"]) == (1, "product")
    result.assert_outcomes(passed=2, failed=1)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_reviewed_label_wins_for_later_failures_with_its_fingerprint(
    project: pytest.Pytester, workers: List[str]
) -> None:
    _service(project, "down")
    project.runpytest("-p", "no:cacheprovider", *workers)
    assert _triage(project.path)["test_service"]["category"] == "product"  # an assertion, to the rules

    labelled = subprocess.run(
        [sys.executable, "-m", "pytest_orchestra", "triage", "label", "test_calc.py::test_service",
         "infrastructure", "--note", "the service flaps at 10:00", "--by", "qa-lead"],
        cwd=project.path, capture_output=True, text=True,
    )
    assert labelled.returncode == 0, labelled.stderr
    assert "as infrastructure" in labelled.stdout

    result = project.runpytest("-p", "no:cacheprovider", *workers)

    entry = _triage(project.path)["test_service"]
    assert (entry["category"], entry["rule"], entry["reviewed"]) == ("infrastructure", "reviewed", True)
    assert entry["reason"].startswith("reviewed by qa-lead on ") and entry["reason"].endswith("the service flaps at 10:00")
    report = (project.path / ".orchestra" / "reports" / "latest" / "report.md").read_text()
    assert "#### infrastructure (1)" in report and "**reviewed** (reviewed by qa-lead" in report
    result.stdout.fnmatch_lines(["orchestra: triage: 1 infrastructure; 1 cluster(s); 1 by reviewed labels"])


def test_a_malformed_labels_file_stops_the_run_naming_the_entry(project: pytest.Pytester) -> None:
    labels = project.path / ".orchestra" / "triage-labels.yaml"
    labels.parent.mkdir(parents=True, exist_ok=True)
    labels.write_text("labels:\n  - {fingerprint: 3f2a9c1d0b7e, category: infra}\n")
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *triage-labels.yaml: labels[[]0[]].category: expected one of product*"])


@pytest.mark.slow
def test_ci_machines_that_start_empty_judge_flakiness_and_find_labels_in_the_shared_history(
    project: pytest.Pytester, history_url: str, tmp_path: Path
) -> None:
    # Two CI machines: fresh clones of one commit, no local history, one team database.
    project.makefile(".yaml", orchestra=f"history: {{url: '{history_url}'}}\n"
                                        "quarantine: {auto: true, min_runs: 4, flip_rate: 0.3}\n")
    git(project.path, "add", "orchestra.yaml")
    git(project.path, "commit", "-q", "-m", "shared history")
    machines = []
    for name in ("runner-a", "runner-b"):
        clone = tmp_path / name
        subprocess.run(["git", "clone", "-q", str(project.path), str(clone)], check=True)
        machines.append(clone)
    env = {**dict(os.environ), "PYTHONPATH": ""}
    for number, state in enumerate(["up", "down", "up", "down", "up", "down"]):
        _service(project, state)
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "pythonpath=."],
                              cwd=machines[number % 2], env=env, capture_output=True, text=True)
        assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    entry = _triage(machines[1])["test_service"]
    assert entry["category"] == "flaky" and entry["flaky_evidence"] == ["same-code flips"]
    assert not (machines[1] / ".orchestra" / "history.db").exists()  # nothing read or written locally
    # A QA lead on a third, empty checkout labels the add() failure of the shared history by node id.
    laptop = tmp_path / "laptop"
    subprocess.run(["git", "clone", "-q", str(project.path), str(laptop)], check=True)
    broken = machines[0] / "calc.py"
    broken.write_text(CALC.replace("a + b", "a - b"))
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "pythonpath=."],
                   cwd=machines[0], env=env, capture_output=True, text=True)
    shutil.rmtree(machines[0] / ".orchestra")  # the machine is gone; only the shared history remains
    labelled = subprocess.run([sys.executable, "-m", "pytest_orchestra", "triage", "label",
                               "test_calc.py::test_add", "test", "--by", "qa-lead"],
                              cwd=laptop, env=env, capture_output=True, text=True)
    assert labelled.returncode == 0, labelled.stderr
    assert "(test_calc.py::test_add) as test" in labelled.stdout
    assert history_url.split("@")[0].split(":")[-1] not in labelled.stdout + labelled.stderr  # no password
