"""The one channel from where a test runs to the controller: attributes on its reports.

Under xdist a worker serializes each report as it is logged, and the
controller rebuilds it: plain attributes set on a report before it is logged
travel with it (Hypothesis attaches its statistics the same way). Every fact a
capability hands the controller about a test goes this way, under one of the
names below, so readers and writers agree on the spelling and the shape.

=============================  ======================================  ==================
attribute                      holds                                   set by
=============================  ======================================  ==================
``orchestra``                  the item's tags: ``app``, ``matrix``    tagging
                               cell and tracked ``markers``
``orchestra_evidence``         the failing exception reduced to data   triage (evidence)
``orchestra_markers``          the failing item's marker names         triage (evidence)
``orchestra_context``          ``{category: fact}`` other capabilities ordering, data,
                               know about the failure                  environments, runners
``orchestra_attempt``          this report's attempt (retries)         triage (retries)
``orchestra_attempts``         the final attempt's number              triage (retries)
``orchestra_passed_on_retry``  the test passed on a later attempt      triage (retries)
``orchestra_environment_events`` provisioning and health events        environments
``orchestra_runner_run``       a foreign suite's run summary           runners
``orchestra_runner_artifacts`` a foreign suite's report files          runners
=============================  ======================================  ==================
"""

from __future__ import annotations

from typing import Any, Dict, Optional

TAGS = "orchestra"
EVIDENCE = "orchestra_evidence"
MARKERS = "orchestra_markers"
CONTEXT = "orchestra_context"
ATTEMPT = "orchestra_attempt"
ATTEMPTS = "orchestra_attempts"
PASSED_ON_RETRY = "orchestra_passed_on_retry"
ENVIRONMENT_EVENTS = "orchestra_environment_events"
RUNNER_RUN = "orchestra_runner_run"
RUNNER_ARTIFACTS = "orchestra_runner_artifacts"

#: Every attribute of the channel.
ATTRIBUTES = (TAGS, EVIDENCE, MARKERS, CONTEXT, ATTEMPT, ATTEMPTS, PASSED_ON_RETRY, ENVIRONMENT_EVENTS,
              RUNNER_RUN, RUNNER_ARTIFACTS)


def read(report: Any, attribute: str, default: Any = None) -> Any:
    """A channel attribute of ``report`` (or ``default``)."""
    return getattr(report, attribute, default)


def write(report: Any, attribute: str, value: Any) -> None:
    """Set a channel attribute on ``report`` (before it is logged, so that xdist carries it)."""
    setattr(report, attribute, value)


def context(report: Any) -> Dict[str, str]:
    """The facts other capabilities handed triage about this failure, ``{category: fact}`` (a copy)."""
    return dict(getattr(report, CONTEXT, None) or {})


def add_fact(report: Any, category: str, fact: str) -> None:
    """Tell triage that this failure is ``category`` because of ``fact`` (replacing an earlier fact of it)."""
    facts = context(report)
    facts[category] = fact
    setattr(report, CONTEXT, facts)


def fact(report: Any, category: str) -> Optional[str]:
    """The fact of ``category`` on ``report``, if one was handed over."""
    return (getattr(report, CONTEXT, None) or {}).get(category)
