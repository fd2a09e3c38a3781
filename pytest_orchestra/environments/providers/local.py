"""``local``: a private temp dir (0700), free ports and env vars."""

from __future__ import annotations

from pytest_orchestra.environments.config import EnvironmentSpec
from pytest_orchestra.environments.environment import Environment, ProvisionContext
from pytest_orchestra.environments.providers.placeholders import fill_env


class LocalProvider:
    name = "local"

    def provision(self, spec: EnvironmentSpec, context: ProvisionContext) -> Environment:
        ports = [context.reserve_port(spec.port)]
        ports += [context.reserve_port(None) for _ in range(spec.ports - 1)]
        env = Environment(
            spec.name, self.name, host="127.0.0.1", port=ports[0], path=context.private_dir,
            info={"ports": tuple(ports)},
        )
        env.env = fill_env(spec.env, env, context)
        return env

    def check(self, env: Environment) -> bool:
        return env.path is not None and env.path.is_dir()

    def teardown(self, env: Environment) -> None:
        """The lifecycle removes the private dir and releases the ports."""
