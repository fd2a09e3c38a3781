"""Sinks: where routed failures go (a file, the report, annotations, a webhook, GitHub issues).

``build_sinks`` turns the workflow's sink specs into sink objects, each built
by the factory its type registered (``registry``); each has a
``deliver(failures, run) -> DeliveryResult`` that never raises. Importing the
package is cheap (the workflow schema reads the registry): the sinks' modules
load on first use, and only those of the types a run builds. Pure logic: no
pytest import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from pytest_orchestra.core.speed import lazy_exports
from pytest_orchestra.triage.sinks.registry import sink_type

if TYPE_CHECKING:
    from pytest_orchestra.core.redaction import Redactor
    from pytest_orchestra.triage.sinks.base import DeliveryResult, Sink, run_summary
    from pytest_orchestra.triage.sinks.github import GithubSink
    from pytest_orchestra.triage.sinks.github_issues import GitHubIssuesSink
    from pytest_orchestra.triage.sinks.jsonl import JsonlSink
    from pytest_orchestra.triage.sinks.markdown import MarkdownSink, markdown_section
    from pytest_orchestra.triage.sinks.spool import Spool
    from pytest_orchestra.triage.sinks.webhook import WebhookSink
    from pytest_orchestra.triage.specs import SinkSpec

__all__ = [
    "DeliveryResult",
    "GitHubIssuesSink",
    "GithubSink",
    "JsonlSink",
    "MarkdownSink",
    "Sink",
    "Spool",
    "WebhookSink",
    "build_sinks",
    "markdown_section",
    "run_summary",
]

_HOMES = {
    "DeliveryResult": "base",
    "Sink": "base",
    "run_summary": "base",
    "GithubSink": "github",
    "GitHubIssuesSink": "github_issues",
    "JsonlSink": "jsonl",
    "MarkdownSink": "markdown",
    "markdown_section": "markdown",
    "Spool": "spool",
    "WebhookSink": "webhook",
}


__getattr__ = lazy_exports(__name__, _HOMES)


def build_sink(
    spec: SinkSpec,
    *,
    base_dir: Path,
    environ: Mapping[str, str],
    redactor: Redactor,
    rootdir: Path | None = None,
) -> Sink:
    """The sink ``spec`` describes, built by the factory of its type."""
    registered = sink_type(spec.type)
    if registered is None:
        raise ValueError(f"sink {spec.name!r}: unknown type {spec.type!r}")
    from pytest_orchestra.triage.sinks.context import SinkContext

    files = Path(rootdir) if rootdir is not None else Path(base_dir)
    context = SinkContext(base_dir=Path(base_dir), files_dir=files, environ=environ, redactor=redactor)
    return registered.load()(spec, context)


def build_sinks(
    specs: Mapping[str, SinkSpec] | Iterable[SinkSpec],
    *,
    base_dir: Path,
    environ: Mapping[str, str],
    redactor: Redactor,
    rootdir: Path | None = None,
) -> dict[str, Sink]:
    """Sink objects by name.

    The spool lives under ``base_dir`` (``.orchestra``); relative sink paths
    are resolved against ``rootdir`` (default: ``base_dir``), as the workflow
    file writes them.
    """
    items = specs.values() if isinstance(specs, Mapping) else specs
    return {
        spec.name: build_sink(spec, base_dir=base_dir, environ=environ, redactor=redactor, rootdir=rootdir)
        for spec in items
    }
