"""GitHub Actions output: error annotations for failing tests and the step summary.

Workflow commands need their own escaping (a newline or ``%`` in a message, a
``:`` or ``,`` in a property would otherwise end or corrupt the command), and
GitHub caps both the number of annotations shown and the step summary size.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import List, Optional

from pytest_orchestra.core.records import RunResult, TestRecord

STEP_SUMMARY_CAP_BYTES = 1024 * 1024
TRUNCATION_NOTICE = "_… report truncated to fit GitHub's 1 MiB step summary; see the report artifact._\n"


def escape_data(text: str) -> str:
    """Escape a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (file, title...)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation_path(test: TestRecord, rootdir: Path, workspace: Optional[Path]) -> str:
    relative = test.location[0] if test.location else test.nodeid.split("::", 1)[0]
    if workspace is not None:
        try:
            absolute = (rootdir / relative).resolve()
            return absolute.relative_to(workspace.resolve()).as_posix()
        except ValueError:
            pass  # outside the workspace: GitHub cannot link it, the rootdir path still helps
    return PurePosixPath(Path(relative).as_posix()).as_posix()


def _annotation(test: TestRecord, rootdir: Path, workspace: Optional[Path]) -> str:
    properties = [f"file={escape_property(_annotation_path(test, rootdir, workspace))}"]
    if test.location:
        properties.append(f"line={test.location[1]}")
    title = f"{test.category or test.outcome}: {test.nodeid}"
    properties.append(f"title={escape_property(title)}")
    message = test.message.strip() or f"{test.outcome} in {test.phase}"
    return f"::error {','.join(properties)}::{escape_data(message)}"


def annotation_lines(
    result: RunResult,
    *,
    rootdir: Path,
    workspace: Optional[Path],
    max_annotations: int = 10,
) -> List[str]:
    """``::error`` commands for the first ``max_annotations`` failing tests, plus a notice for the rest."""
    failing = [test for test in result.tests if test.failed]
    lines = [_annotation(test, rootdir, workspace) for test in failing[:max_annotations]]
    hidden = len(failing) - len(lines)
    if hidden > 0:
        lines.append(f"::notice::{hidden} more failures are listed in the job summary")
    return lines


def _fit(markdown: bytes, budget: int) -> bytes:
    """The longest prefix of ``markdown`` ending at a line boundary within ``budget`` bytes."""
    head = markdown[:budget]
    newline = head.rfind(b"\n")
    if newline >= 0:
        return head[: newline + 1]
    # A single overlong line: cut at a character boundary instead.
    if budget <= 1:
        return b""
    return markdown[: budget - 1].decode("utf-8", "ignore").encode("utf-8") + b"\n"


def append_step_summary(path: Path, markdown: str, *, cap_bytes: int = STEP_SUMMARY_CAP_BYTES) -> bool:
    """Append ``markdown`` to the step summary file, keeping the file within ``cap_bytes``.

    Returns True when the text had to be truncated.
    """
    if not markdown.endswith("\n"):
        markdown += "\n"
    data = markdown.encode("utf-8")
    try:
        already = path.stat().st_size
    except FileNotFoundError:
        already = 0
    room = cap_bytes - already
    truncated = len(data) > room
    if truncated:
        notice = TRUNCATION_NOTICE.encode("utf-8")
        budget = room - len(notice)
        data = _fit(data, budget) + notice if budget >= 0 else b""
    if data:
        with path.open("ab") as handle:
            handle.write(data)
    return truncated
