"""A tiny JSON-over-HTTP client on top of urllib, shared by the shop's apps.

It exists so the apps do not each hand-roll request building, timeouts and
error mapping; it is deliberately dependency-free.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Mapping


class HttpError(Exception):
    """The server answered, but with a non-2xx status."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        super().__init__(f"{method} {url} -> HTTP {status}: {body[:200]}")
        self.method = method
        self.url = url
        self.status = status
        self.body = body


class HttpClient:
    """Sends JSON requests to one service and decodes JSON answers."""

    def __init__(
        self,
        base_url: str,
        timeout: float = 2.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.default_headers = {"Accept": "application/json", **(headers or {})}

    def url_for(self, path: str, query: Mapping[str, Any] | None = None) -> str:
        url = f"{self.base_url}/{path.lstrip('/')}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        return url

    def get_json(self, path: str, query: Mapping[str, Any] | None = None) -> Any:
        return self._send("GET", self.url_for(path, query), payload=None)

    def post_json(self, path: str, payload: Any) -> Any:
        return self._send("POST", self.url_for(path), payload=payload)

    def _send(self, method: str, url: str, payload: Any) -> Any:
        headers = dict(self.default_headers)
        data: bytes | None = None
        if payload is not None:
            data = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            # An HTTP error status is an answer, not a transport failure: keep
            # the status so callers can tell 404 from 503. Transport failures
            # (URLError, timeouts) propagate untouched.
            raise HttpError(method, url, exc.code, exc.read().decode("utf-8", "replace")) from exc
        return json.loads(body) if body else None
