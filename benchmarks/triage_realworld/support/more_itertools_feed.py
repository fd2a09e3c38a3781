"""A small NDJSON feed client for the more_itertools cases (copied to tests/feed_client.py).

It streams newline-delimited JSON records over HTTP with urllib and groups them with
more_itertools, the way an ingestion job batches rows before writing them.
"""

import json
import urllib.request

import more_itertools as mi


def iter_records(url, timeout=5.0):
    request = urllib.request.Request(url, headers={"Accept": "application/x-ndjson"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        for raw in response:
            line = raw.strip()
            if line:
                yield json.loads(line)


def batched_records(url, size, timeout=5.0):
    """Lists of at most *size* records, in feed order."""
    return mi.chunked(iter_records(url, timeout=timeout), size)
