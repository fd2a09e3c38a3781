"""Providers by name: built-ins, the ``pytest_orchestra_environment_providers`` hook, entry points.

Plugins and conftests may replace a built-in (a name they return wins over
``postgres``); two plugins or packages claiming one name is an error.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any, Callable, Dict, Iterable, List, Mapping, Tuple

ENTRY_POINT_GROUP = "pytest_orchestra.providers"

REQUIRED_METHODS = ("provision", "check", "teardown")


class ProviderConflict(Exception):
    """A provider definition no run can use: duplicate names, missing methods."""


def _name_of(provider: Any, fallback: str) -> str:
    name = getattr(provider, "name", None)
    return name if isinstance(name, str) and name else fallback


def _validate(provider: Any, source: str) -> None:
    missing = [m for m in REQUIRED_METHODS if not callable(getattr(provider, m, None))]
    if missing:
        raise ProviderConflict(f"provider {_name_of(provider, '?')!r} from {source} lacks {', '.join(missing)}()")


def entry_point_providers(load: Callable[[], Iterable[Any]] | None = None) -> List[Tuple[str, Any]]:
    """``(source, provider)`` pairs from installed packages; a class is instantiated."""
    found: List[Tuple[str, Any]] = []
    points = load() if load is not None else metadata.entry_points(group=ENTRY_POINT_GROUP)
    for point in points:
        source = f"entry point {point.name!r} ({point.value})"
        try:
            obj = point.load()
        except Exception as exc:  # noqa: BLE001 - a broken package names itself
            raise ProviderConflict(f"{source} failed to load: {type(exc).__name__}: {exc}") from None
        if isinstance(obj, type):
            obj = obj()
        if getattr(obj, "name", None) in (None, ""):
            try:
                obj.name = point.name
            except AttributeError:  # pragma: no cover - slotted objects
                pass
        found.append((source, obj))
    return found


def collect_providers(
    builtins: Mapping[str, Any],
    hook_results: Iterable[Iterable[Any] | None],
    entry_points: Iterable[Tuple[str, Any]],
) -> Dict[str, Any]:
    providers: Dict[str, Any] = dict(builtins)
    sources: Dict[str, str] = {name: "built-in" for name in builtins}
    added: List[Tuple[str, Any]] = list(entry_points)
    for result in hook_results:
        for provider in result or ():
            added.append(("pytest_orchestra_environment_providers", provider))
    for source, provider in added:
        _validate(provider, source)
        name = _name_of(provider, "")
        if not name:
            raise ProviderConflict(f"a provider from {source} has no name")
        if name in sources and sources[name] != "built-in" and providers[name] is not provider:
            raise ProviderConflict(f"provider {name!r} is defined twice: by {sources[name]} and by {source}")
        providers[name] = provider
        sources[name] = source
    return providers
