"""VAT rates per region and per product class."""

from __future__ import annotations

from decimal import Decimal
from typing import Mapping

from shop.billing.money import Money

#: Standard and reduced VAT rates by region.
TAX_RATES: Mapping[str, Mapping[str, Decimal]] = {
    "DE": {"standard": Decimal("0.19"), "reduced": Decimal("0.07")},
    "FR": {"standard": Decimal("0.20"), "reduced": Decimal("0.055")},
    "NL": {"standard": Decimal("0.21"), "reduced": Decimal("0.09")},
}

#: Product classes taxed at the reduced rate.
REDUCED_CLASSES = frozenset({"books", "food"})


def rate_for(region: str, product_class: str = "general") -> Decimal:
    try:
        rates = TAX_RATES[region]
    except KeyError:
        raise ValueError(f"no tax rates for region {region!r}") from None
    return rates["reduced" if product_class in REDUCED_CLASSES else "standard"]


def tax_for(net: Money, region: str, product_class: str = "general") -> Money:
    return net.times(rate_for(region, product_class))
