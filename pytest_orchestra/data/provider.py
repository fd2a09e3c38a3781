"""The data plugin object: the run seed in the header, and the work behind each data fixture.

``fixtures`` asks it for the marked dataset (generated, or read from ``path=``
files, validated when asked), for a bulk dataset on disk (from the cache), and
for the session helpers; the first data fixture of a run registers the report hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional

import pytest

from .errors import DataError
from .seeds import SEED_KEY, run_seed, test_seed

if TYPE_CHECKING:
    from .sampling import Dataset
    from .session import DataSession


class DataPlugin:
    """Fixtures and the run seed; cheap to register (nothing heavy is imported here)."""

    name = "orchestra-data"

    def __init__(self, config: pytest.Config, rootdir: Path, datasets: Mapping[str, Any], base_dir: Optional[Path] = None) -> None:
        self.config = config
        self.rootdir = rootdir
        #: Generated datasets live beside history and reports (workflow ``reports.dir``).
        self.cache_dir = (base_dir or rootdir / ".orchestra") / "data"
        self.datasets = datasets
        self.run_seed = run_seed(config)
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
        from .report_hooks import DataReportHooks

        if not self.config.pluginmanager.has_plugin(DataReportHooks.name):
            self.config.pluginmanager.register(DataReportHooks(), DataReportHooks.name)
        return self

    def session_helpers(self) -> "DataSession":
        from .session import DataSession

        return DataSession(self.config, self.run_seed, self.rootdir, self.cache_size, self.cache_dir)

    def dataset_for(self, request: pytest.FixtureRequest) -> "Dataset":
        from .marker import dataset_request
        from .report_hooks import INFO_KEY

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
        from .marker import dataset_request
        from .report_hooks import INFO_KEY

        wanted = dataset_request(request.node, self.datasets)
        from .schema_sources import resolve

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
