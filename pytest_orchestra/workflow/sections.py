"""The workflow file's sections: the registry, and a whole document checked against it.

The four sections of this version (apps, matrix, gates, reports) are built in
(:mod:`~pytest_orchestra.workflow.builtin_sections`). Later capabilities add
theirs with one call, ``register_section(name, node)``; names reserved for them
are rejected with "not available yet" until then. ``validate_document`` checks a
whole document against the registry and ``workflow_json_schema`` renders the
registry as JSON Schema.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from .builtin_sections import APPS, GATES, MATRIX, REPORTS
from .builtin_sections import find_cycle as find_cycle  # re-exported: other packages import it from here
from .errors import SchemaViolation, describe_value, unknown_key_error
from .schema import JsonSchema, Node

#: Sections later versions will bring; named here so a user gets a clear message.
RESERVED_SECTIONS: Tuple[str, ...] = (
    "environments",
    "datasets",
    "selection",
    "triage",
    "retries",
    "quarantine",
    "sharding",
    "plans",
    "runners",
)

BUILTIN_SECTIONS: Tuple[str, ...] = ("apps", "matrix", "gates", "reports")

FALLBACK_VERSION = "0.1.0"


def orchestra_version() -> str:
    """The installed version, for "not available in pytest-orchestra X yet"."""
    from importlib import metadata  # only needed on this error path

    try:
        return metadata.version("pytest-orchestra")
    except metadata.PackageNotFoundError:
        return FALLBACK_VERSION


# --- the registry -----------------------------------------------------------

_sections: Dict[str, Node] = {
    "apps": APPS,
    "matrix": MATRIX,
    "gates": GATES,
    "reports": REPORTS,
}


#: Sections whose node is built on first need: name -> "module:function" returning the node.
#: A run whose workflow does not use a capability never imports that capability's schema.
_lazy_sections: Dict[str, str] = {}

#: Every section in the order it was first registered, lazily or not: the JSON Schema lists
#: them in this order, whatever order earlier code in the process happened to build them in.
_registration_order: Dict[str, None] = dict.fromkeys(_sections)


def register_section(name: str, node: Node) -> None:
    """Make a top-level section available; its validated value lands in ``Workflow.sections``.

    Registering again replaces the node (plugins may be loaded more than once
    in one process, e.g. under pytester).
    """
    if name in BUILTIN_SECTIONS:
        raise ValueError(f"section {name!r} is built in and cannot be replaced")
    _lazy_sections.pop(name, None)
    _sections[name] = node
    _registration_order.setdefault(name, None)


def register_lazy_section(name: str, target: str) -> None:
    """Like :func:`register_section`, with the node built by ``"module:function"`` when first needed."""
    if name in BUILTIN_SECTIONS:
        raise ValueError(f"section {name!r} is built in and cannot be replaced")
    _sections.pop(name, None)
    _lazy_sections[name] = target
    _registration_order.setdefault(name, None)


def section_node(name: str) -> Optional[Node]:
    """The schema node of a registered section (built now if it was registered lazily), or None.

    How one capability's schema reuses another's section (a plan's ``retries``)
    without importing that capability.
    """
    node = _sections.get(name)
    if node is None and name in _lazy_sections:
        from importlib import import_module

        module, function = _lazy_sections[name].split(":")
        node = getattr(import_module(module), function)()
        register_section(name, node)
    return node


def unregister_section(name: str) -> None:
    if name in BUILTIN_SECTIONS:
        raise ValueError(f"section {name!r} is built in and cannot be removed")
    _sections.pop(name, None)
    _lazy_sections.pop(name, None)
    _registration_order.pop(name, None)


def available_sections() -> List[str]:
    return sorted(set(_sections) | set(_lazy_sections))


def validate_document(data: Any) -> Dict[str, Any]:
    """Validate a whole workflow document; returns validated sections by name.

    Raises :class:`SchemaViolation` for the first problem in document order.
    """
    if not isinstance(data, Mapping):
        raise SchemaViolation(
            "", f"expected a mapping of sections at the top level, got {describe_value(data)}"
        )
    result: Dict[str, Any] = {}
    for raw_name, value in data.items():
        name = str(raw_name)
        node = section_node(name) if isinstance(raw_name, str) else None
        if node is not None:
            result[name] = node.validate(value, name)
        elif name in RESERVED_SECTIONS:
            raise SchemaViolation(
                name,
                f"this section is not available in pytest-orchestra {orchestra_version()} yet"
                f" (available: {', '.join(available_sections())})",
            )
        else:
            raise unknown_key_error("", name, available_sections())
    return result


def workflow_json_schema() -> JsonSchema:
    """The registry as a Draft 2020-12 JSON Schema document."""
    for name in list(_lazy_sections):
        section_node(name)
    properties: JsonSchema = {name: _sections[name].json_schema() for name in _registration_order}
    for name in RESERVED_SECTIONS:
        if name not in properties:
            properties[name] = {
                "description": "Reserved for a later version: not available in pytest-orchestra yet.",
                "not": {},
            }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "pytest-orchestra workflow",
        "description": "orchestra.yaml, or [tool.orchestra] in pyproject.toml.",
        "type": ["object", "null"],
        "properties": properties,
        "additionalProperties": False,
    }
