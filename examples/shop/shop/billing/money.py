"""Money as a Decimal amount in a currency, always rounded to the cent."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Union

_CENT = Decimal("0.01")
Number = Union[int, str, Decimal]


@dataclass(frozen=True, order=True)
class Money:
    amount: Decimal
    currency: str = "EUR"

    def __post_init__(self) -> None:
        if isinstance(self.amount, float):
            # Floats cannot represent most cent values exactly; refuse them so
            # a rounding error never reaches an invoice.
            raise TypeError("use str or Decimal for money, not float")
        object.__setattr__(self, "amount", Decimal(self.amount).quantize(_CENT, ROUND_HALF_UP))

    @classmethod
    def of(cls, amount: Number, currency: str = "EUR") -> "Money":
        return cls(Decimal(amount), currency)

    def _same_currency(self, other: "Money") -> None:
        if self.currency != other.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def times(self, factor: Number) -> "Money":
        return Money(self.amount * Decimal(factor), self.currency)

    def split(self, parts: int) -> list["Money"]:
        """Split into ``parts`` amounts that sum exactly to this one (first parts get the extra cents)."""
        if parts <= 0:
            raise ValueError("parts must be positive")
        cents = int(self.amount / _CENT)
        base, remainder = divmod(cents, parts)
        return [Money(Decimal(base + (1 if i < remainder else 0)) * _CENT, self.currency) for i in range(parts)]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
