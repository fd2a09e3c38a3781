"""The ground floor: plain records and the few services every capability may use.

Nothing here imports a capability (selection, triage, ordering...), the hub or
the report writers; everything above may import from here. Modules:

- ``records``: a run, its tests, the gate's verdict, the run's result;
- ``runinfo`` and ``codestate``: the run's id, git state, trigger, and the code it tested;
- ``channel``: the attributes that carry a test's facts from where it runs to the controller;
- ``categories``: the fixed vocabulary of failure categories;
- ``errors``: ``OrchestraError``, the root of every error the plugin raises for bad input;
- ``roles``: which part a process plays (plain, xdist controller, xdist worker);
- ``redaction``, ``files`` (atomic writes), ``marks`` (cheap marker reads);
- ``speed``: the measures that keep the plugin cheap where it is idle, with what each buys.
"""
