"""Deployment configuration read from the environment.

The shop is configured the twelve-factor way: everything that differs between
deployments comes from environment variables, read at the moment it is needed.
"""

from __future__ import annotations

import os
from pathlib import Path


def license_file() -> Path:
    """The path of the signing licence, which every deployment must provide.

    Deliberately strict: a missing variable is a misconfigured host, and
    falling back to a default would sign invoices with the wrong key.
    """
    return Path(os.environ["SHOP_LICENSE_FILE"])


def warehouse_url(default: str = "http://127.0.0.1:8400") -> str:
    """Base URL of the warehouse stock service (a sidecar in production)."""
    return os.environ.get("SHOP_WAREHOUSE_URL", default).rstrip("/")
