"""User accounts, their roles, and password hashing."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Mapping

#: Claims each role grants. Staff roles list every claim explicitly (a ``False``
#: is a deliberate "no"); anonymous guests are issued no claims at all.
ROLE_CLAIMS: Mapping[str, Mapping[str, bool]] = {
    "admin": {"admin": True, "finance": True},
    "cfo": {"admin": False, "finance": True},
    "clerk": {"admin": False, "finance": False},
    "guest": {},
}

_EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
_PBKDF2_ROUNDS = 1_000  # low on purpose: tests hash many passwords; production uses 600k


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``salt$digest`` in hex, PBKDF2-SHA256."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, _PBKDF2_ROUNDS)
    return f"{salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    salt_hex, _, digest_hex = stored.partition("$")
    candidate = hash_password(password, bytes.fromhex(salt_hex)).partition("$")[2]
    # Constant-time comparison so response timing does not leak the digest.
    return hmac.compare_digest(candidate, digest_hex)


@dataclass
class User:
    user_id: str
    email: str
    roles: FrozenSet[str] = frozenset({"guest"})
    password_hash: str = ""
    active: bool = True

    @property
    def claims(self) -> Dict[str, bool]:
        """Union of the claims of every role; any role granting a claim wins."""
        merged: Dict[str, bool] = {}
        for role in sorted(self.roles):
            for claim, granted in ROLE_CLAIMS.get(role, {}).items():
                merged[claim] = merged.get(claim, False) or granted
        return merged


@dataclass
class UserDirectory:
    """In-memory user store keyed by lower-cased email."""

    _users: Dict[str, User] = field(default_factory=dict)
    _next_id: int = 1

    def register(self, email: str, password: str, roles: FrozenSet[str] = frozenset({"guest"})) -> User:
        email = email.strip().lower()
        if not _EMAIL_PATTERN.match(email):
            raise ValueError(f"not an email address: {email!r}")
        if email in self._users:
            raise ValueError(f"already registered: {email}")
        if len(password) < 8:
            raise ValueError("password must have at least 8 characters")
        unknown = set(roles) - set(ROLE_CLAIMS)
        if unknown:
            raise ValueError(f"unknown roles: {sorted(unknown)}")
        user = User(f"u{self._next_id:05d}", email, frozenset(roles), hash_password(password))
        self._next_id += 1
        self._users[email] = user
        return user

    def get(self, email: str) -> User | None:
        return self._users.get(email.strip().lower())

    def authenticate(self, email: str, password: str) -> User | None:
        user = self.get(email)
        if user is None or not user.active:
            return None
        return user if verify_password(password, user.password_hash) else None

    def deactivate(self, email: str) -> None:
        user = self.get(email)
        if user is None:
            raise KeyError(email)
        user.active = False
