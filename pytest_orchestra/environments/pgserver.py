"""A throwaway PostgreSQL server: binaries, a cached initdb cluster, ``postgres -D`` as a child.

``initdb`` costs a second or more; its fresh cluster is cached per version
(``~/.cache/pytest-orchestra/postgres/<version>-<hash>``) and copied for each
server (0.08 s into tmpfs). The server is ``postgres`` itself, a direct child in its
own process group (``pg_ctl`` would daemonize it and a crash would leak it),
tuned for throwaway data: no fsync, no synchronous commit, no full-page writes.
When we are root, initdb and postgres run as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import glob
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

from pytest_orchestra.environments.environment import ProvisionError
from pytest_orchestra.environments.processes import (
    ServiceUser,
    give_to,
    is_alive,
    pid_exists,
    process_state,
    spawn,
)

#: Where Debian and Ubuntu install the server binaries.
DEBIAN_BIN_GLOB = "/usr/lib/postgresql/*/bin"
OTHER_BIN_DIRS: tuple[str, ...] = ("/usr/local/pgsql/bin", "/opt/homebrew/bin", "/usr/local/bin", "/usr/bin")

SUPERUSER = "orchestra"

SERVER_SETTINGS: Dict[str, str] = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "400",
    "shared_buffers": "32MB",
    "unix_socket_permissions": "0700",
    "log_min_messages": "warning",
    "log_connections": "off",
    "autovacuum": "off",
    "max_wal_size": "1GB",
    # Segments in the data dir, not /dev/shm/PostgreSQL.*: a killed server leaves none behind.
    "dynamic_shared_memory_type": "mmap",
}


@dataclass(frozen=True)
class PgBinaries:
    bin_dir: Path
    version: str  # "15.14"

    @property
    def major(self) -> str:
        return self.version.split(".")[0]

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name)


@functools.lru_cache(maxsize=None)
def _version_of(postgres: str) -> Optional[str]:
    try:
        out = subprocess.run([postgres, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+(?:\.\d+)?)", out)
    return match.group(1) if match else None


def candidate_dirs(bin_dir: Optional[str]) -> List[Path]:
    if bin_dir:
        return [Path(bin_dir)]
    found: List[Path] = []
    for tool in ("initdb", "pg_ctl"):
        on_path = shutil.which(tool)
        if on_path:
            found.append(Path(on_path).resolve().parent)
    found += sorted((Path(p) for p in glob.glob(DEBIAN_BIN_GLOB)), key=_numeric_key, reverse=True)
    found += [Path(p) for p in OTHER_BIN_DIRS]
    unique: List[Path] = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique


def _numeric_key(path: Path) -> tuple:
    return tuple(int(part) if part.isdigit() else 0 for part in path.parent.name.split("."))


def find_binaries(name: str, bin_dir: Optional[str], version: Optional[str]) -> PgBinaries:
    """The server binaries to use; ``ProvisionError`` naming the key to set when there are none."""
    seen: List[PgBinaries] = []
    for directory in candidate_dirs(bin_dir):
        if not ((directory / "initdb").is_file() and (directory / "postgres").is_file()):
            continue
        found = _version_of(str(directory / "postgres"))
        if found is None:
            continue
        binaries = PgBinaries(directory, found)
        if version is None or found == version or found.split(".")[0] == version:
            return binaries
        seen.append(binaries)
    if seen:
        have = ", ".join(f"{b.version} in {b.bin_dir}" for b in seen)
        raise ProvisionError(f"PostgreSQL {version} not found (found {have}); install it or set "
                             f"environments.{name}.bin_dir", retry=False)
    where = f" in {bin_dir}" if bin_dir else ""
    raise ProvisionError(f"initdb not found{where}; install postgresql or set environments.{name}.bin_dir",
                         retry=False)


def cache_root() -> Path:
    override = os.environ.get("PYTEST_ORCHESTRA_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pytest-orchestra"


@contextlib.contextmanager
def fresh_cluster(binaries: PgBinaries, *, scratch: Path, user: ServiceUser) -> Iterator[Path]:
    """A pristine initdb cluster to copy a server's data dir from, while the block runs.

    Usually the cached one. The first time, initdb's own output in ``scratch``
    (tmpfs when available): the caller copies it at once, and the copy into the
    cache on disk (about 0.9 s for 39 MB here) happens in a background thread
    afterwards, holding the cache lock, instead of delaying the first server.
    """
    key = f"{binaries.version}-{hashlib.sha1(str(binaries.bin_dir).encode()).hexdigest()[:8]}"
    root = cache_root() / "postgres"
    cluster = root / key
    if (cluster / "PG_VERSION").is_file():
        yield cluster
        return
    root.mkdir(parents=True, exist_ok=True)
    lock = os.open(root / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    handed_over = False
    work: Optional[Path] = None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (cluster / "PG_VERSION").is_file():
            yield cluster
            return
        _remove_dead_partials(root)
        # The pid in the name lets the reaper remove it if we are killed mid-copy.
        work = Path(tempfile.mkdtemp(prefix=f"{INITDB_PREFIX}{os.getpid()}-", dir=scratch))
        data = _initdb(binaries, work, user)
        try:
            yield data
        finally:
            writer = threading.Thread(
                target=_write_cache, args=(data, root / f".{key}.{os.getpid()}.partial", cluster, work, lock),
                name="orchestra-pg-cache",
            )
            writer.start()
            handed_over = True
    finally:
        if not handed_over:
            if work is not None:
                shutil.rmtree(work, ignore_errors=True)
            os.close(lock)


INITDB_PREFIX = "initdb-"


def _owner_pid(name: str) -> Optional[int]:
    match = re.search(r"(\d+)", name)
    return int(match.group(1)) if match else None


def _remove_dead_partials(root: Path) -> None:
    for partial in root.glob(".*.partial"):
        pid = _owner_pid(partial.name.rsplit(".", 2)[-2])
        if pid is not None and not pid_exists(pid):
            shutil.rmtree(partial, ignore_errors=True)


def reap_initdb_dirs(scratch: Path) -> None:
    """Remove initdb work dirs and partial cache copies whose process died (killed mid-copy)."""
    _remove_dead_partials(cache_root() / "postgres")
    for work in scratch.glob(f"{INITDB_PREFIX}*"):
        pid = _owner_pid(work.name[len(INITDB_PREFIX):].split("-", 1)[0])
        if pid is not None and not pid_exists(pid):
            shutil.rmtree(work, ignore_errors=True)


def shared_memory_id(data_dir: Path) -> Optional[int]:
    """The System V segment of a running server (line 7 of ``postmaster.pid``: key, id)."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
        return int(lines[6].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _initdb(binaries: PgBinaries, work: Path, user: ServiceUser) -> Path:
    give_to(work, user)
    data = work / "data"
    command = [
        binaries.tool("initdb"), "-D", str(data), "-U", SUPERUSER, "-E", "UTF8", "--locale=C",
        "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--no-instructions",
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=str(work), timeout=300, **_as_user(user))
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ProvisionError(f"initdb failed ({result.returncode}): {detail[0]}", retry=False)
    return data


def _write_cache(data: Path, partial: Path, cluster: Path, work: Path, lock: int) -> None:
    """Copy initdb's output into the cache (atomically), then drop it and the lock."""
    try:
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(data, partial, symlinks=True)
        os.replace(partial, cluster)
    except OSError:  # pragma: no cover - a full disk: the next session runs initdb again
        shutil.rmtree(partial, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        os.close(lock)


def _as_user(user: ServiceUser) -> Dict[str, Any]:
    if user.is_self:
        return {}
    return {"user": user.uid, "group": user.gid, "extra_groups": []}


@dataclass
class ServerRecord:
    """A running server, as every worker sharing it knows it."""

    pid: int
    started: Optional[int]
    port: int
    socket_dir: str
    data_dir: str
    log: str

    def as_dict(self) -> Dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "ServerRecord":
        return cls(**{k: data[k] for k in ("pid", "started", "port", "socket_dir", "data_dir", "log")})

    def problem(self) -> Optional[str]:
        """None while the postmaster runs, else why it does not."""
        if not is_alive(self.pid, self.started):
            return f"postgres (pid {self.pid}) is gone"
        if process_state(self.pid) == "T":
            return f"postgres (pid {self.pid}) is stopped (not answering)"
        return None


def start_server(
    binaries: PgBinaries,
    cluster: Path,
    server_dir: Path,
    port: int,
    user: ServiceUser,
    *,
    timeout: float,
    extra_settings: Optional[Dict[str, str]] = None,
) -> ServerRecord:
    """Copy the cached cluster into ``server_dir`` and run ``postgres`` on ``port`` until it answers."""
    data = server_dir / "data"
    sockets = server_dir / "socket"
    shutil.copytree(cluster, data, symlinks=True)
    sockets.mkdir(mode=0o700)
    log = server_dir / "postgres.log"
    log.touch(mode=0o600)
    give_to(server_dir, user)
    data.chmod(0o700)
    settings = {**SERVER_SETTINGS, **(extra_settings or {})}
    command: List[str] = [binaries.tool("postgres"), "-D", str(data), "-p", str(port), "-k", str(sockets)]
    for key, value in settings.items():
        command += ["-c", f"{key}={value}"]
    with open(log, "ab") as output:
        popen = spawn(command, output=output, cwd=server_dir, user=user, die_with_parent=False,
                      env=_server_env())
    from pytest_orchestra.environments.processes import start_time

    record = ServerRecord(popen.pid, start_time(popen.pid), port, str(sockets), str(data), str(log))
    socket_file = sockets / f".s.PGSQL.{port}"
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        code = popen.poll()
        if code is not None:
            raise ProvisionError(f"postgres exited with status {code}: {_last_line(log)}")
        if socket_file.exists() and _answers(record):
            # Reap the child when it exits, whoever stops it, so no zombie stays.
            _keep_for_reaping(popen)
            return record
        if time.monotonic() >= deadline:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()
            raise ProvisionError(f"postgres not ready within {timeout:g}s: {_last_line(log)}")
        time.sleep(pause)
        pause = min(pause * 1.5, 0.05)


_children: List[subprocess.Popen[bytes]] = []


def _keep_for_reaping(popen: subprocess.Popen[bytes]) -> None:
    _children.append(popen)


def reap_children() -> None:
    for popen in list(_children):
        if popen.poll() is not None:
            _children.remove(popen)


def _server_env() -> Dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TZ")
    return {k: v for k, v in os.environ.items() if k in keep}


def _last_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"


def _answers(record: ServerRecord) -> bool:
    import psycopg

    try:
        with psycopg.connect(**admin_params(record), connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def admin_params(record: ServerRecord, dbname: str = "postgres") -> Dict[str, Any]:
    """Connection keywords over the private Unix socket (trusted, no password round trip)."""
    return {"host": record.socket_dir, "port": record.port, "user": SUPERUSER, "dbname": dbname}


def stop_server(record: ServerRecord, popen: Optional[Any] = None) -> None:
    """Fast shutdown (SIGINT), then SIGKILL for the group; safe to call on a dead server."""
    from pytest_orchestra.environments.processes import kill_group

    if is_alive(record.pid, record.started):
        kill_group(record.pid, grace=5.0, first_signal=signal.SIGINT)
    reap_children()


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def run_sql(record: ServerRecord, statements: Sequence[str], *, dbname: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(**admin_params(record, dbname), autocommit=True, connect_timeout=5) as connection:
        for statement in statements:
            connection.execute(statement)  # type: ignore[arg-type]
