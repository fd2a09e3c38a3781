"""Pytest wiring of test data: the ``dataset`` marker, fixtures, the run seed, failure facts.

- ``orchestra_dataset`` (function scope): the marked dataset, generated
  deterministically from the run seed and the test's nodeid (or read from
  ``path=`` files), validated first when asked;
- ``orchestra_dataset_files`` (function scope): a bulk dataset on disk, from
  the cache under ``.orchestra/data/``;
- ``orchestra_data`` (session scope): schemas, ``sample``, ``strategy``,
  ``validate`` and a session SQLite database reset per load, for ``@given``
  tests (a session fixture never trips Hypothesis' function-scoped check).

The run seed comes from ``--orchestra-data-seed`` (``random`` draws one on
the controller and hands it to xdist workers). Reports of tests that used a
dataset carry an "orchestra data" section with the seed; a dataset that fails
validation in setup puts a ``data`` fact on the report for triage.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

import pytest

from pytest_orchestra.core import channel
from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.core.plainclass import plainclass

from .errors import DataError

if TYPE_CHECKING:
    from pytest_orchestra.core.roles import ProcessRole
    from pytest_orchestra.settings import OrchestraSettings

    from .sampling import Dataset

SEED_KEY = pytest.StashKey[int]()
INFO_KEY = pytest.StashKey[Dict[str, Any]]()
MARKER_KEYS = ("rows", "profile", "seed", "validate", "path", "size", "format")


def _run_seed(config: pytest.Config) -> int:
    worker = getattr(config, "workerinput", None)
    if worker is not None and "orchestra_data_seed" in worker:
        return int(worker["orchestra_data_seed"])
    raw = config.getoption("orchestra_data_seed", None)
    if raw is None:
        raw = config.getini("orchestra_data_seed") or "0"
    if str(raw).strip().lower() == "random":
        return random.SystemRandom().randrange(2**31)
    try:
        return int(str(raw).strip())
    except ValueError:
        raise OrchestraError(f"--orchestra-data-seed: expected an integer or 'random', got {raw!r}") from None


def test_seed(run_seed: int, nodeid: str) -> int:
    """The seed of one test's dataset: the same on every worker, different per test."""
    return zlib.crc32(f"{run_seed}::{nodeid}".encode())


@plainclass(frozen=True)
class DatasetRequest:
    source: Any
    rows: Any = None
    profile: Optional[str] = None
    seed: Optional[int] = None
    validate: bool = False
    path: Optional[str] = None
    size: Any = None
    format: str = "csv"


def dataset_request(item: pytest.Item, datasets: Mapping[str, Any]) -> DatasetRequest:
    marker = item.get_closest_marker("dataset")
    args = marker.args if marker else ()
    kwargs = dict(marker.kwargs) if marker else {}
    unknown = sorted(set(kwargs) - set(MARKER_KEYS) - {"name_or_schema"})
    if unknown:
        # A mistake in the test, not in its data: no DataError (triage would call it 'data').
        pytest.fail(f"@pytest.mark.dataset: unknown argument {unknown[0]!r} (allowed: {', '.join(MARKER_KEYS)})", pytrace=False)
    source = args[0] if args else kwargs.pop("name_or_schema", None)
    if source is None:
        if len(datasets) == 1:
            source = next(iter(datasets))
        else:
            names = ", ".join(sorted(datasets)) or "none in the workflow"
            pytest.fail(f"{item.nodeid}: say which dataset with @pytest.mark.dataset(name) (datasets: {names})", pytrace=False)
    return DatasetRequest(source, **kwargs)


class DataSession:
    """The session's data helpers (fixture ``orchestra_data``)."""

    def __init__(self, config: pytest.Config, run_seed: int, rootdir: Path, cache_size: str, cache_dir: Optional[Path] = None) -> None:
        self.config = config
        self.seed = run_seed
        self.rootdir = rootdir
        self.cache_dir = cache_dir or rootdir / ".orchestra" / "data"
        self.cache_size = cache_size
        self._sqlite: Optional[sqlite3.Connection] = None

    @property
    def cache(self) -> Any:
        from .cache import DataCache

        return DataCache(self.cache_dir, max_bytes=self.cache_size)

    def schema(self, source: Any) -> Any:
        from .schema import resolve

        return resolve(source)

    def sample(self, source: Any, **kwargs: Any) -> "Dataset":
        from .sampling import sample

        kwargs.setdefault("seed", self.seed)
        return sample(source, **kwargs)

    def strategy(self, source: Any, **kwargs: Any) -> Any:
        from .strategies import strategy

        return strategy(source, **kwargs)

    def validate(self, source: Any, schema: Any = None, **kwargs: Any) -> Any:
        from .validation import validate

        return validate(source, schema, **kwargs)

    @property
    def sqlite(self) -> sqlite3.Connection:
        """One in-memory SQLite database for the session (foreign keys on)."""
        if self._sqlite is None:
            self._sqlite = sqlite3.connect(":memory:")
            self._sqlite.execute("PRAGMA foreign_keys=ON")
        return self._sqlite

    def load(self, dataset: Any, target: Any = None, *, schema: Any = None) -> Any:
        """Load into ``target``, or reset the session database and load there; returns the connection/target."""
        from .loading import load

        if target is None:
            target = self.sqlite
            resolved = self.schema(schema if schema is not None else dataset.schema)
            for table in reversed(resolved.tables):
                target.execute(f'DROP TABLE IF EXISTS "{table.name}"')
        load(dataset, target, schema=schema)
        return target

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None


