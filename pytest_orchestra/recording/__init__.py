"""The run's hub: it folds reports into records, keeps the history, judges the gate and writes the reports.

Registered only in the process that sees every report (no xdist, or the xdist
controller). ``hub.RunHub`` is the plugin object; ``folding`` turns a test's
phase reports into one record; ``gates`` evaluates the quality gate;
``terminal`` writes the few ``orchestra:`` lines that end the output.
"""
