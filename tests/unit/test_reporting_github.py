"""GitHub Actions: error annotations and the size-capped step summary."""

from __future__ import annotations

from pathlib import Path

from pytest_orchestra.core.records import RunRecord, RunResult, TestRecord
from pytest_orchestra.reporting.github import (
    TRUNCATION_NOTICE,
    annotation_lines,
    append_step_summary,
    escape_data,
    escape_property,
)


def make_result(*tests: TestRecord) -> RunResult:
    return RunResult(RunRecord("r", 0.0), list(tests))


def test_escaping() -> None:
    assert escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b"
    assert escape_property("C:\\a,b%\n") == "C%3A\\a%2Cb%25%0A"


def test_annotation_paths_lines_titles_and_escaped_messages(tmp_path: Path) -> None:
    workspace = tmp_path / "repo"
    rootdir = workspace / "services" / "billing"
    result = make_result(
        TestRecord("tests/test_refund.py::test_refund[Guest-pro]", "failed", category="product",
                   message="assert 50% == 100%\nwhere: total, fee", location=("tests/test_refund.py", 42)),
        TestRecord("tests/test_ok.py::test_ok", "passed"),
        TestRecord("tests/odd:name,1.py::test_x", "error", phase="setup"),
    )
    assert annotation_lines(result, rootdir=rootdir, workspace=workspace) == [
        "::error file=services/billing/tests/test_refund.py,line=42,"
        "title=product%3A tests/test_refund.py%3A%3Atest_refund[Guest-pro]"
        "::assert 50%25 == 100%25%0Awhere: total, fee",
        "::error file=services/billing/tests/odd%3Aname%2C1.py,"
        "title=error%3A tests/odd%3Aname%2C1.py%3A%3Atest_x::error in setup",
    ]


def test_paths_outside_the_workspace_stay_rootdir_relative(tmp_path: Path) -> None:
    result = make_result(TestRecord("tests/test_a.py::test_a", "failed", message="boom",
                                    location=("tests/test_a.py", 3)))
    expected = "::error file=tests/test_a.py,line=3,title=failed%3A tests/test_a.py%3A%3Atest_a::boom"
    assert annotation_lines(result, rootdir=tmp_path / "a", workspace=tmp_path / "b") == [expected]
    assert annotation_lines(result, rootdir=tmp_path / "a", workspace=None) == [expected]


def test_annotations_are_capped_with_a_notice(tmp_path: Path) -> None:
    result = make_result(*(TestRecord(f"t.py::test_{i}", "failed", message="x") for i in range(13)))
    lines = annotation_lines(result, rootdir=tmp_path, workspace=tmp_path, max_annotations=10)
    assert len(lines) == 11
    assert lines[9] == "::error file=t.py,title=failed%3A t.py%3A%3Atest_9::x"
    assert lines[10] == "::notice::3 more failures are listed in the job summary"


def test_step_summary_appends_when_it_fits(tmp_path: Path) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    assert append_step_summary(summary, "## report\n\nall good") is False
    assert summary.read_text(encoding="utf-8") == "# earlier step\n## report\n\nall good\n"


def test_step_summary_is_cut_at_a_line_to_fit_the_cap_with_a_prefilled_file(tmp_path: Path) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_bytes(b"x" * 100 + b"\n")
    lines = [f"- ✅ test {i} ünïcödé" for i in range(40)]  # multibyte characters throughout
    cap = 101 + len(TRUNCATION_NOTICE.encode()) + 100
    assert append_step_summary(summary, "\n".join(lines), cap_bytes=cap) is True
    data = summary.read_bytes()
    assert len(data) <= cap
    text = data.decode("utf-8")  # no multi-byte character was split
    kept = text[101:].splitlines()
    assert kept[-1] == "_… report truncated to fit GitHub's 1 MiB step summary; see the report artifact._"
    assert kept[:-1] == lines[: len(kept) - 1] and len(kept) > 2


def test_step_summary_of_one_long_line_is_cut_at_a_character_boundary(tmp_path: Path) -> None:
    summary = tmp_path / "new_summary.md"
    cap = len(TRUNCATION_NOTICE.encode()) + 10
    assert append_step_summary(summary, "é" * 100, cap_bytes=cap) is True
    assert summary.read_text(encoding="utf-8") == "é" * 4 + "\n" + TRUNCATION_NOTICE
    assert summary.stat().st_size == cap - 1


def test_step_summary_at_the_default_cap(tmp_path: Path) -> None:
    summary = tmp_path / "big.md"
    summary.write_bytes(b"a" * 1000)
    assert append_step_summary(summary, "| ✅ | row |\n" * 100_000) is True
    assert summary.stat().st_size <= 1024 * 1024
    assert summary.read_text(encoding="utf-8").endswith(TRUNCATION_NOTICE)


def test_a_full_step_summary_is_left_alone(tmp_path: Path) -> None:
    summary = tmp_path / "full.md"
    summary.write_bytes(b"a" * 50)
    assert append_step_summary(summary, "more text", cap_bytes=52) is True
    assert summary.read_bytes() == b"a" * 50
    tiny = tmp_path / "tiny.md"
    assert append_step_summary(tiny, "é" * 100, cap_bytes=len(TRUNCATION_NOTICE.encode()) + 1) is True
    assert tiny.read_text(encoding="utf-8") == TRUNCATION_NOTICE
