"""The measures that keep the plugin cheap where it is idle, in one place, with what each buys.

pytest imports the plugin on every run, also in a suite that uses none of its
features; the idle overhead target is 1.05× ``-p no:orchestra``
(``benchmarks/overhead.py``). Three measures hold it there.
``benchmarks/speed_measures.py`` turns each off in turn and counts, under
callgrind, the instructions of the same idle suite side by side; the figures
it gave are in ARCHITECTURE.md ("Speed") and benchmarks/README.md.

1. :class:`OwnSubmoduleFinder` (installed by ``pytest_orchestra/__init__.py``):
   the plugin's modules load through Python's own path finder instead of
   pytest's assertion-rewriting importer.
2. :func:`lazy_exports`: a package's public names import their modules on
   first use, and the capability table (``capabilities.py``) names modules as
   ``"module:name"`` strings, so a capability that is off is never imported.
3. :func:`~pytest_orchestra.core.plainclass.plainclass`: dataclasses without
   generated source, for records defined at import and made a few times a run.
"""

from __future__ import annotations

import sys
from importlib import import_module
from importlib.machinery import PathFinder
from typing import Any, Callable, Mapping, MutableMapping, Optional, Sequence


class OwnSubmoduleFinder:
    """Imports this package's submodules with Python's own loader, ahead of pytest's.

    pytest marks every package that provides a ``pytest11`` plugin for
    assertion rewriting, so each of its submodules loads through pytest's
    rewriting importer: a second path search, then its own ``.pyc`` read back
    with ``marshal.load`` from a file object, which reads in small pieces.
    The plugin's modules hold no test assertions to rewrite, and loading them
    that way cost more than everything the plugin does in a passing run of a
    few hundred tests. This finder hands ``pytest_orchestra.*`` to the
    standard path finder (the usual ``__pycache__``) and leaves every other
    module alone.
    """

    _prefix = "pytest_orchestra."

    @classmethod
    def find_spec(cls, name: str, path: Optional[Sequence[str]] = None, target: Any = None) -> Any:
        if not name.startswith(cls._prefix):
            return None
        return PathFinder.find_spec(name, path, target)

    @classmethod
    def install(cls) -> None:
        if not any(getattr(finder, "__name__", None) == cls.__name__ for finder in sys.meta_path):
            sys.meta_path.insert(0, cls)  # type: ignore[arg-type]


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