class DataPlugin:
    """Fixtures and the run seed; cheap to register (nothing heavy is imported here)."""

    name = "orchestra-data"

    def __init__(self, config: pytest.Config, rootdir: Path, datasets: Mapping[str, Any], base_dir: Optional[Path] = None) -> None:
        self.config = config
        self.rootdir = rootdir
        #: Generated datasets live beside history and reports (workflow ``reports.dir``).
        self.cache_dir = (base_dir or rootdir / ".orchestra") / "data"
        self.datasets = datasets
        self.run_seed = _run_seed(config)
        config.stash[SEED_KEY] = self.run_seed
        self.cache_size = str(config.getini("orchestra_data_cache_size") or "2GB")

    def pytest_report_header(self, config: pytest.Config) -> Optional[str]:
        if self.datasets or config.getoption("orchestra_data_seed", None) is not None:
            return f"orchestra data: run seed {self.run_seed} (reproduce with --orchestra-data-seed={self.run_seed})"
        return None

    def in_use(self) -> "DataPlugin":
        """Called by each data fixture as it starts: from then on, failing reports carry the seed.

        The report hooks are registered by the first test that uses the data fixtures,
        before its setup report is made, so a suite without them pays nothing per test.
        """
        if not self.config.pluginmanager.has_plugin(DataReportHooks.name):
            self.config.pluginmanager.register(DataReportHooks(), DataReportHooks.name)
        return self

    def session_helpers(self) -> DataSession:
        return DataSession(self.config, self.run_seed, self.rootdir, self.cache_size, self.cache_dir)

    def dataset_for(self, request: pytest.FixtureRequest) -> "Dataset":
        wanted = dataset_request(request.node, self.datasets)
        seed = wanted.seed if wanted.seed is not None else test_seed(self.run_seed, request.node.nodeid)
        info = {"dataset": _label(wanted.source), "seed": seed, "run_seed": self.run_seed, "profile": wanted.profile or "default"}
        request.node.stash[INFO_KEY] = info
        if wanted.path is not None:
            from .validation import read

            info["path"] = str(wanted.path)
            return read(self.rootdir / wanted.path, wanted.source, format=None, check=True)
        from .sampling import sample

        dataset = sample(wanted.source, seed=seed, rows=wanted.rows, profile=wanted.profile)
        if wanted.validate:
            from .validation import validate

            report = validate(dataset)
            if not report.ok:
                raise DataError(report.first())
        return dataset

    def files_for(self, request: pytest.FixtureRequest) -> Any:
        wanted = dataset_request(request.node, self.datasets)
        from .schema import resolve

        schema = resolve(wanted.source)
        raw = self.datasets.get(wanted.source) if isinstance(wanted.source, str) else None
        seed = wanted.seed if wanted.seed is not None else int((raw or {}).get("seed", self.run_seed))
        info = {"dataset": schema.name, "seed": seed, "run_seed": self.run_seed, "profile": wanted.profile or "default"}
        request.node.stash[INFO_KEY] = info
        if wanted.path is not None:
            path = self.rootdir / wanted.path
            info["path"] = str(path)
            result: Any = path
        else:
            from .cache import DataCache

            cache = DataCache(self.cache_dir, max_bytes=self.cache_size)
            rows = None if wanted.size is not None else wanted.rows
            result = cache.get(schema, seed=seed, size=wanted.size, rows=rows, format=wanted.format, profile=wanted.profile)
            path = result.out_dir
            info["path"] = str(path)
        if wanted.validate or wanted.path is not None:
            from .validation import validate

            report = validate(path, schema)
            if not report.ok:
                raise DataError(report.first())
        return result


def _label(source: Any) -> str:
    if isinstance(source, str):
        return source
    return str(getattr(source, "name", None) or "dataset")


class DataReportHooks:
    """Puts the seed on failing reports of data tests, and a ``data`` fact on setup failures."""

    name = "orchestra-data-reports"

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
        report = yield
        if not report.failed:
            return report
        info = item.stash.get(INFO_KEY, None)
        if info is not None:
            text = (f"dataset {info['dataset']} (profile {info['profile']}) seed {info['seed']}; "
                    f"run seed {info['run_seed']}: rerun with --orchestra-data-seed={info['run_seed']}")
            if "path" in info:
                text += f"; data at {info['path']}"
            report.sections.append(("orchestra data", text))
        excinfo = call.excinfo
        if report.when == "setup" and excinfo is not None and excinfo.errisinstance(DataError):
            message = str(excinfo.value).splitlines()[0] if str(excinfo.value) else "invalid test data"
            channel.add_fact(report, "data", message)
        return report


class XdistHooks:
    """Hands the controller's run seed to every worker, so 'random' means one seed per run."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["orchestra_data_seed"] = self.seed


def register(config: pytest.Config, settings: "OrchestraSettings", role: "ProcessRole") -> None:
    """Register the data plugin; the workflow's datasets become resolvable by name."""
    datasets = dict(settings.workflow.sections.get("datasets") or {})
    if datasets or f"{__package__}.schema" in sys.modules:
        # The schema module holds the session's named datasets: set them, or clear what an
        # earlier session in this process (pytester) left there.
        from .schema import use_workflow_datasets

        use_workflow_datasets(datasets)
    plugin = DataPlugin(config, settings.rootdir, datasets, settings.base_dir)
    config.pluginmanager.register(plugin, DataPlugin.name)
    from . import fixtures

    if not config.pluginmanager.is_registered(fixtures):
        config.pluginmanager.register(fixtures, "orchestra-data-fixtures")
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(XdistHooks(plugin.run_seed), "orchestra-data-xdist")
