"""The workflow file: one document describing a QA workflow, validated at startup.

Load it with :func:`load_workflow` (file rules) or :meth:`Workflow.from_dict`
(from Python); both raise :class:`WorkflowError` with a one-line message naming
the file, the key path and what was expected. Later capabilities add their own
top-level section with :func:`register_section`.
"""

from __future__ import annotations

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
from .schema import WorkflowError
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
    """Sections of the capabilities that have landed, so every loader knows them.

    Lazily: a capability's schema module is imported only when a document
    uses its section (or the JSON Schema is written).
    """
    for name, target in (
        ("triage", "pytest_orchestra.triage.config:triage_section_node"),
        ("retries", "pytest_orchestra.triage.config:retries_section_node"),
        ("quarantine", "pytest_orchestra.triage.config:quarantine_section_node"),
        ("environments", "pytest_orchestra.environments.config:environments_section_node"),
        ("datasets", "pytest_orchestra.data.config:datasets_section_node"),
        ("ordering", "pytest_orchestra.ordering.config:ordering_section_node"),
        ("sharding", "pytest_orchestra.ordering.config:sharding_section_node"),
        ("runners", "pytest_orchestra.runners.config:runners_section_node"),
        ("selection", "pytest_orchestra.selection.config:selection_section_node"),
        ("plans", "pytest_orchestra.plans.config:plans_section_node"),
        ("history", "pytest_orchestra.history.config:history_section_node"),
    ):
        register_lazy_section(name, target)


_register_capability_sections()
