"""ARCHITECTURE.md's pipeline table and the capability table in the code say the same thing."""

from __future__ import annotations

import re
from pathlib import Path

from pytest_orchestra.capabilities import CAPABILITIES, STAGES

ROOT = Path(__file__).resolve().parents[2]


def documented_rows() -> list[tuple[str, str]]:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    return [(stage, name) for stage, name in re.findall(r"^\| (\w+) \| `(\w+)` \|", text, flags=re.MULTILINE)]


def test_every_capability_is_documented_at_its_stage_in_pipeline_order() -> None:
    in_code = [(capability.stage, capability.name) for capability in CAPABILITIES]
    documented = documented_rows()

    assert sorted(documented) == sorted(in_code)
    assert [STAGES.index(stage) for stage, _ in documented] == sorted(STAGES.index(stage) for stage, _ in documented)


def test_the_code_table_is_in_pipeline_order() -> None:
    positions = [STAGES.index(capability.stage) for capability in CAPABILITIES]

    assert positions == sorted(positions)


def test_every_module_the_table_names_exists() -> None:
    import importlib

    for capability in CAPABILITIES:
        targets = [capability.register, capability.options, capability.settings]
        targets += [target for _, target in capability.sections]
        targets += [capability.command[1]] if capability.command else []
        for target in filter(None, targets):
            module, _, attribute = target.partition(":")
            assert hasattr(importlib.import_module(module), attribute), f"{capability.name}: {target}"
