"""POST routed failures as JSON to a URL, spooling what cannot be delivered.

The payload is ``{"run": {...}, "failures": [...]}``, redacted. The token is
read from the environment variable the sink names and sent only as
``Authorization: Bearer ...``; it is added to the redactor, so it can never
reach the payload or the spool. Pure logic: no pytest import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.triage.sinks.base import DeliveryError, HttpClient
from pytest_orchestra.triage.sinks.spool import Spool, SpoolingSink

if TYPE_CHECKING:
    from pytest_orchestra.triage.sinks.context import SinkContext
    from pytest_orchestra.triage.specs import SinkSpec


def with_secret(redactor: Redactor, secret: str | None) -> Redactor:
    return Redactor((*redactor.secrets, secret)) if secret else redactor


class WebhookSink(SpoolingSink):
    def __init__(
        self,
        name: str,
        url: str,
        *,
        spool: Spool,
        redactor: Redactor,
        token: str | None = None,
        token_env: str | None = None,
        headers: Mapping[str, str] | None = None,
        client: HttpClient | None = None,
    ) -> None:
        super().__init__(name, spool, with_secret(redactor, token))
        self.url = url
        self.token_env = token_env
        self.client = client or HttpClient()
        merged = dict(headers or {})
        if token:
            merged["Authorization"] = f"Bearer {token}"
        self.client.headers = {**self.client.headers, **merged}
        self.missing_token = bool(token_env) and not token

    def send(self, payload: dict[str, Any]) -> None:
        if self.missing_token:
            # Sending unauthenticated would only earn a 401; keep the payload for later.
            raise DeliveryError(f"environment variable {self.token_env} is not set")
        self.client.request("POST", self.url, payload)


def build_webhook_sink(spec: SinkSpec, context: SinkContext) -> WebhookSink:
    """The ``webhook`` type's factory: posts to ``url``, with the token of ``token_env`` when given."""
    return WebhookSink(
        spec.name,
        spec.url or "",
        spool=context.spool(spec),
        redactor=context.redactor,
        token=context.token(spec),
        token_env=spec.token_env,
        headers=spec.headers,
        client=context.http_client(spec),
    )
