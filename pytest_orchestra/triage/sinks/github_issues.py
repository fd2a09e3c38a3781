"""One GitHub issue per failure fingerprint, through the REST API.

Open issues labelled ``pytest-orchestra`` are listed (following ``Link``
pagination) and matched by a marker in their body,
``<!-- orchestra-fingerprint: abc123def456 -->``. A fingerprint without an
issue gets a new one titled like ``[product] AssertionError in shop/billing
(3 tests)``; one with an issue gets a comment with the new occurrence. What
fails is spooled and retried by the next delivery. Pure logic: no pytest import.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.triage.sinks.base import DeliveryError, HttpClient
from pytest_orchestra.triage.sinks.spool import Spool, SpoolingSink
from pytest_orchestra.triage.sinks.webhook import with_secret

if TYPE_CHECKING:
    from pytest_orchestra.triage.sinks.context import SinkContext
    from pytest_orchestra.triage.specs import SinkSpec

LABEL = "pytest-orchestra"
MARKER = "<!-- orchestra-fingerprint: {} -->"
MARKER_PATTERN = re.compile(r"<!-- orchestra-fingerprint: ([0-9A-Za-z_.:-]+) -->")
#: Tests listed in one issue body or comment; the rest are counted.
LISTED_TESTS = 20
#: Pages of open issues read at most, so a huge backlog cannot stall a run.
MAX_PAGES = 20
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')
_TYPE_IN_MESSAGE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Timeout|Failure|Warning|Exit))\b")


def _group(failures: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for failure in failures:
        key = str(failure.get("fingerprint") or failure.get("nodeid"))
        groups.setdefault(key, []).append(failure)
    return groups


def _exception_name(failure: Mapping[str, Any]) -> str:
    if failure.get("exception"):
        return str(failure["exception"])
    message = str(failure.get("message") or "")
    found = _TYPE_IN_MESSAGE.match(message)
    if found:
        return found.group(1).rsplit(".", 1)[-1]
    return "AssertionError" if message.startswith("assert ") else "Failure"


def _place(failure: Mapping[str, Any]) -> str:
    """The directory the failure was raised in (its location), else the test's directory."""
    location = failure.get("location")
    path = str(location[0]) if location else str(failure.get("nodeid", "")).split("::", 1)[0]
    return posixpath.dirname(path) or path or "the suite"


def issue_title(failures: Sequence[Mapping[str, Any]]) -> str:
    first = failures[0]
    tests = len({f.get("nodeid") for f in failures})
    noun = "test" if tests == 1 else "tests"
    return f"[{first.get('category', 'unknown')}] {_exception_name(first)} in {_place(first)} ({tests} {noun})"


def _occurrence(failures: Sequence[Mapping[str, Any]], run: Mapping[str, Any]) -> str:
    first = failures[0]
    nodeids = sorted({str(f.get("nodeid")) for f in failures})
    listed = "\n".join(f"- `{nodeid}`" for nodeid in nodeids[:LISTED_TESTS])
    if len(nodeids) > LISTED_TESTS:
        listed += f"\n- ... and {len(nodeids) - LISTED_TESTS} more"
    where = f"run `{run.get('run_id', '?')}`"
    if run.get("commit"):
        where += f" at `{run['commit']}`"
    if run.get("branch"):
        where += f" on `{run['branch']}`"
    message = str(first.get("message") or "").replace("```", "'''")
    return (
        f"Failed in {where}.\n\n"
        f"**{first.get('category')}** ({float(first.get('confidence') or 0):.0%}, rule `{first.get('rule')}`): "
        f"{first.get('reason', '')}\n\n{listed}\n\n```\n{message}\n```\n"
    )


class GitHubIssuesSink(SpoolingSink):
    def __init__(
        self,
        name: str,
        repository: str,
        *,
        spool: Spool,
        redactor: Redactor,
        token: str | None,
        token_env: str | None = None,
        api_url: str = "https://api.github.com",
        labels: Sequence[str] = (),
        client: HttpClient | None = None,
    ) -> None:
        super().__init__(name, spool, with_secret(redactor, token))
        self.repository = repository
        self.api_url = api_url.rstrip("/")
        self.labels = [LABEL, *(label for label in labels if label != LABEL)]
        self.token = token
        self.token_env = token_env
        self.client = client or HttpClient()
        self.client.headers = {
            **self.client.headers,
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        }

    def _url(self, suffix: str) -> str:
        return f"{self.api_url}/repos/{self.repository}{suffix}"

    def open_issues(self) -> dict[str, int]:
        """Fingerprint -> number of the open issue carrying its marker."""
        found: dict[str, int] = {}
        url: str | None = self._url(f"/issues?state=open&labels={LABEL}&per_page=100")
        pages = 0
        while url and pages < MAX_PAGES:
            pages += 1
            response = self.client.request("GET", url)
            for issue in response.json() or []:
                for fingerprint in MARKER_PATTERN.findall(str(issue.get("body") or "")):
                    found.setdefault(fingerprint, int(issue["number"]))
            link = next((v for k, v in response.headers.items() if k.lower() == "link"), "")
            match = _NEXT_LINK.search(link)
            url = match.group(1) if match else None
        return found

    def send(self, payload: dict[str, Any]) -> None:
        if not self.token:
            raise DeliveryError(f"environment variable {self.token_env or '(token_env)'} is not set")
        run = payload.get("run") or {}
        existing = self.open_issues()
        for fingerprint, failures in _group(payload.get("failures") or []).items():
            text = self.redactor.redact(_occurrence(failures, run))
            number = existing.get(fingerprint)
            if number is None:
                body = f"{MARKER.format(fingerprint)}\n{text}"
                created = self.client.request(
                    "POST",
                    self._url("/issues"),
                    {"title": self.redactor.redact(issue_title(failures)), "body": body, "labels": self.labels},
                ).json()
                # A later group of the same payload with this fingerprint comments instead.
                existing[fingerprint] = int(created["number"])
            else:
                self.client.request("POST", self._url(f"/issues/{number}/comments"), {"body": text})


def build_github_issues_sink(spec: SinkSpec, context: SinkContext) -> GitHubIssuesSink:
    """The ``github-issues`` type's factory: ``url`` is the API's (default ``https://api.github.com``)."""
    return GitHubIssuesSink(
        spec.name,
        spec.repository or "",
        spool=context.spool(spec),
        redactor=context.redactor,
        token=context.token(spec),
        token_env=spec.token_env,
        api_url=spec.url or "https://api.github.com",
        labels=spec.labels,
        client=context.http_client(spec),
    )
