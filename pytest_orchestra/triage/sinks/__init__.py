"""Sinks: where routed failures go (a file, the report, annotations, a webhook, GitHub issues).

``build_sinks`` turns the workflow's sink specs into sink objects; each has a
``deliver(failures, run) -> DeliveryResult`` that never raises. Pure logic:
no pytest import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.triage.config import SinkSpec
from pytest_orchestra.triage.sinks.base import (
    DeliveryResult,
    HttpClient,
    Sink,
    run_summary,
)
from pytest_orchestra.triage.sinks.github import GithubSink
from pytest_orchestra.triage.sinks.github_issues import GitHubIssuesSink
from pytest_orchestra.triage.sinks.jsonl import JsonlSink
from pytest_orchestra.triage.sinks.markdown import MarkdownSink, markdown_section
from pytest_orchestra.triage.sinks.spool import Spool, spool_for
from pytest_orchestra.triage.sinks.webhook import WebhookSink

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


def _resolve(base_dir: Path, path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else Path(base_dir) / candidate


def build_sink(
    spec: SinkSpec,
    *,
    base_dir: Path,
    environ: Mapping[str, str],
    redactor: Redactor,
    rootdir: Path | None = None,
) -> Sink:
    files = Path(rootdir) if rootdir is not None else Path(base_dir)
    token = environ.get(spec.token_env) if spec.token_env else None
    client = HttpClient(timeout=spec.timeout, retries=spec.retries)
    if spec.type == "jsonl":
        return JsonlSink(spec.name, _resolve(files, spec.path or f"{spec.name}.jsonl"), redactor)
    if spec.type == "markdown":
        return MarkdownSink(spec.name, redactor, _resolve(files, spec.path) if spec.path else None)
    if spec.type == "github":
        return GithubSink(spec.name, redactor)
    if spec.type == "webhook":
        return WebhookSink(
            spec.name,
            spec.url or "",
            spool=spool_for(base_dir, spec.name),
            redactor=redactor,
            token=token,
            token_env=spec.token_env,
            headers=spec.headers,
            client=client,
        )
    if spec.type == "github-issues":
        return GitHubIssuesSink(
            spec.name,
            spec.repository or "",
            spool=spool_for(base_dir, spec.name),
            redactor=redactor,
            token=token,
            token_env=spec.token_env,
            api_url=spec.url or "https://api.github.com",
            labels=spec.labels,
            client=client,
        )
    raise ValueError(f"sink {spec.name!r}: unknown type {spec.type!r}")


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
