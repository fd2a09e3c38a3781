"""``sqlite``: a database file per scope instance; ``isolate: test`` copies it per test."""

from __future__ import annotations

import itertools
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from pytest_orchestra.environments.config import EnvironmentSpec
from pytest_orchestra.environments.environment import (
    Environment,
    ProvisionContext,
    ProvisionError,
)
from pytest_orchestra.environments.providers.placeholders import fill_env


def _connect(env: Environment, **kwargs: Any) -> sqlite3.Connection:
    return sqlite3.connect(env.info["database"], **kwargs)


class SqliteProvider:
    name = "sqlite"

    def __init__(self) -> None:
        self._copies = itertools.count(1)

    def provision(self, spec: EnvironmentSpec, context: ProvisionContext) -> Environment:
        database = context.private_dir / f"{spec.name}.sqlite3"
        connection = sqlite3.connect(database)
        try:
            if spec.schema:
                schema = context.rootdir / spec.schema
                try:
                    script = schema.read_text(encoding="utf-8")
                except OSError as exc:
                    raise ProvisionError(
                        f"cannot read {spec.where}.schema {spec.schema!r}: {exc.strerror}", retry=False
                    ) from None
                try:
                    connection.executescript(script)
                except sqlite3.Error as exc:
                    raise ProvisionError(f"{spec.schema}: {exc}", retry=False) from None
            connection.commit()
        finally:
            connection.close()
        return self._environment(spec.name, database, spec, context)

    def _environment(self, name: str, database: Path, spec: EnvironmentSpec, context: ProvisionContext) -> Environment:
        env = Environment(name, self.name, dsn=f"sqlite:///{database}", path=database.parent,
                          info={"database": database, "connector": _connect})
        env.env = fill_env(spec.env, env, context)
        return env

    def isolate(self, env: Environment, context: ProvisionContext) -> Environment:
        source: Path = env.info["database"]
        copy = source.with_name(f"{source.stem}-{next(self._copies)}.sqlite3")
        shutil.copyfile(source, copy)
        return self._environment(env.name, copy, context.spec, context)

    def release(self, env: Environment) -> None:
        Path(env.info["database"]).unlink(missing_ok=True)

    def check(self, env: Environment) -> bool:
        return Path(env.info["database"]).is_file()

    def teardown(self, env: Environment) -> None:
        """The lifecycle removes the private dir holding the file."""
