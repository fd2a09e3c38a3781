"""Registration, password hashing and login."""

from __future__ import annotations

import pytest
from shop.auth import UserDirectory, hash_password, verify_password


def test_register_normalises_email(directory: UserDirectory) -> None:
    user = directory.register("  Alice@Shop.Example ", "s3cret-password")
    assert user.email == "alice@shop.example"
    assert directory.get("ALICE@shop.example") is user


@pytest.mark.parametrize("email", ["alice@", "al ice@shop.example", "@shop.example"])
def test_register_rejects_bad_email(directory: UserDirectory, email: str) -> None:
    with pytest.raises(ValueError, match="not an email"):
        directory.register(email, "s3cret-password")


def test_register_rejects_duplicates(directory: UserDirectory) -> None:
    directory.register("bob@shop.example", "s3cret-password")
    with pytest.raises(ValueError, match="already registered"):
        directory.register("BOB@shop.example", "another-password")


@pytest.mark.security
def test_short_passwords_are_refused(directory: UserDirectory) -> None:
    with pytest.raises(ValueError, match="at least 8"):
        directory.register("carol@shop.example", "short")


@pytest.mark.security
def test_password_hash_is_salted() -> None:
    first, second = hash_password("same password"), hash_password("same password")
    assert first != second
    assert verify_password("same password", first)
    assert not verify_password("other password", first)


@pytest.mark.critical
def test_login_with_correct_password(directory: UserDirectory) -> None:
    directory.register("dave@shop.example", "correct horse battery")
    user = directory.authenticate("dave@shop.example", "correct horse battery")
    assert user is not None and user.email == "dave@shop.example"
    assert directory.authenticate("dave@shop.example", "wrong horse battery") is None


def test_deactivated_user_cannot_log_in(directory: UserDirectory) -> None:
    directory.register("erin@shop.example", "correct horse battery")
    directory.deactivate("erin@shop.example")
    assert directory.authenticate("erin@shop.example", "correct horse battery") is None


def test_claims_merge_across_roles(make_user) -> None:
    user = make_user("cfo", "clerk")
    assert user.claims == {"admin": False, "finance": True}
    assert make_user("guest").claims == {}
