"""Failing reports of data tests: the seed section, and a ``data`` fact when setup failed on invalid data."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from pytest_orchestra.core import channel

from .errors import DataError

#: What a data fixture used (dataset, seeds, profile, path), stashed on the test item.
INFO_KEY = pytest.StashKey[Dict[str, Any]]()


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
