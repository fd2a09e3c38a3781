"""Running a suite: commands, environment, report locations and the runner's own failures."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from pytest_orchestra.runners.config import RunnerSpec
from pytest_orchestra.runners.execution import SuiteResult, SuiteRuns, list_cases, run_suite
from pytest_orchestra.runners.listing import ResultsCache

TAP_SCRIPT = textwrap.dedent("""
    import os, sys
    print("ok 1 - role " + os.environ.get("ORCHESTRA_ROLE", "-") + " " + os.environ.get("EXTRA", ""))
    print("1..1")
""")


def spec(**values) -> RunnerSpec:
    values.setdefault("name", "r")
    values.setdefault("format", "tap")
    return RunnerSpec(**values)


def run(tmp_path: Path, runner: RunnerSpec, cell=None, environ=None) -> SuiteResult:
    return run_suite(runner, rootdir=tmp_path, cell=cell or {}, cell_id="-".join((cell or {}).values()),
                     artifacts=tmp_path / "out", environ=environ or {"PATH": "/usr/bin:/bin", "PYTEST_CURRENT_TEST": "x"})


def test_a_tap_suite_on_stdout_with_cell_values_and_extra_variables(tmp_path):
    (tmp_path / "t.py").write_text(TAP_SCRIPT)
    result = run(tmp_path, spec(command=(sys.executable, "t.py"), env={"EXTRA": "{role}!"}, matrix={"role": None}),
                 cell={"role": "Guest"})
    assert result.failure is None and result.exit_status == 0
    assert [c.id for c in result.cases] == ["role Guest Guest!"]
    assert result.summary()["cases"] == {"passed": 1}
    assert SuiteResult.from_json(result.to_json()) == result


def test_report_globs_ignore_files_older_than_the_run(tmp_path):
    (tmp_path / "results").mkdir()
    old = tmp_path / "results" / "old.xml"
    old.write_text("<testsuites><testcase name='stale'/></testsuites>")
    import os
    os.utime(old, (1_000_000, 1_000_000))
    script = "open('results/new.xml','w').write(\"<testsuites><testcase classname='c' name='fresh'/></testsuites>\")"
    result = run(tmp_path, spec(command=(sys.executable, "-c", script), format="junit", report="results/*.xml"))
    assert [c.id for c in result.cases] == ["c.fresh"]


@pytest.mark.parametrize(
    "runner, category, message",
    [
        (spec(command=("./not-here",)), "environment", "'./not-here' is not installed"),
        (spec(command=("./t.py",)), "environment", "'./t.py' cannot be run (permission denied)"),
        (spec(command=("x",), cwd="missing"), "environment", "cwd 'missing' is not a folder"),
        (spec(command=(sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")),
         "infrastructure", "crashed (killed by SIGKILL)"),
        (spec(command=(sys.executable, "-c", "import time; time.sleep(5)"), timeout=0.3),
         "infrastructure", "timed out after 0.3s (runners.r.timeout)"),
        (spec(command=(sys.executable, "-c", "print('nothing')", "{report}"), format="junit"), "environment",
         "exited with status 0 without writing a report (report.xml); last output: nothing"),
        (spec(command=(sys.executable, "-c", "print('<html/>')")), "infrastructure",
         "malformed tap report: stdout.log holds no TAP"),
    ],
)
def test_runner_failures_carry_their_category(tmp_path, runner, category, message):
    (tmp_path / "t.py").write_text(TAP_SCRIPT)
    result = run(tmp_path, runner)
    assert result.failure is not None and result.failure.category == category
    assert message in result.failure.message


def test_a_placeholder_the_cell_lacks(tmp_path):
    result = run(tmp_path, spec(command=("x", "{role}")))
    assert result.failure is not None and "unknown placeholder {role}" in result.failure.message


def test_listing_command(tmp_path):
    runner = spec(command=("x",), list=(sys.executable, "-c", "print('a\\nb')"))
    assert list_cases(runner, rootdir=tmp_path, environ={}) == ["a", "b"]
    for command, reason in (((sys.executable, "-c", "import sys; sys.exit(4)"), "exited with status 4"),
                            (("no-such-lister",), "is not installed"),
                            ((sys.executable, "-c", "import time; time.sleep(3)"), "timed out")):
        with pytest.raises(RuntimeError, match=reason):
            list_cases(spec(command=("x",), list=command, timeout=0.5), rootdir=tmp_path, environ={})


def test_suite_runs_once_per_cell_and_again_for_a_retry(tmp_path):
    (tmp_path / "t.py").write_text("import os\nopen('count', 'a').write('x')\nprint('ok 1 - a')\n")
    runs = SuiteRuns(tmp_path / "run", tmp_path, ResultsCache(tmp_path / "cache"))
    runner = spec(command=(sys.executable, "t.py"))
    first, ran = runs.get(runner, {}, "")
    again, ran_again = runs.get(runner, {}, "")
    assert ran and not ran_again and again is first
    # Another process of the same run reads the stored result instead of running it.
    other = SuiteRuns(tmp_path / "run", tmp_path, ResultsCache(tmp_path / "cache"))
    shared, ran_shared = other.get(runner, {}, "")
    assert not ran_shared and shared.cases[0].id == "a"
    retried, ran_retry = other.get(runner, {}, "", stale=1)
    assert ran_retry and retried.generation == 2 and "attempt-2" in retried.artifacts
    assert (tmp_path / "count").read_text() == "xx"
    assert ResultsCache(tmp_path / "cache").cases_for("r", "") == [{"id": "a", "file": None, "line": None}]
    assert first.find("a") is not None and first.find("zzz") is None
