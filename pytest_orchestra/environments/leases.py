"""Lease files: what each provisioned resource left on the machine, and who owns it.

A lease is a JSON file under ``<base_dir>/environments/leases/`` listing its
owners (pid + start time), the process groups to kill and the paths to
remove. A resource shared by xdist workers (a PostgreSQL server) has one
owner per worker. A lease whose owners are all dead is a leftover: reaping
kills its process groups and removes its paths. Every process reaps at
start, so leftovers of a crashed run never pile up.

Ports are leased the same way (``ports/<port>``), so two workers, or two
runs, never hand out the same free port.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import shutil
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from pytest_orchestra.environments.processes import is_alive, kill_group, start_time

Owner = Tuple[int, Optional[int]]
#: A process group to kill: leader pid, its start time, the signal asking it to stop.
Group = Tuple[int, Optional[int], int]


def me() -> Owner:
    pid = os.getpid()
    return (pid, start_time(pid))


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (created), released on exit or process death."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@dataclass
class Lease:
    path: Path
    owners: List[Owner] = field(default_factory=list)
    groups: List[Group] = field(default_factory=list)
    paths: List[str] = field(default_factory=list)
    #: System V shared memory ids to remove (a killed PostgreSQL leaves its segment).
    shm: List[int] = field(default_factory=list)
    data: Dict[str, Any] = field(default_factory=dict)

    @property
    def lock_path(self) -> Path:
        return self.path.with_suffix(".lock")

    @classmethod
    def read(cls, path: Path) -> Optional["Lease"]:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return cls(
            path,
            owners=[tuple(o) for o in raw.get("owners", [])],  # type: ignore[misc]
            groups=[tuple(g) for g in raw.get("groups", [])],  # type: ignore[misc]
            paths=list(raw.get("paths", [])),
            shm=[int(i) for i in raw.get("shm", [])],
            data=dict(raw.get("data", {})),
        )

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            {"owners": self.owners, "groups": self.groups, "paths": self.paths, "shm": self.shm, "data": self.data}
        )
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, self.path)

    def live_owners(self) -> List[Owner]:
        return [owner for owner in self.owners if is_alive(owner[0], owner[1])]

    def release(self, *, keep_lock: bool = False) -> None:
        """Kill the groups, remove the paths and the lease file itself.

        ``keep_lock`` when the caller holds the lock: deleting a held lock file
        would let the next process lock a new file while we still work.
        """
        for pgid, started, first_signal in self.groups:
            if is_alive(pgid, started):
                kill_group(pgid, grace=2.0, first_signal=first_signal)
        for shmid in self.shm:
            remove_shared_memory(shmid)
        for raw in self.paths:
            shutil.rmtree(raw, ignore_errors=True)
            with contextlib.suppress(OSError):
                os.unlink(raw)
        for path in (self.path,) if keep_lock else (self.path, self.lock_path):
            with contextlib.suppress(OSError):
                path.unlink()


class LeaseBook:
    """The leases of one base directory."""

    def __init__(self, root: Path, ports: Path) -> None:
        self.root = root
        self.leases = root / "leases"
        #: Machine-wide (per user): runs in other folders reserve ports here too.
        self.ports = ports

    def new(self, kind: str) -> Lease:
        lease = Lease(self.leases / f"{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}.json", owners=[me()])
        lease.write()
        return lease

    def shared(self, key: str) -> Lease:
        return Lease(self.leases / f"shared-{key}.json")

    def reap(self) -> List[str]:
        """Release every lease whose owners are all dead; returns what was reaped."""
        reaped: List[str] = []
        if self.leases.is_dir():
            for path in sorted(self.leases.glob("*.json")):
                lease = Lease(path)
                with locked(lease.lock_path):
                    current = Lease.read(path)
                    if current is None or current.live_owners():
                        continue
                    current.release(keep_lock=True)
                reaped.append(path.stem)
                with contextlib.suppress(OSError):
                    lease.lock_path.unlink()
        if self.ports.is_dir():
            for path in self.ports.iterdir():
                owner = _read_owner(path)
                if owner is None or not is_alive(*owner):
                    with contextlib.suppress(OSError):
                        path.unlink()
        return reaped

    # --- ports ---------------------------------------------------------------

    def reserve_port(self, fixed: Optional[int] = None, *, attempts: int = 200) -> int:
        """A port nobody listens on and no other live process reserved; held until released."""
        self.ports.mkdir(parents=True, exist_ok=True)
        if fixed is not None:
            if not self._claim(fixed):
                raise OSError(f"port {fixed} is reserved by another live environment")
            if not _bindable(fixed):
                self.release_port(fixed)
                raise OSError(f"port {fixed} is in use by another process")
            return fixed
        for _ in range(attempts):
            port = _ask_kernel_for_port()
            if self._claim(port):
                return port
        raise OSError(f"no free port found after {attempts} attempts")

    def _claim(self, port: int) -> bool:
        path = self.ports / str(port)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            owner = _read_owner(path)
            if owner is not None and is_alive(*owner):
                return False
            # A dead process's reservation: take it over.
            with contextlib.suppress(OSError):
                path.unlink()
            return self._claim(port)
        with os.fdopen(fd, "w") as handle:
            json.dump(list(me()), handle)
        return True

    def release_port(self, port: int) -> None:
        path = self.ports / str(port)
        owner = _read_owner(path)
        if owner is not None and owner[0] == os.getpid():
            with contextlib.suppress(OSError):
                path.unlink()


IPC_RMID = 0


def remove_shared_memory(shmid: int) -> None:
    """Remove a System V segment; one still attached goes when its last user detaches."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmctl(ctypes.c_int(shmid), IPC_RMID, None)
    except (OSError, AttributeError):  # pragma: no cover - no System V IPC here
        pass


def _read_owner(path: Path) -> Optional[Owner]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return (int(raw[0]), raw[1])
    except (OSError, ValueError, IndexError, TypeError):
        return None


def _ask_kernel_for_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
