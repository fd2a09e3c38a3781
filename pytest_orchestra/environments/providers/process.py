"""``process``: a command in its own process group, ready by TCP, HTTP or log line."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from pytest_orchestra.environments.config import EnvironmentSpec
from pytest_orchestra.environments.environment import (
    Environment,
    ProvisionContext,
    ProvisionError,
    UnhealthyEnvironment,
)
from pytest_orchestra.environments.processes import kill_group, process_state, spawn
from pytest_orchestra.environments.providers.placeholders import fill_command, fill_env
from pytest_orchestra.environments.readiness import probe, wait_ready

#: Lines of captured output quoted when a process fails to become ready.
TAIL_LINES = 5


@dataclass
class RunningProcess:
    popen: subprocess.Popen[bytes]
    log: Path
    spec: EnvironmentSpec


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[-80:] or "session"


def tail(log: Path, lines: int = TAIL_LINES) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    last = [line for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(last)


class ProcessProvider:
    name = "process"

    def provision(self, spec: EnvironmentSpec, context: ProvisionContext) -> Environment:
        port = context.reserve_port(spec.port)
        env = Environment(spec.name, self.name, host="127.0.0.1", port=port, path=context.private_dir)
        if spec.ready.http:
            env.url = f"http://127.0.0.1:{port}"
        command = fill_command(spec.command, env, context)
        env.env = fill_env(spec.env, env, context)
        context.log_dir.mkdir(parents=True, exist_ok=True)
        # The private dir's name is unique per attempt: a retry does not append to a failed log.
        log = context.log_dir / f"{context.private_dir.name}-{_slug(context.scope_key)}.log"
        child_env = {**os.environ, **env.env}
        cwd = context.rootdir / spec.cwd if spec.cwd else context.rootdir
        with open(log, "ab") as output:
            try:
                popen = spawn(command, output=output, cwd=cwd, env=child_env)
            except FileNotFoundError:
                raise ProvisionError(f"command not found: {command[0]!r} ({spec.where}.command)",
                                     retry=False) from None
            except PermissionError:
                raise ProvisionError(f"command not executable: {command[0]!r} ({spec.where}.command)",
                                     retry=False) from None
        context.track(pgid=popen.pid)
        env.handle = RunningProcess(popen, log, spec)
        env.info.update({"pid": popen.pid, "log": log})
        problem = wait_ready(spec.ready, "127.0.0.1", port, log, exited=popen.poll)
        if problem is not None:
            kill_group(popen.pid, leader=popen, grace=1.0)
            output_tail = tail(log)
            suffix = f"; output: {output_tail}" if output_tail else ""
            raise ProvisionError(f"{' '.join(command)}: {problem}{suffix}")
        return env

    def check(self, env: Environment) -> None:
        running: RunningProcess = env.handle
        self._check_process(running)
        ready = running.spec.ready
        if ready.http or ready.tcp:
            missing = probe(ready, env.host or "127.0.0.1", env.port, running.log, timeout=2.0)
            if missing:
                # A signal sent just before may land only now (busy machine): name the real cause.
                self._check_process(running)
                raise UnhealthyEnvironment(f"process {running.popen.pid} stopped answering: {missing}")

    def _check_process(self, running: RunningProcess) -> None:
        code = running.popen.poll()
        if code is not None:
            raise UnhealthyEnvironment(f"process {running.popen.pid} exited with status {code}")
        if process_state(running.popen.pid) == "T":
            raise UnhealthyEnvironment(f"process {running.popen.pid} is stopped (not answering)")

    def teardown(self, env: Environment) -> None:
        running: Optional[RunningProcess] = env.handle
        if running is not None:
            kill_group(running.popen.pid, leader=running.popen)
