"""Failures because a test or a wait ran out of its time budget."""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from shop import jobs, tools, waiting

timeout = pytest.mark.expect_category("timeout")


@timeout
@pytest.mark.timeout(0.3)
def test_pytest_timeout_sleep():
    time.sleep(2)


@timeout
@pytest.mark.timeout(0.3)
def test_pytest_timeout_busy_loop():
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        pass


@timeout
@pytest.mark.timeout(0.3)
def test_pytest_timeout_event_wait():
    threading.Event().wait(2)


@timeout
@pytest.mark.timeout(0.3)
def test_pytest_timeout_in_product_code():
    jobs.slow_report(2)


@timeout
def test_subprocess_timeout():
    subprocess.run([sys.executable, "-c", "import time; time.sleep(3)"], timeout=0.3)


@timeout
def test_product_tool_timeout():
    tools.run_tool("sleep", "3", timeout=0.2)


@timeout
def test_future_result_timeout():
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(time.sleep, 0.4).result(timeout=0.05)
    finally:
        pool.shutdown(wait=False)


@timeout
def test_product_job_timeout():
    assert jobs.run_report(timeout=0.05) == "done"


@timeout
def test_asyncio_wait_for_timeout():
    async def main():
        await asyncio.wait_for(asyncio.sleep(1), timeout=0.05)

    asyncio.run(main())


@timeout
def test_asyncio_timeout_context():
    async def main():
        async with asyncio.timeout(0.05):
            await asyncio.sleep(1)

    asyncio.run(main())


@timeout
def test_multiprocessing_result_timeout():
    with multiprocessing.get_context("fork").Pool(1) as pool:
        pool.apply_async(time.sleep, (1,)).get(timeout=0.1)


@timeout
def test_queue_get_timeout():
    events: queue.Queue[str] = queue.Queue()
    events.get(timeout=0.05)


@timeout
def test_product_wait_until_deadline():
    waiting.wait_until(lambda: False, timeout=0.1)


@timeout
def test_thread_join_deadline():
    worker = threading.Thread(target=time.sleep, args=(0.5,), daemon=True)
    worker.start()
    worker.join(0.05)
    assert not worker.is_alive(), "export worker still running after 0.05s"


@timeout
def test_polling_helper_gives_up():
    def shipped():
        return False

    deadline = time.monotonic() + 0.1
    while not shipped():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the order to ship")
        time.sleep(0.01)


@timeout
def test_lock_acquire_timeout():
    lock = threading.Lock()
    lock.acquire()
    if not lock.acquire(timeout=0.05):
        raise TimeoutError("could not acquire the stock lock")
