"""Stock keeping (with planted bugs)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Item:
    sku: str
    name: str
    stock: int


@dataclass
class Inventory:
    items: dict[str, Item] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)

    def add(self, item: Item) -> None:
        self.items[item.sku] = item

    def find(self, sku: str) -> Item | None:
        return self.items.get(sku)

    def reserve(self, sku: str, quantity: int) -> bool:
        item = self.items[sku]
        # Bug: allows reserving more than the stock.
        item.stock -= quantity
        return True

    def last_change(self) -> str:
        return self.history[-1]

    def restock(self, sku: str, quantity: int) -> None:
        self.items[sku].stok += quantity  # typo inside product code

    def summary(self) -> dict[str, int]:
        # Bug: forgets the "total" key the API promises.
        return {sku: item.stock for sku, item in self.items.items()}

    def names(self) -> list[str]:
        return sorted(item.name for item in self.items.values()) + [None]  # type: ignore[list-item]
