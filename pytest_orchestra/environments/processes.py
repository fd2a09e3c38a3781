"""Child processes that never outlive their owner: own process group, death signal, group kill.

Also the identity of a process (pid plus start time, so a reused pid is not
mistaken for the original owner) and the unprivileged user servers run as
when we are root.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Mapping, Optional, Sequence

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ServiceUser:
    """Who runs servers: ourselves, or ``postgres``/``nobody`` when we are root."""

    uid: int
    gid: int
    name: str

    @property
    def is_self(self) -> bool:
        return self.uid == os.geteuid()


def service_user() -> ServiceUser:
    """Servers refusing root (initdb, postgres) run as ``postgres``, else ``nobody``."""
    if os.geteuid() != 0:
        return ServiceUser(os.geteuid(), os.getegid(), "self")
    import pwd

    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return ServiceUser(entry.pw_uid, entry.pw_gid, name)
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


def give_to(path: Path, user: ServiceUser) -> None:
    """Hand ``path`` (recursively) to ``user``; a no-op when that is us."""
    if user.is_self:
        return
    os.chown(path, user.uid, user.gid)
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                os.chown(os.path.join(root, name), user.uid, user.gid, follow_symlinks=False)


def _die_with_parent() -> None:
    """In the child: get SIGKILL when the parent dies (Linux), so a crashed worker leaves nothing."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # pragma: no cover - not Linux glibc
            pass


def spawn(
    command: Sequence[str],
    *,
    output: IO[bytes],
    cwd: Optional[Path] = None,
    env: Optional[Mapping[str, str]] = None,
    user: Optional[ServiceUser] = None,
    die_with_parent: bool = True,
) -> subprocess.Popen[bytes]:
    """Start ``command`` in a new session (its own process group), output to ``output``.

    ``die_with_parent`` is off for servers shared by several workers: the
    last worker stops them, and leases reap them if every worker crashed.
    """
    kwargs: dict = {}
    if user is not None and not user.is_self:
        kwargs.update(user=user.uid, group=user.gid, extra_groups=[])
    preexec: Optional[Callable[[], None]] = _die_with_parent if die_with_parent else None
    return subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        cwd=str(cwd) if cwd else None,
        env=dict(env) if env is not None else None,
        start_new_session=True,
        preexec_fn=preexec,
        close_fds=True,
        **kwargs,
    )


def start_time(pid: int) -> Optional[int]:
    """The process's start time in clock ticks since boot, or None when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        if sys.platform.startswith("linux"):
            return None
        return 0 if pid_exists(pid) else None  # pragma: no cover - no /proc
    # The command name may contain spaces and parentheses: fields start after the last ')'.
    fields = stat[stat.rfind(b")") + 2 :].split()
    return int(fields[19])


def process_state(pid: int) -> Optional[str]:
    """``R``, ``S``, ``T`` (stopped), ``Z`` (zombie)... or None when gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2 :].split()[0].decode()


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


def is_alive(pid: int, started: Optional[int]) -> bool:
    """Whether the process ``pid`` that started at ``started`` still runs (zombies do not)."""
    now = start_time(pid)
    if now is None or (started is not None and now != started):
        return False
    return process_state(pid) != "Z"


def kill_group(
    pgid: int,
    *,
    grace: float = 3.0,
    leader: Optional[subprocess.Popen[bytes]] = None,
    first_signal: int = signal.SIGTERM,
) -> None:
    """Signal the process group, SIGKILL it after ``grace`` seconds; SIGCONT wakes stopped ones.

    PostgreSQL wants SIGINT (fast shutdown): SIGTERM would wait for clients,
    SIGKILL would leave its shared memory behind.
    """
    for sig in (first_signal, signal.SIGCONT):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        except PermissionError:  # pragma: no cover - not ours
            return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if leader is not None:
            if leader.poll() is not None and not _group_exists(pgid):
                return
        elif not _group_exists(pgid):
            return
        time.sleep(0.02)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if leader is not None:
        try:
            leader.wait(timeout=grace)
        except subprocess.TimeoutExpired:  # pragma: no cover - unkillable
            pass
    _wait_group_gone(pgid, grace)


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    # Zombies of a group whose leader we have not reaped still count; reap if it is our child.
    try:
        pid, _ = os.waitpid(pgid, os.WNOHANG)
    except ChildProcessError:
        pass
    return _any_live_member(pgid)


def _any_live_member(pgid: int) -> bool:
    proc = Path("/proc")
    if not proc.is_dir():  # pragma: no cover - not Linux
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def _wait_group_gone(pgid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _group_exists(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
