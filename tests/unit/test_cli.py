"""``python -m pytest_orchestra``: the command dispatcher."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pytest_orchestra.__main__ import main


def test_schema_command_prints_the_shipped_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "gates" in schema["properties"]


def test_usage_and_unknown_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: python -m pytest_orchestra COMMAND" in capsys.readouterr().out
    assert main(["--help"]) == 0
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_runs_as_a_module() -> None:
    proc = subprocess.run([sys.executable, "-m", "pytest_orchestra", "schema"], capture_output=True, text=True)
    assert proc.returncode == 0 and "gates" in json.loads(proc.stdout)["properties"]
