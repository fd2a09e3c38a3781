"""The workflow file: one document describing a QA workflow, validated at startup.

Load it with :func:`load_workflow` (file rules) or :meth:`Workflow.from_dict`
(from Python); both raise :class:`WorkflowError` with a one-line message naming
the file, the key path and what was expected. Later capabilities add their own
top-level section with :func:`register_section`.
"""

from __future__ import annotations

from .errors import WorkflowError
from .loader import load_workflow
from .model import (
    AppSpec,
    ExcludeRule,
    GatesSpec,
    GithubReportsSpec,
    MatrixSpec,
    ReportsSpec,
    Workflow,
)
from .sections import (
    RESERVED_SECTIONS,
    available_sections,
    register_lazy_section,
    register_section,
    unregister_section,
    workflow_json_schema,
)

__all__ = [
    "AppSpec",
    "ExcludeRule",
    "GatesSpec",
    "GithubReportsSpec",
    "MatrixSpec",
    "RESERVED_SECTIONS",
    "ReportsSpec",
    "Workflow",
    "WorkflowError",
    "available_sections",
    "load_workflow",
    "register_lazy_section",
    "register_section",
    "unregister_section",
    "workflow_json_schema",
]


def _register_capability_sections() -> None:
    """Every capability's sections (the table in :mod:`pytest_orchestra.capabilities`), so every loader knows them.

    Lazily: a capability's schema module is imported only when a document
    uses its section (or the JSON Schema is written).
    """
    from pytest_orchestra.capabilities import sections

    for name, target in sections():
        register_lazy_section(name, target)


_register_capability_sections()
