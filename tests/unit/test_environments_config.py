"""The environments section: validation, defaults, specs, conflicts; the provider registry."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from pytest_orchestra.environments.config import EnvironmentSpec, conflicts, environment_specs
from pytest_orchestra.environments.registry import ProviderConflict, collect_providers, entry_point_providers
from pytest_orchestra.workflow import Workflow, WorkflowError


def specs_of(section: Any) -> dict[str, EnvironmentSpec]:
    workflow = Workflow.from_dict({"environments": section}, source="orchestra.yaml")
    return environment_specs(workflow.sections["environments"])


def test_the_issue_example_validates_with_defaults() -> None:
    specs = specs_of({
        "shopdb": {"provider": "postgres", "scope": "session", "isolate": "test"},
        "payments": {"provider": "process", "command": ["python", "-m", "payments_stub", "--port", "{port}"],
                     "ready": {"http": "/health", "timeout": 10}, "scope": "module"},
        "workdir": {"provider": "local", "env": {"SHOP_MODE": "test"}},
    })
    assert specs["shopdb"].isolate == "test" and specs["shopdb"].retries == 2
    assert specs["payments"].ready.http == "/health" and specs["payments"].command[-1] == "{port}"
    assert specs["workdir"].env == {"SHOP_MODE": "test"} and specs["workdir"].scope == "session"
    assert specs["workdir"].label() == "workdir (local)"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"db": {"scope": "session"}}, "environments.db: missing required key 'provider'"),
        ({"db": {"provider": "process"}}, "environments.db: missing required key 'command'"),
        ({"db": {"provider": "local", "scope": "forever"}}, "environments.db.scope: expected one of session, module, test"),
        ({"db": {"provider": "local", "ready": {"http": "health"}}}, "environments.db.ready.http: expected a path"),
        ({"9db": {"provider": "local"}}, "expected an environment name"),
    ],
)
def test_bad_keys_name_the_path(section: Any, message: str) -> None:
    with pytest.raises(WorkflowError, match=message.replace(".", r"\.").replace("(", r"\(")):
        specs_of(section)


def test_conflicts_fixed_ports_and_scopes() -> None:
    specs = specs_of({
        "a": {"provider": "local", "port": 8080},
        "b": {"provider": "local", "port": 8080},
        "c": {"provider": "local", "port": 9090, "scope": "test"},
        "d": {"provider": "docker", "image": "redis", "port": 8080},
    })
    assert conflicts(specs) == [
        "environments.a.port and environments.b.port both claim port 8080",
        "environments.c.port: a fixed port needs scope: session (several test-scoped instances would collide on port 9090)",
    ]


class Fake:
    def __init__(self, name: str) -> None:
        self.name = name

    def provision(self, spec: Any, context: Any) -> Any: ...
    def check(self, env: Any) -> Any: ...
    def teardown(self, env: Any) -> None: ...


def test_plugins_add_and_replace_builtins_but_not_each_other() -> None:
    builtin, mine = Fake("postgres"), Fake("postgres")
    providers = collect_providers({"postgres": builtin}, [[mine], None, [Fake("redis")]], [])
    assert providers["postgres"] is mine and set(providers) == {"postgres", "redis"}
    with pytest.raises(ProviderConflict, match="provider 'redis' is defined twice"):
        collect_providers({}, [[Fake("redis")], [Fake("redis")]], [])
    with pytest.raises(ProviderConflict, match="lacks provision"):
        collect_providers({}, [[SimpleNamespace(name="x", check=print, teardown=print)]], [])
    with pytest.raises(ProviderConflict, match="has no name"):
        collect_providers({}, [[Fake("")]], [])


def test_entry_points_are_loaded_and_classes_instantiated() -> None:
    class Loaded:
        name = ""

        def provision(self, spec: Any, context: Any) -> Any: ...
        def check(self, env: Any) -> Any: ...
        def teardown(self, env: Any) -> None: ...

    point = SimpleNamespace(name="vault", value="pkg:Loaded", load=lambda: Loaded)
    (source, provider), = entry_point_providers(lambda: [point])
    assert provider.name == "vault" and "vault" in source

    def broken() -> Any:
        raise ImportError("no module named pkg")

    with pytest.raises(ProviderConflict, match="failed to load: ImportError"):
        entry_point_providers(lambda: [SimpleNamespace(name="bad", value="pkg:x", load=broken)])
    assert isinstance(entry_point_providers(), list)  # the real group loads


def test_captured_output_of_old_runs_is_pruned(tmp_path: Any) -> None:
    import os

    from pytest_orchestra.environments.plugin import prune_logs

    for index in range(7):
        run = tmp_path / f"run{index}"
        run.mkdir()
        os.utime(run, (index, index))
    prune_logs(tmp_path, keep=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run2", "run3", "run4", "run5", "run6"]
    prune_logs(tmp_path / "missing")
