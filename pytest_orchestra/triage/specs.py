"""What triage reads from the workflow: the spec objects of the triage, retries and quarantine sections.

Each section becomes a frozen dataclass the rest of triage reads; the
``*_spec`` functions turn a validated section (or ``None`` when the file has
none) into it. The schema that validates the sections is ``schema``. Pure
logic: no pytest import.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Mapping

from pytest_orchestra.core.plainclass import plainclass

#: Where reviewed labels live unless the workflow says otherwise (committable, next to the quarantine).
DEFAULT_LABELS_FILE = ".orchestra/triage-labels.yaml"


@plainclass(frozen=True)
class UserRule:
    """A rule from ``triage.rules``: every condition given must hold for it to match."""

    name: str
    category: str
    exception: tuple[str, ...] = ()
    message: str | None = None
    traceback: str | None = None
    paths: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    phase: tuple[str, ...] = ()
    confidence: float = 0.95


@plainclass(frozen=True)
class SinkSpec:
    name: str
    type: str
    path: str | None = None
    url: str | None = None
    token_env: str | None = None
    repository: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 5.0
    retries: int = 3
    labels: tuple[str, ...] = ()


@plainclass(frozen=True)
class RouteSpec:
    """Failures matching every given filter go to ``sinks``; an empty filter matches all."""

    sinks: tuple[str, ...]
    categories: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()


@plainclass(frozen=True)
class TriageSpec:
    rules: tuple[UserRule, ...] = ()
    threshold: float = 0.6
    model: str | None = None
    labels: str = DEFAULT_LABELS_FILE
    routes: tuple[RouteSpec, ...] = ()
    sinks: dict[str, SinkSpec] = field(default_factory=dict)
    incident_min_tests: int = 5


@plainclass(frozen=True)
class RetriesSpec:
    """``categories == ("all",)`` retries every category."""

    max: int = 0
    categories: tuple[str, ...] = ("infrastructure", "timeout")


@plainclass(frozen=True)
class QuarantineSpec:
    file: str = ".orchestra/quarantine.yaml"
    auto: bool = False
    flip_rate: float = 0.3
    min_runs: int = 5
    expires_days: int = 14


def _user_rule(values: Mapping[str, Any]) -> UserRule:
    return UserRule(
        name=values["name"],
        category=values["category"],
        exception=tuple(values.get("exception", ())),
        message=values.get("message"),
        traceback=values.get("traceback"),
        paths=tuple(values.get("paths", ())),
        markers=tuple(values.get("markers", ())),
        phase=tuple(values.get("phase", ())),
        confidence=float(values.get("confidence", 0.95)),
    )


def _sink(name: str, values: Mapping[str, Any]) -> SinkSpec:
    return SinkSpec(
        name=name,
        type=values["type"],
        path=values.get("path"),
        url=values.get("url"),
        token_env=values.get("token_env"),
        repository=values.get("repository"),
        headers=dict(values.get("headers", {})),
        timeout=float(values.get("timeout", 5.0)),
        retries=int(values.get("retries", 3)),
        labels=tuple(values.get("labels", ())),
    )


def _route(values: Mapping[str, Any]) -> RouteSpec:
    return RouteSpec(
        sinks=tuple(values["sinks"]),
        **{key: tuple(values.get(key, ())) for key in ("categories", "paths", "apps", "markers", "owners")},
    )


def triage_spec(validated: Mapping[str, Any] | None) -> TriageSpec:
    if validated is None:
        return TriageSpec()
    return TriageSpec(
        rules=tuple(_user_rule(rule) for rule in validated.get("rules", ())),
        threshold=float(validated.get("threshold", 0.6)),
        model=validated.get("model"),
        labels=validated.get("labels", DEFAULT_LABELS_FILE),
        routes=tuple(_route(route) for route in validated.get("routes", ())),
        sinks={name: _sink(name, sink) for name, sink in validated.get("sinks", {}).items()},
        incident_min_tests=int(validated.get("incident_min_tests", 5)),
    )


def retries_spec(validated: Mapping[str, Any] | None) -> RetriesSpec:
    if validated is None:
        return RetriesSpec()
    categories = tuple(validated.get("categories", RetriesSpec.categories))
    return RetriesSpec(max=int(validated.get("max", 0)), categories=categories)


def quarantine_spec(validated: Mapping[str, Any] | None) -> QuarantineSpec:
    if validated is None:
        return QuarantineSpec()
    defaults = QuarantineSpec()
    return QuarantineSpec(
        file=validated.get("file", defaults.file),
        auto=bool(validated.get("auto", defaults.auto)),
        flip_rate=float(validated.get("flip_rate", defaults.flip_rate)),
        min_runs=int(validated.get("min_runs", defaults.min_runs)),
        expires_days=int(validated.get("expires_days", defaults.expires_days)),
    )
