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
    "register_section",
    "unregister_section",
    "workflow_json_schema",
]


def _register_capability_sections() -> None:
    """Sections of the capabilities that have landed, so every loader knows them.

    Imported here rather than in ``sections`` because the capabilities' nodes
    are built with this package's schema language.
    """
    from pytest_orchestra.triage.config import (
        quarantine_section_node,
        retries_section_node,
        triage_section_node,
    )

    register_section("triage", triage_section_node())
    register_section("retries", retries_section_node())
    register_section("quarantine", quarantine_section_node())

    from pytest_orchestra.environments.config import environments_section_node

    register_section("environments", environments_section_node())

    from pytest_orchestra.ordering.config import ordering_section_node, sharding_section_node

    register_section("ordering", ordering_section_node())
    register_section("sharding", sharding_section_node())

    from pytest_orchestra.data.config import datasets_section_node

    register_section("datasets", datasets_section_node())


_register_capability_sections()
