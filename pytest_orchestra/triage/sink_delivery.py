"""Routing a run's classified failures to sinks and delivering them, at the end of the run.

Each failure becomes a :class:`~pytest_orchestra.triage.routing.RoutedFailure`
(with its CODEOWNERS owners); ``triage.routes`` and the
``pytest_orchestra_route`` hook choose its sinks, and each sink gets its batch
once. A green run still delivers what earlier runs spooled while a sink was
down.
"""

from __future__ import annotations

import os
from dataclasses import field
from typing import TYPE_CHECKING, Any, Dict, List, Mapping

import pytest

from pytest_orchestra.core.plainclass import plainclass
from pytest_orchestra.triage.specs import TriageSpec

if TYPE_CHECKING:
    from pytest_orchestra.core.records import RunRecord
    from pytest_orchestra.settings import OrchestraSettings
    from pytest_orchestra.triage.entry import TriageEntry


@plainclass
class Deliveries:
    """What delivering a run's failures gave: each sink's result, and what to show of it."""

    #: A ``DeliveryResult`` per sink delivered to.
    results: List[Any] = field(default_factory=list)
    #: Lines the sinks would print (the ``github`` sink's annotations).
    annotation_lines: List[str] = field(default_factory=list)
    #: report.md's sections of the markdown sinks (their destination).
    markdown_sections: List[str] = field(default_factory=list)


def configured_sinks(spec: TriageSpec, settings: "OrchestraSettings") -> Dict[str, Any]:
    """The sinks declared under ``triage.sinks``, by name."""
    from pytest_orchestra.triage.sinks import build_sinks

    return build_sinks(
        spec.sinks,
        base_dir=settings.base_dir,
        environ=os.environ,
        redactor=settings.redactor,
        rootdir=settings.rootdir,
    )


def drain_spools(spec: TriageSpec, settings: "OrchestraSettings", run: "RunRecord") -> List[Any]:
    """Deliver what earlier runs spooled while a sink was down; the results of the sinks that had some."""
    spool_root = settings.base_dir / "spool"
    if not spec.sinks or not spool_root.is_dir():
        return []
    waiting = [name for name in spec.sinks if any((spool_root / name).glob("*.json"))]
    if not waiting:
        return []
    sinks = configured_sinks(spec, settings)
    return [sinks[name].deliver([], run) for name in waiting if name in sinks]


def route_and_deliver(
    entries: Mapping[str, "TriageEntry"],
    run: "RunRecord",
    *,
    config: pytest.Config,
    spec: TriageSpec,
    settings: "OrchestraSettings",
) -> Deliveries:
    """Route every entry's failure and deliver each sink's batch; sets the entries' routes and deliveries."""
    from pytest_orchestra.triage.codeowners import CodeOwners
    from pytest_orchestra.triage.routing import RoutedFailure, route

    owners = CodeOwners.load(settings.rootdir)
    sinks = configured_sinks(spec, settings)
    batches: Dict[str, List[Any]] = {}
    extra_sinks: Dict[str, Any] = {}
    for entry in entries.values():
        record = entry.record
        file_path = record.nodeid.split("::", 1)[0]
        routed = RoutedFailure(
            nodeid=record.nodeid,
            category=entry.decision.category,
            confidence=entry.decision.confidence,
            rule=entry.decision.rule,
            reason=entry.decision.reason,
            fingerprint=entry.fingerprint,
            cluster_id=entry.fingerprint,
            phase=record.phase,
            app=record.app,
            owners=tuple(owners.owners_for(file_path)) if owners else (),
            attempts=record.attempts,
            flaky=record.flaky,
            quarantined=record.quarantined,
            message=record.message,
            location=record.location or None,
            markers=tuple(entry.failure.markers),
            exception=entry.failure.evidence.short_type if entry.failure.evidence else "",
        )
        names = route(routed, spec.routes, file_path=file_path, markers=entry.failure.markers)
        for added in config.hook.pytest_orchestra_route(failure=routed, sinks=names):
            for sink in added or ():
                extra_sinks[sink.name] = sink
                names.append(sink.name)
        entry.routes = list(dict.fromkeys(names))
        for name in entry.routes:
            batches.setdefault(name, []).append(routed)
    delivered = Deliveries()
    for name, failures in batches.items():
        sink = sinks.get(name) or extra_sinks.get(name)
        if sink is None:
            continue
        outcome = sink.deliver(failures, run)
        section = getattr(sink, "markdown_section", None)
        if callable(section):
            delivered.markdown_sections.append(section())
        delivered.results.append(outcome)
        delivered.annotation_lines.extend(getattr(outcome, "lines", ()) or ())
        if not outcome.error:
            for failure in failures:
                entries[failure.nodeid].delivered.append(name)
    return delivered
