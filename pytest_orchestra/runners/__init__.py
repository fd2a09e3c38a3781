"""Foreign runners: suites run by other tools (node --test, dotnet test, prove, go test,
a nested pytest) whose test cases become pytest items.

The workflow's ``runners`` section declares them (:mod:`.config`); one module
per report format reads their results (:mod:`.parsers`); :mod:`.execution`
runs a suite once per matrix cell per session; :mod:`.plugin` makes the items.
:mod:`.bdd` maps pytest-bdd's Gherkin tags onto the plugin's markers.
"""

from __future__ import annotations

from pytest_orchestra.runners.cases import CaseResult, ParsedReport, ReportError
from pytest_orchestra.runners.config import (
    FORMATS,
    RunnerSpec,
    runner_specs,
    runners_section_node,
)
from pytest_orchestra.runners.parsers import parse_report

__all__ = [
    "FORMATS",
    "CaseResult",
    "ParsedReport",
    "ReportError",
    "RunnerSpec",
    "parse_report",
    "runner_specs",
    "runners_section_node",
]
