"""The runners section: schema, specs, placeholders, listing output and the results cache."""

from __future__ import annotations

import json

import pytest

from pytest_orchestra.runners.cases import CaseResult
from pytest_orchestra.runners.config import PlaceholderError, fill, placeholders, runner_specs
from pytest_orchestra.runners.listing import ResultsCache, parse_listing
from pytest_orchestra.workflow import Workflow, WorkflowError


def load(runners):
    return Workflow.from_dict({"runners": runners}, source="orchestra.yaml")


def test_a_full_runner_becomes_a_spec():
    workflow = load({
        "web-e2e": {"command": ["node", "--test", "--test-reporter-destination={report}"], "cwd": "web",
                    "format": "junit", "app": "web", "env": {"BASE_URL": "http://{role}.test", "N": 3},
                    "environments": ["shopdb"], "markers": ["critical"], "matrix": ["role"], "timeout": 90},
        "payments": {"command": ["dotnet", "test"], "format": "trx", "list": ["dotnet", "test", "--list-tests"],
                     "report": "TestResults/*.trx", "matrix": {"edition": ["lite", "pro"]}},
        "legacy": {"command": ["prove", "-r", "t/"], "format": "tap"},
    })
    specs = runner_specs(workflow.sections["runners"])
    web, payments, legacy = specs["web-e2e"], specs["payments"], specs["legacy"]
    assert web.cwd == "web" and web.app == "web" and web.timeout == 90
    assert web.env == {"BASE_URL": "http://{role}.test", "N": "3"}
    assert web.environments == ("shopdb",) and web.markers == ("critical",)
    assert web.matrix == {"role": None} and web.writes_report_file and web.report_extension == "xml"
    assert payments.matrix == {"edition": ("lite", "pro")} and payments.list == ("dotnet", "test", "--list-tests")
    assert payments.writes_report_file and payments.where == "runners.payments"
    assert legacy.cwd == "." and not legacy.writes_report_file and legacy.matrix == {}
    assert runner_specs(None) == {}


@pytest.mark.parametrize(
    "runner, message",
    [
        ({"command": [], "format": "junit"}, "runners.x.command: expected a non-empty list of strings"),
        ({"command": "node --test", "format": "junit"}, "runners.x.command: expected a non-empty list"),
        ({"command": ["node", 3], "format": "junit"}, "runners.x.command[1]: expected a non-empty string"),
        ({"command": ["node"], "format": "xunit"}, "runners.x.format: expected 'junit' or 'trx' or 'tap' or 'go-json'"),
        ({"command": ["node"]}, "runners.x.format: missing (a runner needs command and format)"),
        ({"command": ["node", "{reprot}"], "format": "junit"},
         "runners.x.command[1]: unknown placeholder {reprot} (known: {report}, {python}, {cwd}, {rootdir}, {runner})"),
        ({"command": ["node", "{role}"], "format": "junit", "matrix": ["edition"]}, "unknown placeholder {role}"),
        ({"command": ["x"], "format": "tap", "list": ["x", "{report}"]}, "runners.x.list[1]: unknown placeholder {report}"),
        ({"command": ["x"], "format": "tap", "env": {"A": "{nope}"}}, "runners.x.env.A: unknown placeholder {nope}"),
        ({"command": ["x"], "format": "tap", "timeout": 0}, "runners.x.timeout: expected a number of seconds > 0"),
        ({"command": ["x", "{report}"], "format": "tap", "report": "out.tap"}, "give either {report} in command or report"),
        ({"command": ["x"], "format": "tap", "matrix": "role"}, "runners.x.matrix: expected a list of matrix dimension"),
        ({"command": ["x"], "format": "tap", "timeot": 3}, "unknown key; did you mean 'timeout'?"),
    ],
)
def test_mistakes_are_named(runner, message):
    with pytest.raises(WorkflowError) as raised:
        load({"x": runner})
    if message:
        assert message in str(raised.value)


def test_bad_runner_name():
    with pytest.raises(WorkflowError, match="expected a runner name"):
        load({"-x": {"command": ["x"], "format": "tap"}})


def test_placeholders_and_fill():
    assert placeholders("a{report}b{{lit}}{role}") == ("report", "role")
    assert fill("trx;LogFileName={report}", {"report": "/r.trx"}) == "trx;LogFileName=/r.trx"
    assert fill('{{"json": 1}}', {}) == '{"json": 1}'
    with pytest.raises(PlaceholderError, match=r"unknown placeholder \{x\} \(known: \{a\}\)"):
        fill("{x}", {"a": "1"})


def test_parse_listing_of_dotnet_pytest_and_plain_names():
    dotnet = """Test run for /src/Payments.Tests.dll (.NETCoreApp,Version=v8.0)
Microsoft (R) Test Execution Command Line Tool Version 17.9.0 (x64)
Copyright (c) Microsoft Corporation.  All rights reserved.

The following Tests are available:
    Payments.Tests.RefundTests.Refund_IsPartial
    Payments.Tests.RefundTests.Refund_RejectsNegative
"""
    assert parse_listing(dotnet) == ["Payments.Tests.RefundTests.Refund_IsPartial",
                                     "Payments.Tests.RefundTests.Refund_RejectsNegative"]
    pytest_output = "test_legacy.py::test_ok\nsub/test_b.py::TestC::test_x[1]\n\n2 tests collected in 0.01s\n"
    assert parse_listing(pytest_output) == ["test_legacy.test_ok", "sub.test_b.TestC.test_x[1]"]
    assert parse_listing("adds\nadds\n\nWARNING: x\nnot.py::weird\n") == ["adds", "adds #2", "not.weird"]


def test_results_cache_round_trip_fallbacks_and_bad_files(tmp_path):
    cache = ResultsCache(tmp_path / "runners")
    assert cache.load("web") == {} and cache.cases_for("web", "") is None
    cache.save("web", "Guest", [CaseResult(id="adds", outcome="passed", file="a.js", line=3)])
    cache.save("web", "Admin", [CaseResult(id="subtracts", outcome="failed")])
    assert cache.cases_for("web", "Admin") == [{"id": "subtracts", "file": None, "line": None}]
    assert cache.cases_for("web", "new-cell") == [{"id": "adds", "file": "a.js", "line": 3}]
    for text in ("not json", json.dumps({"version": 99}), json.dumps({"version": 1, "cells": []})):
        cache.path("web").write_text(text)
        assert cache.load("web") == {}
    cache.path("web").write_text(json.dumps({"version": 1, "cells": {"": [{"id": 1}, {"id": "ok"}], "x": 3}}))
    assert cache.load("web") == {"": [{"id": "ok"}]}
