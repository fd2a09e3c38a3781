"""The measures that keep the plugin cheap where it is idle, in one place, with what each buys.

pytest imports the plugin on every run, also in a suite that uses none of its
features; the idle overhead target is 1.05× ``-p no:orchestra``
(``benchmarks/overhead.py``). Three measures hold it there.
``benchmarks/speed_measures.py`` turns each off in turn and counts, under
callgrind, the instructions of the same idle suite side by side; the figures
it gave are in ARCHITECTURE.md ("Speed") and benchmarks/README.md.

1. ``OwnSubmoduleFinder``: the plugin's modules load through Python's own
   path finder instead of pytest's assertion-rewriting importer. It has to be
   installed before the first submodule loads (this one included), so it is
   defined and installed in ``pytest_orchestra/__init__.py``.
2. :func:`lazy_exports`: a package's public names import their modules on
   first use, and the capability table (``capabilities.py``) names modules as
   ``"module:name"`` strings, so a capability that is off is never imported.
3. :func:`~pytest_orchestra.core.plainclass.plainclass`: dataclasses without
   generated source, for records defined at import and made a few times a run.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable, Mapping, MutableMapping, Optional


def lazy_exports(
    package: str, homes: Mapping[str, str], namespace: Optional[MutableMapping[str, Any]] = None
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each public name's module on first use.

    ``homes`` maps a public name to its module: relative to ``package``
    (``"config"`` or ``".config"``) or absolute (``"pytest_orchestra.core.records"``).
    With ``namespace`` (the package's ``globals()``), a name once loaded is kept
    there, so later reads do not come back here.
    """

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = home if home.startswith("pytest_orchestra") else f"{package}.{home.lstrip('.')}"
        value = getattr(import_module(module), name)
        if namespace is not None:
            namespace[name] = value
        return value

    return __getattr__
