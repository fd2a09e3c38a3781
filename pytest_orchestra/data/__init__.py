"""Test data: schemas, Hypothesis strategies, deterministic and bulk datasets, validation.

- :func:`strategy` - a Hypothesis strategy of whole datasets with referential integrity;
- :func:`sample` - a deterministic in-memory dataset for a seed;
- :func:`generate` - gigabyte datasets streamed to CSV, JSON Lines, Parquet or SQLite;
- :func:`validate` / :func:`read` - every violation of a dataset or its files;
- :func:`load` - into SQLite or PostgreSQL (COPY) with foreign keys enforced;
- :func:`edge_coverage` - which edge cases each column holds.

Every function takes a schema object, a dict of the same shape, or a dataset
name from the workflow's ``datasets:`` section.
"""

from __future__ import annotations

from typing import Any

from pytest_orchestra.core.speed import lazy_exports

from .errors import DataError

__all__ = [
    "Column",
    "DataCache",
    "DataError",
    "Dataset",
    "Profile",
    "Schema",
    "Table",
    "ValidationReport",
    "Violation",
    "edge_coverage",
    "generate",
    "load",
    "load_schema_file",
    "parse_schema",
    "read",
    "resolve",
    "sample",
    "strategy",
    "validate",
]

# numpy, Hypothesis and pyarrow load on first use: registering the plugin stays cheap.
_LAZY = {
    "Column": ".schema",
    "Profile": ".schema",
    "Schema": ".schema",
    "Table": ".schema",
    "load_schema_file": ".schema_sources",
    "parse_schema": ".schema_parser",
    "resolve": ".schema_sources",
    "DataCache": ".cache",
    "Dataset": ".sampling",
    "ValidationReport": ".validation_report",
    "Violation": ".checks",
    "generate": ".bulk",
    "load": ".loading",
    "read": ".validation",
    "sample": ".sampling",
    "strategy": ".strategies",
    "validate": ".validation",
}


def edge_coverage(dataset: Any, schema: Any = None) -> Any:
    """Per table and column: which applicable edge classes the dataset holds."""
    from .edges import edge_coverage as coverage
    from .schema_sources import resolve

    return coverage(dataset, resolve(schema if schema is not None else dataset.schema))


__getattr__ = lazy_exports(__name__, _LAZY, globals())
