"""Resolving what users pass as a schema: a Schema, a dict, a workflow dataset name, or a YAML/JSON file.

The workflow's ``datasets:`` are registered here for the session (by the
plugin), so a bare name resolves inside pytest; outside pytest (scripts,
notebooks) a name is looked up in the workflow at the current directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Union, cast

from .errors import DataError
from .schema import Schema
from .schema_parser import parse_schema

SchemaSource = Union[Schema, Mapping[str, Any], str, Path]

#: The workflow's datasets (validated dicts by name), set by the plugin for the session.
_workflow_datasets: Dict[str, Mapping[str, Any]] = {}


def use_workflow_datasets(datasets: Optional[Mapping[str, Mapping[str, Any]]]) -> None:
    _workflow_datasets.clear()
    _workflow_datasets.update(datasets or {})


def resolve(source: SchemaSource, *, datasets: Optional[Mapping[str, Any]] = None) -> Schema:
    """A Schema from a Schema, a dict, a dataset name of the workflow, or a YAML/JSON file path."""
    if isinstance(source, Schema):
        return parse_schema(source, source.name)
    if isinstance(source, Mapping):
        return parse_schema(source)
    if isinstance(source, (str, Path)):
        known = dict(_workflow_datasets if datasets is None else datasets)
        if datasets is None and not known and isinstance(source, str) and not Path(source).suffix:
            known = _datasets_of_cwd_workflow()
        if isinstance(source, str) and source in known:
            return parse_schema(known[source], source)
        path = Path(source)
        if path.suffix.lower() in (".yaml", ".yml", ".json") and path.is_file():
            return load_schema_file(path)
        names = ", ".join(sorted(known)) or "none in the workflow"
        raise DataError(f"unknown dataset {str(source)!r} (datasets: {names}); pass a schema dict, a Schema or a YAML file")
    raise DataError(f"expected a dataset name, a schema dict or a Schema, got {type(source).__name__}")


def _datasets_of_cwd_workflow() -> Dict[str, Mapping[str, Any]]:
    """Outside pytest (scripts, notebooks): the datasets of the workflow at the current directory."""
    from pytest_orchestra.workflow import WorkflowError, load_workflow

    try:
        return dict(load_workflow(Path.cwd(), None).sections.get("datasets") or {})
    except WorkflowError as error:
        raise DataError(str(error)) from None


def load_schema_file(path: Path, name: Optional[str] = None) -> Schema:
    """A schema from YAML/JSON: either one schema, or a ``datasets:`` mapping (then ``name`` picks one)."""
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise DataError(f"{path}: cannot read schema: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise DataError(f"{path}: invalid YAML: {error}") from None
    if isinstance(raw, Mapping) and "datasets" in raw:
        datasets = raw["datasets"] or {}
        if name is None and len(datasets) == 1:
            name = next(iter(datasets))
        if name not in datasets:
            raise DataError(f"{path}: no dataset {name!r} (datasets: {', '.join(map(str, datasets))})")
        return parse_schema(datasets[name], cast(str, name))
    return parse_schema(raw, name or Path(path).stem)

