"""Export of invoices to the accounting system."""

from __future__ import annotations

import json

from shop.billing import Invoice
from shop.billing.export import export_signed_invoice, invoice_document


def test_invoice_document_has_string_amounts(invoice: Invoice) -> None:
    document = invoice_document(invoice)
    assert document["total"] == "182.68"
    assert [line["sku"] for line in document["lines"]] == ["KB-101", "MS-220", "BK-007"]
    json.dumps(document)  # must be serialisable as is


def test_signed_invoice_export(invoice: Invoice) -> None:
    # DELIBERATE FAILURE (category: environment): signing needs the licence
    # file named by SHOP_LICENSE_FILE, which this host does not provide, so
    # shop.config.license_file() raises KeyError. The code and the test are fine.
    exported = json.loads(export_signed_invoice(invoice))
    assert len(exported["signature"]) == 64
