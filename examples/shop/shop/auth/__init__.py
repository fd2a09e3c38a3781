"""Authentication and authorisation: users, signed session tokens, permission checks."""

from __future__ import annotations

from shop.auth.permissions import PERMISSIONS, can_refund, has_permission
from shop.auth.tokens import InvalidToken, SessionStore, TokenExpired, TokenService
from shop.auth.users import User, UserDirectory, hash_password, verify_password

__all__ = [
    "PERMISSIONS",
    "InvalidToken",
    "SessionStore",
    "TokenExpired",
    "TokenService",
    "User",
    "UserDirectory",
    "can_refund",
    "has_permission",
    "hash_password",
    "verify_password",
]
