"""Which sinks a classified failure goes to.

A route names sinks and filters; it matches a failure when every filter it
gives matches (an empty filter matches anything). A failure goes to the union
of the sinks of all matching routes, in route order, each sink once. Pure
logic: no pytest import.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Sequence

from pytest_orchestra.triage.specs import RouteSpec


@dataclass
class RoutedFailure:
    """A failure as sinks see it: what it is, why we think so, and who owns it."""

    nodeid: str
    category: str
    confidence: float
    rule: str
    reason: str
    fingerprint: str
    cluster_id: str
    phase: str
    app: str | None = None
    owners: tuple[str, ...] = ()
    attempts: int = 1
    flaky: bool = False
    quarantined: bool = False
    message: str = ""
    location: tuple[str, int] | None = None
    markers: tuple[str, ...] = field(default=(), repr=False)
    #: Short exception class name (``AssertionError``), for titles; empty when unknown.
    exception: str = ""

    @property
    def file_path(self) -> str:
        return self.nodeid.split("::", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["owners"] = list(self.owners)
        data["markers"] = list(self.markers)
        data["location"] = list(self.location) if self.location else None
        return data


def path_matches(path: str, pattern: str) -> bool:
    """``pattern`` is a glob (``*`` crosses directories) or a directory ending in ``/``."""
    if pattern.endswith("/"):
        return path.startswith(pattern.removeprefix("./"))
    return fnmatchcase(path, pattern)


def route_matches(
    route: RouteSpec, failure: RoutedFailure, *, file_path: str, markers: Sequence[str]
) -> bool:
    if route.categories and failure.category not in route.categories:
        return False
    if route.paths and not any(path_matches(file_path, glob) for glob in route.paths):
        return False
    if route.apps and failure.app not in route.apps:
        return False
    if route.markers and not set(route.markers) & set(markers):
        return False
    if route.owners and not set(route.owners) & set(failure.owners):
        return False
    return True


def route(
    failure: RoutedFailure,
    routes: Sequence[RouteSpec],
    *,
    file_path: str | None = None,
    markers: Sequence[str] | None = None,
) -> list[str]:
    """Names of the sinks ``failure`` goes to (``file_path``/``markers`` default to the failure's)."""
    path = failure.file_path if file_path is None else file_path
    names = failure.markers if markers is None else markers
    sinks: list[str] = []
    for candidate in routes:
        if route_matches(candidate, failure, file_path=path, markers=names):
            sinks.extend(sink for sink in candidate.sinks if sink not in sinks)
    return sinks
