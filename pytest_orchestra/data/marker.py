"""The ``dataset`` marker: which dataset a test asks for, and how (rows, profile, seed, files...)."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import pytest

from pytest_orchestra.core.plainclass import plainclass

MARKER_KEYS = ("rows", "profile", "seed", "validate", "path", "size", "format")


@plainclass(frozen=True)
class DatasetRequest:
    source: Any
    rows: Any = None
    profile: Optional[str] = None
    seed: Optional[int] = None
    validate: bool = False
    path: Optional[str] = None
    size: Any = None
    format: str = "csv"


def dataset_request(item: pytest.Item, datasets: Mapping[str, Any]) -> DatasetRequest:
    marker = item.get_closest_marker("dataset")
    args = marker.args if marker else ()
    kwargs = dict(marker.kwargs) if marker else {}
    unknown = sorted(set(kwargs) - set(MARKER_KEYS) - {"name_or_schema"})
    if unknown:
        # A mistake in the test, not in its data: no DataError (triage would call it 'data').
        pytest.fail(f"@pytest.mark.dataset: unknown argument {unknown[0]!r} (allowed: {', '.join(MARKER_KEYS)})", pytrace=False)
    source = args[0] if args else kwargs.pop("name_or_schema", None)
    if source is None:
        if len(datasets) == 1:
            source = next(iter(datasets))
        else:
            names = ", ".join(sorted(datasets)) or "none in the workflow"
            pytest.fail(f"{item.nodeid}: say which dataset with @pytest.mark.dataset(name) (datasets: {names})", pytrace=False)
    return DatasetRequest(source, **kwargs)
