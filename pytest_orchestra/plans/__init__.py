"""Plans and reruns from history.

A *plan* is a named pipeline context of the workflow file (``plans:``): which
tests run (change-based selection, markers, ``-k``, apps, a matrix subset),
with which retries and which gate, and which matrix cells and tests must have
run before a release. It is chosen with ``--orchestra-plan NAME`` or from the
CI event (``plans.on``). ``--orchestra-rerun[=RUN]`` reruns the failed tests of
a past run from ``.orchestra/history.db``, with that run's plan.

Modules: ``config`` (schema and frozen specs), ``resolve`` (which plan, the
effective settings), ``coverage`` (required cells and must-pass tests),
``rerun`` (picking tests from history), ``markdown`` (report.md sections),
``options`` (command-line options, imported on every start) and ``plugin``
(pytest wiring). Nothing here is imported on a run without plans or flags.
"""
