"""Cross-app ordering, dependency skipping, hand-off and sharding.

``resolver`` orders the collected tests under ``@pytest.mark.after`` /
``@pytest.mark.requires`` and ``apps.*.depends_on``; ``outcomes`` decides
whether a dependent may run; ``handoff`` carries values between tests;
``sharding`` splits the suite across CI machines; ``scheduler`` keeps chains
on one xdist worker; ``plugin`` wires them into pytest.
"""

from __future__ import annotations

from pytest_orchestra.core.speed import lazy_exports

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


__getattr__ = lazy_exports(__name__, _EXPORTS)
