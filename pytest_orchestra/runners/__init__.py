"""Foreign runners: suites run by other tools (node --test, dotnet test, prove, go test,
a nested pytest) whose test cases become pytest items.

The workflow's ``runners`` section declares them (:mod:`.config`); one module
per report format reads their results (:mod:`.parsers`); :mod:`.execution`
runs a suite once per matrix cell per session; :mod:`.plugin` makes the items.
:mod:`.bdd` maps pytest-bdd's Gherkin tags onto the plugin's markers, through
:mod:`.gherkin`'s stand-in registered whenever pytest-bdd is loaded.

Importing the package is cheap (pytest-bdd being installed imports
``.gherkin`` at every start): its names load on first use.
"""

from __future__ import annotations

from pytest_orchestra.core.speed import lazy_exports

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

_HOMES = {
    "CaseResult": "cases",
    "ParsedReport": "cases",
    "ReportError": "cases",
    "FORMATS": "config",
    "RunnerSpec": "config",
    "runner_specs": "config",
    "runners_section_node": "config",
    "parse_report": "parsers",
}


__getattr__ = lazy_exports(__name__, _HOMES)
