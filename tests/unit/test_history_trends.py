"""Trends from either backend, and how they are drawn: Mermaid, SVG, text; run groups' detection."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any, List

import pytest

from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.history.groups import detect_group, detect_shard, group_record, latest_attempts
from pytest_orchestra.history.render import labels, markdown_section, sparkline, svg_chart, text_lines
from pytest_orchestra.history.summary import RunSummary
from pytest_orchestra.history.trends import Trends, compute_trends, report_trends
from tests.pghistory import Backend, backend, history_server, history_url  # noqa: F401

HOUR = 3600.0


def record_pipeline(store: Any, number: int, *, flaky_passes: bool, slow: float, broken: bool = False,
                    branch: str = "main") -> None:
    """One pipeline of two shards, as CI would record it."""
    group = f"pipe-{number}"
    started = 1_767_225_600.0 + number * HOUR
    for shard in (1, 2):
        run_id = f"{group}-s{shard}"
        begun = RunRecord(run_id=run_id, started=started + shard, branch=branch, run_group=group, shard=f"{shard}/2")
        store.begin_run(begun)
        tests: List[TestRecord] = [TestRecord(f"t{shard}.py::test_{i}", "passed", duration=0.01) for i in range(8)]
        if shard == 1:
            tests.append(TestRecord("t1.py::test_flip", "passed" if flaky_passes else "failed", duration=0.2,
                                    flaky=flaky_passes, attempts=2 if flaky_passes else 1,
                                    category=None if flaky_passes else "flaky"))
            tests.append(TestRecord("t1.py::test_slow", "passed", duration=slow))
            tests.append(TestRecord("t1.py::test_quarantined", "failed", quarantined=True, category="product"))
        if broken and shard == 2:
            tests.append(TestRecord("t2.py::test_bug", "failed", category="product"))
        store.add_tests(run_id, tests)
        store.finish_run(RunRecord(run_id=run_id, started=started + shard, ended=started + shard + 30 * shard,
                                   status="complete", branch=branch, run_group=group, shard=f"{shard}/2"))


def test_trends_count_each_pipeline_once_with_its_failures_flaky_and_wall_time(backend: Backend) -> None:
    with backend.open() as store:
        for number in range(4):
            record_pipeline(store, number, flaky_passes=number % 2 == 0, slow=1.0 + number, broken=number == 3)
        record_pipeline(store, 9, flaky_passes=True, slow=1.0, branch="other")
        trends = compute_trends(store, branch="main", runs=3)
    assert [point.run_id for point in trends.points] == ["pipe-1", "pipe-2", "pipe-3"]
    newest = trends.points[-1]
    assert (newest.runs, newest.tests, newest.failed, newest.flaky, newest.quarantined) == (2, 20, 2, 0, 1)
    assert newest.categories == {"flaky": 1, "product": 1}
    assert newest.wall_time == pytest.approx(61.0)  # first shard's start to the second's end
    assert newest.pass_rate == pytest.approx(17 / 19)
    assert [(t.nodeid, t.value, "".join(t.marks)) for t in trends.flakiest] == [("t1.py::test_flip", 1.0, "✗↻✗")]
    slowest = trends.slowest[0]
    assert (slowest.nodeid, slowest.value, slowest.durations) == ("t1.py::test_slow", 4.0, [2.0, 3.0, 4.0])
    assert Trends.from_dict(trends.as_dict()) == trends


def test_a_report_shows_trends_once_there_are_two_runs(backend: Backend) -> None:
    with backend.open() as store:
        record_pipeline(store, 0, flaky_passes=True, slow=1.0)
        only = store.get_run("pipe-0-s2")
        assert report_trends(store, only) is None
        record_pipeline(store, 1, flaky_passes=True, slow=1.0)
        assert len(report_trends(store, only).points) == 2  # type: ignore[union-attr]


def sample_trends() -> Trends:
    points = [
        dict(run_id="github-1", started=1_767_225_600.0, status="complete", runs=2, tests=120, pass_rate=0.975,
             failed=3, categories={"product": 2, "infrastructure": 1}, flaky=2, quarantined=1, wall_time=95.5),
        dict(run_id="20260101T020000Z-abc123", started=1_767_225_600.0 + 30, status="complete", runs=1, tests=120,
             pass_rate=1.0, failed=0, categories={}, flaky=0, quarantined=1, wall_time=80.0),
    ]
    return Trends.from_dict({
        "branch": "feature/pipe|line", "plan": "nightly", "points": points,
        "flakiest": [dict(nodeid="t.py::test_flip", value=2.0, marks=["↻", "✗"], durations=[0.2, 0.3])],
        "slowest": [dict(nodeid="t.py::test_`slow`", value=3.0, marks=["✓", "✓"], durations=[1.5, 3.0])],
    })


def test_the_markdown_section_holds_mermaid_charts_a_table_and_the_top_tests() -> None:
    lines = markdown_section(sample_trends().as_dict())
    text = "\n".join(lines)
    assert lines[0] == "### Trends: last 2 runs (branch feature/pipe\\|line, plan nightly)"
    assert text.count("```mermaid\nxychart-beta") == 2
    assert 'x-axis ["01-01 00:00", "01-01 00:00 #2"]' in text
    assert "line [97.50, 100.00]" in text and "bar [95.50, 80.00]" in text
    assert "| `github-1` (2 runs) | 01-01 00:00 | 120 | 97.5% | product 2, infrastructure 1 | 2 | 1 | 95.5 s |" in lines
    assert "| `t.py::test_flip` | 2 of 2 runs | ↻✗ |" in lines
    assert "| `t.py::test_'slow'` | 3.0 s | 2.2 s | ▅█ |" in lines
    assert "Chart: [trends.svg](trends.svg)" in lines
    assert markdown_section({"points": []}) == []


def test_the_svg_is_well_formed_and_escapes_what_it_shows() -> None:
    svg = svg_chart(sample_trends())
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg")
    assert "feature/pipe|line" in svg and "<title>github-1: 95.5 s</title>" in svg
    assert svg.count("<circle") == 2
    hostile = Trends.from_dict({**sample_trends().as_dict(), "branch": "<script>&"})
    ElementTree.fromstring(svg_chart(hostile))


def test_text_lines_for_the_terminal() -> None:
    lines = text_lines(sample_trends())
    assert lines[0] == "last 2 runs (branch feature/pipe|line, plan nightly), oldest first:"
    assert "failures: product 2, infrastructure 1" in lines[1]
    assert any(line.strip().startswith("flaky 2x  ↻✗  t.py::test_flip") for line in lines)
    assert text_lines(Trends(branch=None, plan=None, points=[], flakiest=[], slowest=[])) == [
        "no finished runs (all branches)"]


def test_sparklines_and_labels() -> None:
    assert sparkline([1.0, 1.02, 2.0, None, 0.0]) == "▅▅█·▁"
    assert sparkline([None]) == "" and sparkline([0.0, 0.0]) == "▁▁"
    point = sample_trends().points[0]
    assert labels([point, point, point]) == ["01-01 00:00", "01-01 00:00 #2", "01-01 00:00 #3"]


# -- run groups ------------------------------------------------------------------------------


@pytest.mark.parametrize(("option", "environ", "group"), [
    ("mine", {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "77"}, "mine"),
    (None, {"ORCHESTRA_RUN_GROUP": " nightly-3 ", "GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "77"}, "nightly-3"),
    (None, {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "77"}, "github-77"),
    (None, {"GITLAB_CI": "true", "CI_PIPELINE_ID": "12"}, "gitlab-12"),
    (None, {"TF_BUILD": "True", "BUILD_BUILDID": "5"}, "azure-5"),
    (None, {"JENKINS_URL": "http://ci", "BUILD_TAG": "jenkins-shop-9"}, "jenkins-shop-9"),
    (None, {"GITHUB_RUN_ID": "77"}, None),
    (None, {}, None),
])
def test_the_run_group_comes_from_the_option_the_variable_or_the_ci(option: Any, environ: Any, group: Any) -> None:
    assert detect_group(option, environ) == group


@pytest.mark.parametrize(("option", "environ", "shard"), [
    ("2/4", {}, "2/4"),
    (None, {"CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "4"}, "3/4"),
    ("2/4", {"GITHUB_ACTIONS": "true", "GITHUB_JOB": "tests"}, "tests 2/4"),
    (None, {"GITHUB_ACTIONS": "true", "GITHUB_JOB": "tests"}, None),
    (None, {"GITLAB_CI": "true", "CI_JOB_NAME": "pytest 2/3", "CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "3"}, "pytest 2/3"),
    (None, {}, None),
])
def test_the_shard_names_the_part_of_the_group_a_run_is(option: Any, environ: Any, shard: Any) -> None:
    assert detect_shard(option, environ) == shard


def test_a_group_record_stands_for_its_latest_attempts() -> None:
    runs = [RunRecord(run_id="a", started=1.0, ended=5.0, status="complete", exit_status=1, shard="1/2", workers=2,
                      commit="c1", success_rate=0.5, gate_passed=False),
            RunRecord(run_id="a2", started=6.0, ended=9.0, status="complete", exit_status=0, shard="1/2", workers=2,
                      commit="c1", success_rate=1.0, gate_passed=True),
            RunRecord(run_id="b", started=2.0, ended=None, status="running", shard="2/2", workers=1, commit="c1",
                      success_rate=None)]
    assert [run.run_id for run in latest_attempts(runs)] == ["b", "a2"]
    group = group_record("pipe", runs)
    assert (group.started, group.ended, group.status, group.exit_status, group.workers) == (2.0, None, "running", None, 3)
    assert (group.commit, group.success_rate, group.gate_passed, group.run_group) == ("c1", 1.0, True, "pipe")
    counted = group_record("pipe", runs, RunSummary.from_rows([("passed", None, 0, 0, 3), ("failed", "product", 0, 0, 1)]))
    assert counted.success_rate == 0.75
