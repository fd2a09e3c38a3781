"""The fixed vocabulary of failure categories (``shared/TRIAGE-TAXONOMY.md``).

Defined here, on the ground floor, so that whoever filters, routes, reports or
plans by category (reruns filter by it, plans gate on it) need not import triage.
"""

from __future__ import annotations

#: Every category, in the order reports list them.
CATEGORIES: tuple[str, ...] = (
    "product",
    "test",
    "infrastructure",
    "environment",
    "timeout",
    "data",
    "flaky",
    "dependency",
    "unknown",
)
