"""Running one foreign suite once for one matrix cell, and what came of it.

:func:`run_suite` starts the command (placeholders filled, the cell's values
and the environments' variables in its environment), keeps its stdout and
stderr in the run's artifact folder, reads the report and returns a
:class:`SuiteResult`. When the runner itself fails, the result carries a
:class:`RunnerFailure` with the triage category: ``environment`` when the
machine is not set up (tool not installed, no report written), else
``infrastructure`` (a crash, a timeout, a malformed report).

:class:`SuiteRuns` makes that happen once per cell per session, across xdist
workers too (a lock and a result file in the run's shared folder). No pytest
import.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from pytest_orchestra.runners.cases import CaseResult, ParsedReport, ReportError
from pytest_orchestra.runners.config import PlaceholderError, RunnerSpec, fill
from pytest_orchestra.runners.listing import (
    ResultsCache,
    file_lock,
    write_json_atomically,
)
from pytest_orchestra.runners.parsers import parse_report

#: Variables of the outer pytest that would confuse a nested one.
DROPPED_VARIABLES = ("PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT",
                     "PYTEST_XDIST_TESTRUNUID")
#: Seconds a listing command may take when the runner sets no timeout.
LIST_TIMEOUT = 120.0


@dataclass
class RunnerFailure:
    category: str
    message: str


@dataclass
class SuiteResult:
    """One run of one suite for one cell."""

    runner: str
    cell: str
    command: Tuple[str, ...]
    artifacts: str
    generation: int = 1
    exit_status: Optional[int] = None
    duration: float = 0.0
    cases: List[CaseResult] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)
    failure: Optional[RunnerFailure] = None

    def find(self, case_id: str) -> Optional[CaseResult]:
        """The case an item stands for: by id, else the one case of that name or id suffix."""
        for case in self.cases:
            if case.id == case_id:
                return case
        for matches in (
            [c for c in self.cases if c.name == case_id],
            [c for c in self.cases if c.id.endswith("." + case_id) or case_id.endswith("." + c.id)],
        ):
            if len(matches) == 1:
                return matches[0]
        return None

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "SuiteResult":
        values = dict(data)
        values["command"] = tuple(values["command"])
        values["cases"] = [CaseResult(**case) for case in values.get("cases", [])]
        failure = values.get("failure")
        values["failure"] = RunnerFailure(**failure) if failure else None
        return cls(**values)

    def summary(self) -> Dict[str, Any]:
        counts: Dict[str, int] = {}
        for case in self.cases:
            counts[case.outcome] = counts.get(case.outcome, 0) + 1
        return {
            "runner": self.runner,
            "cell": self.cell,
            "command": list(self.command),
            "exit_status": self.exit_status,
            "duration": round(self.duration, 3),
            "cases": counts,
            "problems": list(self.problems),
            "failure": asdict(self.failure) if self.failure else None,
            "artifacts": Path(self.artifacts).name,
        }


def placeholder_values(spec: RunnerSpec, rootdir: Path, cell: Mapping[str, str], report: Path) -> Dict[str, str]:
    return {
        "report": str(report),
        "python": sys.executable,
        "cwd": str(rootdir / spec.cwd),
        "rootdir": str(rootdir),
        "runner": spec.name,
        **cell,
    }


def command_environment(spec: RunnerSpec, values: Mapping[str, str], cell: Mapping[str, str],
                        base: Mapping[str, str]) -> Dict[str, str]:
    env = {k: v for k, v in base.items() if k not in DROPPED_VARIABLES}
    env["ORCHESTRA_RUNNER"] = spec.name
    env["ORCHESTRA_REPORT"] = values["report"]
    if cell:
        env["ORCHESTRA_CELL"] = ",".join(f"{k}={v}" for k, v in cell.items())
        for name, value in cell.items():
            env[f"ORCHESTRA_{name.upper()}"] = value
    for name, value in spec.env.items():
        env[name] = fill(value, values)
    return env


def run_suite(spec: RunnerSpec, *, rootdir: Path, cell: Mapping[str, str], cell_id: str, artifacts: Path,
              environ: Mapping[str, str], generation: int = 1) -> SuiteResult:
    """Run the suite once and read its report; never raises for the runner's own failures."""
    artifacts.mkdir(parents=True, exist_ok=True)
    report = artifacts / f"report.{spec.report_extension}"
    values = placeholder_values(spec, rootdir, cell, report)
    result = SuiteResult(spec.name, cell_id, spec.command, str(artifacts), generation)
    try:
        result.command = tuple(fill(arg, values) for arg in spec.command)
        env = command_environment(spec, values, cell, environ)
    except PlaceholderError as exc:
        result.failure = RunnerFailure("environment", f"runner {spec.name}: {exc}")
        return result
    cwd = rootdir / spec.cwd
    if not cwd.is_dir():
        result.failure = RunnerFailure("environment", f"runner {spec.name}: cwd {spec.cwd!r} is not a folder")
        return result
    with contextlib.suppress(FileNotFoundError):
        report.unlink()
    reads_stdout = not spec.writes_report_file
    stdout_path, stderr_path = artifacts / "stdout.log", artifacts / "stderr.log"
    started = time.time()
    try:
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            # TAP diagnostics go to stderr: merged, they stay next to their test line.
            merge = reads_stdout and spec.format == "tap"
            process = subprocess.Popen(
                result.command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT if merge else err, start_new_session=True,
            )
            result.exit_status = _wait(process, spec.timeout)
    except subprocess.TimeoutExpired:
        result.duration = time.time() - started
        result.failure = RunnerFailure(
            "infrastructure", f"runner {spec.name}: timed out after {spec.timeout:g}s (runners.{spec.name}.timeout)")
        return result
    except OSError as exc:
        result.failure = RunnerFailure("environment", _launch_problem(spec, result.command[0], exc))
        return result
    result.duration = time.time() - started
    if result.exit_status is not None and result.exit_status < 0:
        name = _signal_name(-result.exit_status)
        result.failure = RunnerFailure("infrastructure", f"runner {spec.name}: crashed (killed by {name})"
                                       + _tail(stderr_path, stdout_path))
        return result
    _read_report(spec, result, cwd, report if not reads_stdout else stdout_path, started, stderr_path)
    return result


