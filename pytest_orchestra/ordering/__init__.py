"""Cross-app ordering, dependency skipping, hand-off and sharding.

``resolver`` orders the collected tests under ``@pytest.mark.after`` /
``@pytest.mark.requires`` and ``apps.*.depends_on``; ``outcomes`` decides
whether a dependent may run; ``handoff`` carries values between tests;
``sharding`` splits the suite across CI machines; ``scheduler`` keeps chains
on one xdist worker; ``plugin`` wires them into pytest.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: Public names -> their module; imported on first use, so loading the plugin stays cheap.
_EXPORTS = {
    "Handoff": "handoff",
    "HandoffError": "handoff",
    "OrderingError": "resolver",
    "Reference": "resolver",
    "Resolution": "resolver",
    "TestNode": "resolver",
    "Upstream": "resolver",
    "resolve": "resolver",
    "ShardError": "sharding",
    "ShardPlan": "sharding",
    "ShardRequest": "sharding",
    "parse_shard": "sharding",
    "plan_shards": "sharding",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
