"""Running external programs (invoice renderers, converters)."""

from __future__ import annotations

import shutil
import subprocess


def run_tool(*command: str, timeout: float | None = None) -> str:
    result = subprocess.run(list(command), capture_output=True, text=True, check=True, timeout=timeout)
    return result.stdout


def find_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name}: command not found")
    return path
