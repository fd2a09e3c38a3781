"""Shared fixtures for the shop's tests: users, tokens, invoices, inventory."""

from __future__ import annotations

from typing import Callable, FrozenSet

import pytest
from shop.auth import SessionStore, TokenService, User, UserDirectory
from shop.billing import Invoice, LineItem, Money
from shop.inventory import Inventory


class FakeClock:
    """A clock the tests move by hand, so token expiry is tested without sleeping."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def directory() -> UserDirectory:
    return UserDirectory()


@pytest.fixture
def make_user(directory: UserDirectory) -> Callable[..., User]:
    """Registers a user with the given roles; emails are made unique per call."""
    counter = iter(range(1, 10_000))

    def build(*roles: str, password: str = "correct horse battery") -> User:
        role_set: FrozenSet[str] = frozenset(roles or ("guest",))
        email = f"{'-'.join(sorted(role_set))}{next(counter)}@shop.example"
        return directory.register(email, password, role_set)

    return build


@pytest.fixture
def token_service(clock: FakeClock) -> TokenService:
    return TokenService(secret=b"test-secret-not-for-production", ttl_seconds=900, clock=clock)


@pytest.fixture
def sessions(token_service: TokenService) -> SessionStore:
    return SessionStore(token_service)


@pytest.fixture
def invoice() -> Invoice:
    """A German invoice: two general items and one book (reduced VAT)."""
    invoice = Invoice(number="INV-2024-0042", customer="ACME GmbH", region="DE")
    invoice.add(LineItem("KB-101", 2, Money.of("49.90")))
    invoice.add(LineItem("MS-220", 1, Money.of("19.99")))
    invoice.add(LineItem("BK-007", 3, Money.of("12.50"), product_class="books"))
    return invoice


@pytest.fixture
def inventory() -> Inventory:
    inventory = Inventory()
    inventory.receive("KB-101", 10)
    inventory.receive("MS-220", 3)
    return inventory
