"""Signed, expiring session tokens and a server-side session store for revocation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Set


class InvalidToken(Exception):
    """The token is malformed or its signature does not match."""


class TokenExpired(InvalidToken):
    """The token was genuine but its lifetime is over."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class TokenService:
    """Issues ``payload.signature`` tokens (HMAC-SHA256 over a JSON payload)."""

    secret: bytes
    ttl_seconds: int = 3600
    clock: Callable[[], float] = time.time

    def issue(self, subject: str, claims: Dict[str, Any]) -> str:
        now = int(self.clock())
        payload = {"sub": subject, "iat": now, "exp": now + self.ttl_seconds, "claims": claims}
        body = _b64encode(json.dumps(payload, sort_keys=True).encode("utf-8"))
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str) -> Dict[str, Any]:
        body, dot, signature = token.partition(".")
        if not dot or not body or not signature:
            raise InvalidToken("token must have two parts")
        if not hmac.compare_digest(signature, self._sign(body)):
            raise InvalidToken("bad signature")
        try:
            payload = json.loads(_b64decode(body))
        except ValueError as exc:
            raise InvalidToken("payload is not JSON") from exc
        if payload["exp"] <= self.clock():
            raise TokenExpired(f"expired at {payload['exp']}")
        return payload

    def _sign(self, body: str) -> str:
        return _b64encode(hmac.new(self.secret, body.encode("ascii"), hashlib.sha256).digest())


@dataclass
class SessionStore:
    """Tracks live tokens so a logout or a password change can revoke them early."""

    tokens: TokenService
    _live: Dict[str, Set[str]] = field(default_factory=dict)

    def open(self, subject: str, claims: Dict[str, Any]) -> str:
        token = self.tokens.issue(subject, claims)
        self._live.setdefault(subject, set()).add(token)
        return token

    def resolve(self, token: str) -> Dict[str, Any]:
        payload = self.tokens.verify(token)
        if token not in self._live.get(payload["sub"], set()):
            raise InvalidToken("session was revoked")
        return payload

    def revoke(self, token: str) -> None:
        for tokens in self._live.values():
            tokens.discard(token)

    def revoke_all(self, subject: str) -> int:
        return len(self._live.pop(subject, set()))
