"""Filling ``{port}``-style placeholders of commands and env vars."""

from __future__ import annotations

import sys
from typing import Any, Dict, Mapping, Sequence

from pytest_orchestra.environments.environment import Environment, ProvisionContext

#: Command names that mean "the Python running pytest" (a venv may have no ``python``).
PYTHON_NAMES = frozenset({"python", "python3"})


def values_of(env: Environment, context: ProvisionContext) -> Dict[str, Any]:
    values: Dict[str, Any] = {"name": env.name, "worker": context.worker, "python": sys.executable}
    values.update({k: v for k, v in env.attributes().items() if isinstance(v, (str, int, float)) or k == "path"})
    return values


def fill_env(spec_env: Mapping[str, str], env: Environment, context: ProvisionContext) -> Dict[str, str]:
    values = values_of(env, context)
    return {name: context.fill(value, values) for name, value in spec_env.items()}


def fill_command(command: Sequence[str], env: Environment, context: ProvisionContext) -> list[str]:
    values = values_of(env, context)
    filled = [context.fill(part, values) for part in command]
    if filled and filled[0] in PYTHON_NAMES:
        filled[0] = sys.executable
    return filled