def _wait(process: "subprocess.Popen[bytes]", timeout: Optional[float]) -> int:
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


def _launch_problem(spec: RunnerSpec, program: str, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"runner {spec.name}: {program!r} is not installed (not found on PATH)"
    if isinstance(exc, PermissionError):
        return f"runner {spec.name}: {program!r} cannot be run (permission denied)"
    return f"runner {spec.name}: {program!r} could not start ({exc.strerror or exc})"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _tail(*paths: Path, lines: int = 3) -> str:
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
        if kept:
            return "; last output: " + " | ".join(kept)[:400]
    return ""


def _read_report(spec: RunnerSpec, result: SuiteResult, cwd: Path, report: Path, started: float,
                 stderr_path: Path) -> None:
    if spec.report:
        files = sorted(p for p in glob.glob(str(cwd / spec.report), recursive=True)
                       if os.path.getmtime(p) >= started - 1)
        where = f"{spec.report} (under {spec.cwd})"
    else:
        files = [str(report)] if report.is_file() and report.stat().st_size else []
        where = "stdout" if report.name == "stdout.log" else report.name
    if not files:
        result.failure = RunnerFailure(
            "environment",
            f"runner {spec.name}: {result.command[0]!r} exited with status {result.exit_status}"
            f" without writing a report ({where})" + _tail(stderr_path, stderr_path.with_name("stdout.log")),
        )
        return
    parsed = ParsedReport()
    try:
        for path in files:
            parsed.extend(parse_report(spec.format, Path(path).read_bytes(), source=Path(path).name))
    except ReportError as exc:
        result.failure = RunnerFailure("infrastructure", f"runner {spec.name}: malformed {spec.format} report: {exc}")
        return
    result.cases, result.problems = parsed.cases, parsed.problems


def list_cases(spec: RunnerSpec, *, rootdir: Path, environ: Mapping[str, str]) -> List[str]:
    """Case ids from the runner's listing command; raises ``RuntimeError`` with a reason when it fails."""
    from pytest_orchestra.runners.listing import parse_listing

    assert spec.list is not None
    values = placeholder_values(spec, rootdir, {}, Path(os.devnull))
    command = [fill(arg, values) for arg in spec.list]
    try:
        done = subprocess.run(command, cwd=rootdir / spec.cwd, env=command_environment(spec, values, {}, environ),
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=spec.timeout or LIST_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError("the listing command timed out") from None
    except OSError as exc:
        raise RuntimeError(_launch_problem(spec, command[0], exc)) from None
    if done.returncode != 0:
        last = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"the listing command exited with status {done.returncode}: {last[0][:200]}")
    return parse_listing(done.stdout.decode("utf-8", errors="replace"))


class SuiteRuns:
    """Each suite's run per cell, once per session, shared by the processes of the run."""

    def __init__(self, run_dir: Path, rootdir: Path, cache: ResultsCache) -> None:
        self.run_dir = run_dir
        self.rootdir = rootdir
        self.cache = cache
        self.results: Dict[Tuple[str, str], SuiteResult] = {}

    def folder(self, spec: RunnerSpec, cell_id: str) -> Path:
        return self.run_dir / (f"{spec.name}[{cell_id}]" if cell_id else spec.name)

    def get(self, spec: RunnerSpec, cell: Mapping[str, str], cell_id: str, *,
            stale: Optional[int] = None) -> Tuple[SuiteResult, bool]:
        """The suite's result for the cell and whether this call ran it.

        ``stale`` is the generation a retried item saw: that run is not reused.
        """
        key = (spec.name, cell_id)
        known = self.results.get(key)
        if known is not None and known.generation != stale:
            return known, False
        folder = self.folder(spec, cell_id)
        with file_lock(self.run_dir / f"{folder.name}.lock"):
            stored = self._load(folder)
            if stored is not None and stored.generation != stale:
                self.results[key] = stored
                return stored, False
            generation = (stored.generation + 1) if stored is not None else 1
            result = run_suite(spec, rootdir=self.rootdir, cell=cell, cell_id=cell_id,
                               artifacts=folder if generation == 1 else folder / f"attempt-{generation}",
                               environ=os.environ, generation=generation)
            write_json_atomically(folder / "result.json", result.to_json())
        self.results[key] = result
        if result.failure is None and result.cases:
            self.cache.save(spec.name, cell_id, result.cases)
        return result, True

    @staticmethod
    def _load(folder: Path) -> Optional[SuiteResult]:
        try:
            return SuiteResult.from_json(json.loads((folder / "result.json").read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError):
            return None
