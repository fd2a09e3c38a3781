"""The idle-overhead measures of core/speed.py, from a user's side: names load on first use."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from pytest_orchestra.core.speed import lazy_exports


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_a_package_imports_a_public_names_module_only_when_the_name_is_used() -> None:
    out = run_python(
        "import sys, pytest_orchestra.ordering as o\n"
        "print('pytest_orchestra.ordering.sharding' in sys.modules)\n"
        "o.parse_shard\n"
        "print('pytest_orchestra.ordering.sharding' in sys.modules)\n"
    )

    assert out.split() == ["False", "True"]


def test_the_plugins_submodules_bypass_the_rewriting_importer() -> None:
    out = run_python(
        "import sys, pytest_orchestra\n"
        "print(sum(getattr(f, '__name__', '') == 'OwnSubmoduleFinder' for f in sys.meta_path))\n"
    )

    assert out == "1"


def test_an_unknown_name_is_an_attribute_error_naming_the_package() -> None:
    module = types.ModuleType("pytest_orchestra.example")
    module.__getattr__ = lazy_exports("pytest_orchestra.example", {"OrchestraError": "pytest_orchestra.core.errors"})  # type: ignore[method-assign]

    with pytest.raises(AttributeError, match="module 'pytest_orchestra.example' has no attribute 'nope'"):
        module.nope  # noqa: B018 -- the attribute access is what raises
    from pytest_orchestra.core.errors import OrchestraError

    assert module.OrchestraError is OrchestraError


def test_a_loaded_name_is_kept_in_the_namespace_when_asked() -> None:
    namespace: dict = {}
    load = lazy_exports("pytest_orchestra.core", {"ProcessRole": "roles"}, namespace)

    role = load("ProcessRole")

    assert namespace == {"ProcessRole": role}
    assert role.__module__ == "pytest_orchestra.core.roles"
