"""Checking one batch of a column: vectorized with pyarrow when every value passes, else value by value.

:func:`check_values` is the reference: each value goes through
``checks.check_value``, each problem becomes a violation with its row. The
vectorized path (:func:`check_arrow_batch`) converts and range-checks a whole
Arrow column at once, and hands a batch with any doubtful value to
:func:`check_values`, so it only ever skips values ``checks`` would accept.
"""

from __future__ import annotations

from typing import Any, List, Sequence

from .checks import BadValue, check_value
from .formats import arrow_type
from .key_checks import KeyCollector
from .schema import Column, Table
from .validation_report import ValidationReport


def check_values(table: Table, column: Column, values: Sequence[Any], offset: int, report: ValidationReport, keys: KeyCollector) -> None:
    """Each value through ``checks.check_value``: a violation per bad value, the typed values to the keys."""
    typed: List[Any] = []
    append = typed.append
    for number, value in enumerate(values, offset + 1):
        try:
            append(check_value(column, value))
        except BadValue as bad:
            report.add(bad.kind, table.name, number, column.name, bad.message)
            append(None)
    keys.add(table.name, column.name, "py", typed, offset)


def check_arrow_batch(table: Table, batch: Any, offset: int, report: ValidationReport, keys: KeyCollector) -> None:
    """Each column of an Arrow batch: kept vectorized when every value passes, else checked value by value."""
    names = batch.schema.names
    for column in table.columns:
        if column.name not in names:
            continue
        array = batch.column(names.index(column.name))
        converted = _arrow_fast(column, array)
        if converted is None:
            values = array.to_pylist()
            check_values(table, column, values, offset, report, keys)
        else:
            keys.add(table.name, column.name, "arrow", converted, offset)


def _arrow_fast(column: Column, array: Any) -> Any:
    """The converted array when every value passes; None when some value needs a closer look."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.type in ("json",) or (column.regex is not None) or (column.type == "decimal" and pa.types.is_floating(array.type)):
        return None
    if array.null_count and not column.nullable:
        return None
    target = arrow_type(column)
    try:
        if column.type == "choices":
            if not pa.types.is_string(array.type):
                return None
            allowed = pa.array([str(c) for c in column.choices])
            if pc.all(pc.is_in(array.drop_null(), value_set=allowed)).as_py() not in (True, None):
                return None
            return None if any(not isinstance(c, str) for c in column.choices) else array
        if column.type == "bool" and pa.types.is_string(array.type):
            lowered = pc.utf8_lower(array)
            if pc.all(pc.is_in(lowered.drop_null(), value_set=pa.array(sorted(_BOOL_TEXT)))).as_py() not in (True, None):
                return None
            return _bool_array(lowered, array)
        if column.type == "bool" and not pa.types.is_boolean(array.type):
            return None
        if column.type == "date" and pa.types.is_string(array.type):
            if pc.all(pc.match_substring_regex(array.drop_null(), r"^\d{4}-\d{2}-\d{2}$")).as_py() not in (True, None):
                return None
        if column.type == "datetime" and pa.types.is_string(array.type):
            if pc.all(pc.match_substring_regex(array.drop_null(), r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}$")).as_py() not in (True, None):
                return None
        converted = array if array.type == target else pc.cast(array, target)
    except (pa.ArrowException, ValueError):
        return None
    if target == pa.string():
        if column.type == "uuid":
            pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
        elif column.type == "email":
            pattern = r"^[^@\s]+@[^@\s]+$"
        else:
            pattern = None
        values = converted.drop_null()
        if pattern is not None and len(values) and not pc.all(pc.match_substring_regex(values, pattern)).as_py():
            return None
        if column.length is not None and len(values):
            lengths = pc.min_max(pc.utf8_length(values)).as_py()
            if lengths["min"] < column.length[0] or lengths["max"] > column.length[1]:
                return None
        if column.type == "uuid":
            return pc.utf8_lower(converted)
        return converted
    if column.min is not None or column.max is not None:
        bounds = pc.min_max(converted).as_py()
        if bounds["min"] is not None:
            if column.min is not None and bounds["min"] < column.min:
                return None
            if column.max is not None and bounds["max"] > column.max:
                return None
    return converted


_TRUE_TEXT = {"true", "1", "t", "yes"}
_BOOL_TEXT = _TRUE_TEXT | {"false", "0", "f", "no"}


def _bool_array(lowered: Any, original: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    truth = pc.is_in(lowered, value_set=pa.array(sorted(_TRUE_TEXT)))
    return pc.if_else(pc.is_null(original), pa.scalar(None, pa.bool_()), truth)
