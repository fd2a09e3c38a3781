"""How generated values are held: chunks of a column's rows, and their typed Python values.

A :class:`Chunk` holds one column's values for a range of rows as a numpy array
(ints, scaled decimals, day ordinals and epoch seconds as int64) or a list
(strings, choices), with a null mask. :func:`to_internal` and :func:`to_python`
convert between typed Python values and that representation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, List, Optional

import numpy as np

from .schema import Column

#: Rows per chunk: values are drawn per chunk, so this is part of what a seed means.
CHUNK_ROWS = 65_536
EPOCH = dt.datetime(1970, 1, 1)


@dataclass
class Chunk:
    """One column's values for rows [start, stop): an array or list, and a null mask."""

    values: Any
    nulls: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.values)


def to_internal(column: Column, value: Any) -> Any:
    """A typed Python value in the chunk representation of its column."""
    if value is None:
        return None
    if column.type == "decimal":
        return int(Decimal(value).scaleb(column.scale).to_integral_value())
    if column.type == "date":
        return value.toordinal()
    if column.type == "datetime":
        return int((value - EPOCH).total_seconds())
    return value


def to_python(column: Column, chunk: Chunk) -> List[Any]:
    """Chunk values as typed Python values (int, float, Decimal, date, datetime, str, dict...)."""
    raw = chunk.values.tolist() if isinstance(chunk.values, np.ndarray) else list(chunk.values)
    kind = column.type
    if kind == "decimal":
        scale = column.scale
        raw = [Decimal(v).scaleb(-scale) for v in raw]
    elif kind == "date":
        raw = [dt.date.fromordinal(v) for v in raw]
    elif kind == "datetime":
        raw = [EPOCH + dt.timedelta(seconds=v) for v in raw]
    elif kind == "json":
        import json

        raw = [json.loads(v) for v in raw]
    if chunk.nulls is not None and chunk.nulls.any():
        for i in np.flatnonzero(chunk.nulls).tolist():
            raw[i] = None
    return raw
