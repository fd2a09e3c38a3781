"""Signed session tokens: issue, verify, expire, revoke."""

from __future__ import annotations

import pytest
from shop.auth import InvalidToken, SessionStore, TokenExpired, TokenService


@pytest.mark.critical
def test_issued_token_verifies(token_service: TokenService) -> None:
    token = token_service.issue("u00001", {"admin": True})
    payload = token_service.verify(token)
    assert payload["sub"] == "u00001"
    assert payload["claims"] == {"admin": True}


@pytest.mark.security
def test_tampered_token_is_rejected(token_service: TokenService) -> None:
    body, _, signature = token_service.issue("u00001", {"admin": False}).partition(".")
    forged_body = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(InvalidToken, match="signature"):
        token_service.verify(f"{forged_body}.{signature}")


@pytest.mark.security
def test_token_signed_with_other_secret_is_rejected(token_service: TokenService, clock) -> None:
    other = TokenService(secret=b"someone-else", clock=clock)
    with pytest.raises(InvalidToken):
        token_service.verify(other.issue("u00001", {"admin": True}))


def test_malformed_tokens_are_rejected(token_service: TokenService) -> None:
    for garbage in ("no-dot", "body.", ".sig"):
        with pytest.raises(InvalidToken):
            token_service.verify(garbage)


def test_token_expires_after_ttl(token_service: TokenService, clock) -> None:
    token = token_service.issue("u00001", {})
    clock.advance(899)
    token_service.verify(token)
    clock.advance(1)
    with pytest.raises(TokenExpired):
        token_service.verify(token)


@pytest.mark.security
def test_logout_revokes_the_session(sessions: SessionStore) -> None:
    token = sessions.open("u00001", {"finance": True})
    assert sessions.resolve(token)["claims"] == {"finance": True}
    sessions.revoke(token)
    with pytest.raises(InvalidToken, match="revoked"):
        sessions.resolve(token)


def test_password_change_revokes_every_session(sessions: SessionStore, clock) -> None:
    tokens = []
    for _ in range(3):
        tokens.append(sessions.open("u00002", {}))
        clock.advance(1)  # distinct iat, hence distinct tokens
    assert sessions.revoke_all("u00002") == 3
    for token in tokens:
        with pytest.raises(InvalidToken):
            sessions.resolve(token)
