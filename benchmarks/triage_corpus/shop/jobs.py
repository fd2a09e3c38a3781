"""Background jobs of the shop."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor


def slow_report(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


def run_report(timeout: float) -> str:
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(slow_report, 0.5).result(timeout=timeout)
    finally:
        pool.shutdown(wait=False)
