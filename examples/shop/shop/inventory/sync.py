"""Stock feeds from suppliers, produced by their exporter programs.

Suppliers ship a command-line exporter that prints ``SKU,quantity`` lines; we
run it as a subprocess with a deadline so a hung exporter cannot stall the sync.
"""

from __future__ import annotations

import subprocess
from typing import Dict, Sequence


def parse_feed(text: str) -> Dict[str, int]:
    """``SKU,quantity`` lines to a mapping; blank lines and ``#`` comments are ignored."""
    stock: Dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        sku, sep, quantity = line.partition(",")
        if not sep or not sku.strip():
            raise ValueError(f"line {number}: expected SKU,quantity, got {raw!r}")
        stock[sku.strip()] = stock.get(sku.strip(), 0) + int(quantity)
    return stock


def run_exporter(command: Sequence[str], timeout: float = 30.0) -> Dict[str, int]:
    """Run a supplier exporter and parse what it prints.

    ``subprocess.TimeoutExpired`` propagates on purpose: the scheduler retries
    the whole sync later, and a partial feed must never be applied.
    """
    completed = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, check=True)
    return parse_feed(completed.stdout)
