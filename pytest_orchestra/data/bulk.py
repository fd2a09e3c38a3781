"""``generate(schema, out_dir, size="1GB" | rows=..., format=..., seed=...)``: streamed bulk datasets.

Tables are written parents first, chunk by chunk: memory is bounded by one
chunk (plus small per-column pools), whatever the target size. Foreign keys
hold by construction (see ``dataset_plan``). A manifest (``orchestra-data.json``,
see ``formats``) records the schema, seed and row counts, so ``validate`` and
``load`` can read a folder without being told its schema.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional, TextIO, Union

from .chunks import CHUNK_ROWS
from .dataset_plan import DatasetPlan
from .errors import DataError
from .formats import MANIFEST, Manifest, check_format
from .schema import Schema
from .schema_sources import SchemaSource, resolve
from .writers import Writer, csv_text, jsonl_text

UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
SAMPLE_ROWS = 2_000


def parse_size(size: Union[str, int]) -> int:
    """Bytes from ``1GB`` (10^9), ``512MiB`` (2^20 units), ``1.5 GB`` or a plain integer."""
    if isinstance(size, int) and not isinstance(size, bool):
        if size <= 0:
            raise DataError(f"size: expected a positive size, got {size!r}")
        return size
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?i?B?)\s*", str(size), re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise DataError(f"size: expected a size like 500MB or 1GB, got {size!r}")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])


@dataclass
class GenerateResult:
    out_dir: Path
    format: str
    rows: Dict[str, int]
    bytes: int
    seconds: float
    seed: int
    files: Dict[str, Path] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return sum(self.rows.values()) / self.seconds if self.seconds else 0.0


def estimate_row_bytes(plan: DatasetPlan, fmt: str) -> Dict[str, float]:
    """Bytes per row of each table, from formatting a sample of its last rows (the longest ids)."""
    sizes: Dict[str, float] = {}
    for name, table_plan in plan.tables.items():
        stop = table_plan.rows
        start = max(0, stop - SAMPLE_ROWS)
        if stop == 0:
            sizes[name] = 0.0
            continue
        chunk = table_plan.chunk(start, stop)
        if fmt == "jsonl":
            text = jsonl_text(table_plan.table, chunk)
        else:
            text = csv_text(table_plan.table, chunk)
        sizes[name] = len(text.encode("utf-8")) / (stop - start)
    return sizes


def plan_for_size(schema: Schema, target: int, *, seed: int, fmt: str, profile: Optional[str] = None) -> DatasetPlan:
    """A plan whose output is about ``target`` bytes: estimate, scale, estimate again at scale."""
    plan = DatasetPlan(schema, seed=seed, profile=profile)
    first = schema.tables[0].name
    for _ in range(2):
        per_row = estimate_row_bytes(plan, fmt)
        total = sum(per_row[name] * table.rows for name, table in plan.tables.items())
        if total <= 0:
            raise DataError(f"{schema.name}: the schema produces no rows to size")
        rows = max(1, int(round(plan.tables[first].rows * target / total)))
        plan = DatasetPlan(schema, seed=seed, profile=profile, rows=rows)
    return plan


class Progress:
    """A one-line progress display on a terminal; silent otherwise."""

    def __init__(self, total_rows: int, label: str, stream: Optional[TextIO] = None, enabled: Optional[bool] = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = max(total_rows, 1)
        self.label = label
        self.started = time.perf_counter()
        self.last = 0.0

    def update(self, done: int, nbytes: int, *, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not final and now - self.last < 0.2:
            return
        self.last = now
        share = min(done / self.total, 1.0)
        bar = "#" * int(share * 30)
        end = "\n" if final else ""
        self.stream.write(f"\r{self.label} [{bar:<30}] {share:4.0%} {nbytes / 1e6:,.0f} MB {now - self.started:.1f}s{end}")
        self.stream.flush()


def generate(
    schema: SchemaSource,
    out_dir: Union[str, Path],
    *,
    size: Union[str, int, None] = None,
    rows: Union[int, Mapping[str, int], None] = None,
    format: str = "csv",
    seed: int = 0,
    profile: Optional[str] = None,
    progress: Optional[bool] = None,
) -> GenerateResult:
    """Write a dataset to ``out_dir`` (one file per table, or one .sqlite); returns what was written."""
    check_format(format)
    if size is not None and rows is not None:
        raise DataError("generate: pass size or rows, not both")
    resolved = resolve(schema)
    started = time.perf_counter()
    if size is not None:
        plan = plan_for_size(resolved, parse_size(size), seed=seed, fmt=format, profile=profile)
    else:
        plan = DatasetPlan(resolved, seed=seed, rows=rows, profile=profile)
    out = Path(out_dir)
    writer = Writer(resolved, out, format)
    total = sum(plan.row_counts.values())
    bar = Progress(total, f"{resolved.name}", enabled=progress)
    done = 0
    files: Dict[str, Path] = {}
    try:
        for name, table_plan in plan.tables.items():
            table = table_plan.table
            writer.begin(table)
            files[name] = writer.path(name)
            for start, stop in table_plan.ranges(CHUNK_ROWS):
                writer.write(table, table_plan.chunk(start, stop))
                done += stop - start
                bar.update(done, writer.bytes_written)
            writer.end(table)
    finally:
        writer.close()
    bar.update(total, writer.bytes_written, final=True)
    nbytes = sum(p.stat().st_size for p in set(files.values()))  # SQLite: one file for all tables
    manifest = Manifest(resolved, seed, format, plan.row_counts, plan.profile.name, nbytes)
    (out / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    return GenerateResult(out, format, plan.row_counts, nbytes, time.perf_counter() - started, seed, files)
