"""Export of invoices as signed documents for the accounting system."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Dict

from shop import config
from shop.billing.invoices import Invoice


def invoice_document(invoice: Invoice) -> Dict[str, Any]:
    """The invoice as the accounting system's JSON schema wants it."""
    return {
        "number": invoice.number,
        "customer": invoice.customer,
        "region": invoice.region,
        "currency": invoice.currency,
        "lines": [
            {"sku": line.sku, "quantity": line.quantity, "unit_price": str(line.unit_price.amount)}
            for line in invoice.lines
        ],
        "subtotal": str(invoice.subtotal.amount),
        "tax": str(invoice.tax.amount),
        "total": str(invoice.total.amount),
    }


def export_signed_invoice(invoice: Invoice) -> str:
    """The invoice document plus an HMAC made with the deployment's licence key."""
    key = config.license_file().read_bytes()
    document = json.dumps(invoice_document(invoice), sort_keys=True)
    signature = hmac.new(key, document.encode("utf-8"), hashlib.sha256).hexdigest()
    return json.dumps({"document": document, "signature": signature})
