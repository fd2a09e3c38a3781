"""Local sinks: the JSONL failure log, the report's Markdown section, GitHub annotations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_orchestra.core.records import RunRecord
from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.triage.routing import RoutedFailure
from pytest_orchestra.triage.sinks import build_sinks, markdown_section
from pytest_orchestra.triage.sinks.markdown import LISTED
from pytest_orchestra.triage.specs import SinkSpec

SECRET = "s3cr3t-value-42"
RUN = RunRecord(run_id="run-3", started=1.0)


def failure(nodeid: str = "tests/test_a.py::test_x", **changes: object) -> RoutedFailure:
    values: dict[str, object] = dict(
        nodeid=nodeid, category="environment", confidence=0.7, rule="missing-env", reason="env var unset",
        fingerprint="fp", cluster_id="c", phase="setup", message=f"KeyError: 'API_URL' ({SECRET})",
        location=("tests/test_a.py", 4),
    )
    values.update(changes)
    return RoutedFailure(**values)  # type: ignore[arg-type]


def sinks(tmp_path: Path, *specs: SinkSpec) -> dict:
    return build_sinks(specs, base_dir=tmp_path / ".orchestra", environ={}, redactor=Redactor([SECRET]),
                       rootdir=tmp_path)


def test_jsonl_appends_one_redacted_object_per_failure(tmp_path: Path) -> None:
    log = sinks(tmp_path, SinkSpec("log", "jsonl", path=".orchestra/failures.jsonl"))["log"]
    assert log.deliver([failure(), failure("tests/test_b.py::test_y")], RUN).delivered == 2
    assert log.deliver([failure("tests/test_c.py::test_z")], {"run_id": "run-4"}).delivered == 1
    assert log.deliver([], RUN).delivered == 0
    lines = [json.loads(line) for line in (tmp_path / ".orchestra" / "failures.jsonl").read_text().splitlines()]
    assert [(line["nodeid"], line["run_id"]) for line in lines] == [
        ("tests/test_a.py::test_x", "run-3"), ("tests/test_b.py::test_y", "run-3"), ("tests/test_c.py::test_z", "run-4")
    ]
    assert lines[0]["category"] == "environment" and lines[0]["timestamp"]
    assert SECRET not in (tmp_path / ".orchestra" / "failures.jsonl").read_text()


def test_jsonl_write_error_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file, not a directory")
    log = sinks(tmp_path, SinkSpec("log", "jsonl", path="blocked/failures.jsonl"))["log"]
    result = log.deliver([failure()], RUN)
    assert result.delivered == 0 and result.error and "\n" not in result.error


def test_markdown_section_lists_routed_failures(tmp_path: Path) -> None:
    md = sinks(tmp_path, SinkSpec("summary", "markdown", path=".orchestra/routed.md"))["summary"]
    md.deliver([failure(owners=("@acme/ops",)), failure("tests/test_q.py::test_q", quarantined=True, flaky=True,
                                                       message="a | b")], RUN)
    section = md.markdown_section()
    assert section.splitlines()[0] == "### Routed to summary"
    assert "- `tests/test_a.py::test_x` (environment) — @acme/ops: KeyError: 'API_URL' (***)" in section
    assert "- `tests/test_q.py::test_q` (environment, flaky, quarantined): a \\| b" in section
    assert SECRET not in section
    assert (tmp_path / ".orchestra" / "routed.md").read_text() == section


def test_markdown_section_is_empty_without_failures_and_capped_with_many() -> None:
    assert markdown_section("s", []) == ""
    many = markdown_section("s", [failure(f"t.py::t{n}") for n in range(LISTED + 5)])
    assert many.count("\n- `") == LISTED and "- ... and 5 more" in many


def test_markdown_write_error_keeps_the_section(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("")
    md = sinks(tmp_path, SinkSpec("summary", "markdown", path="blocked/routed.md"))["summary"]
    result = md.deliver([failure()], RUN)
    assert result.error and result.delivered == 1 and "Routed to summary" in md.markdown_section()


def test_github_sink_warns_about_quarantined_and_flaky_failures(tmp_path: Path) -> None:
    gh = sinks(tmp_path, SinkSpec("gh", "github"))["gh"]
    result = gh.deliver(
        [
            failure(),  # plain: the run's reporter already printed its ::error
            failure("tests/test_q.py::test_q", quarantined=True, message="line1\nline2, 100%"),
            failure("tests/test_f.py::test_f", flaky=True, attempts=2, location=None),
        ],
        RUN,
    )
    assert result.delivered == 3
    assert result.lines == [
        "::warning file=tests/test_a.py,line=4,title=quarantined environment failure"
        "::tests/test_q.py::test_q: line1%0Aline2, 100%25",
        "::warning file=tests/test_f.py,line=1,title=flaky%3A passed after 2 attempts"
        "::tests/test_f.py::test_f: KeyError: 'API_URL' (***)",
    ]


def test_unknown_sink_type_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown type 'pager'"):
        sinks(tmp_path, SinkSpec("p", "pager"))
