"""What a sink factory gets besides its spec: the run's folders, environment and redactor.

One :class:`SinkContext` is shared by the sinks built for a run; it also makes
what each remote sink owns from its spec (its token, HTTP client and spool),
the same way for every type. Pure logic: no pytest import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from pytest_orchestra.core.plainclass import plainclass
from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.triage.sinks.base import HttpClient
from pytest_orchestra.triage.sinks.spool import Spool, spool_for

if TYPE_CHECKING:
    from pytest_orchestra.triage.specs import SinkSpec


@plainclass(frozen=True)
class SinkContext:
    #: ``.orchestra``: the spool lives under it.
    base_dir: Path
    #: What relative sink paths are resolved against (the rootdir, as the workflow file writes them).
    files_dir: Path
    environ: Mapping[str, str]
    redactor: Redactor

    def resolve(self, path: str) -> Path:
        candidate = Path(path)
        return candidate if candidate.is_absolute() else Path(self.files_dir) / candidate

    def token(self, spec: SinkSpec) -> str | None:
        """The value of the environment variable the sink names (None when it names none)."""
        return self.environ.get(spec.token_env) if spec.token_env else None

    def http_client(self, spec: SinkSpec) -> HttpClient:
        return HttpClient(timeout=spec.timeout, retries=spec.retries)

    def spool(self, spec: SinkSpec) -> Spool:
        return spool_for(self.base_dir, spec.name)
