"""The triage, retries and quarantine sections through Workflow.from_dict."""

from __future__ import annotations

import pytest

from pytest_orchestra.triage.schema import (
    quarantine_section_node,
    retries_section_node,
    triage_section_node,
)
from pytest_orchestra.triage.specs import (
    QuarantineSpec,
    RetriesSpec,
    RouteSpec,
    SinkSpec,
    TriageSpec,
    UserRule,
    quarantine_spec,
    retries_spec,
    triage_spec,
)
from pytest_orchestra.workflow import Workflow
from pytest_orchestra.workflow.errors import WorkflowError
from pytest_orchestra.workflow.sections import available_sections, register_section, unregister_section

EXAMPLE = {
    "triage": {
        "threshold": 0.6,
        "rules": [
            {"name": "pg-down", "category": "infrastructure", "exception": "psycopg.OperationalError",
             "message": "could not connect"},
        ],
        "sinks": {
            "failures-log": {"type": "jsonl", "path": ".orchestra/failures.jsonl"},
            "team-hook": {"type": "webhook", "url": "http://127.0.0.1:9999/hook",
                          "token_env": "TEAM_HOOK_TOKEN", "retries": 3},
            "issues": {"type": "github-issues", "repository": "acme/shop", "token_env": "GITHUB_TOKEN",
                       "url": "https://api.github.com"},
        },
        "routes": [
            {"categories": ["infrastructure", "environment"], "sinks": ["team-hook"]},
            {"categories": ["product"], "apps": ["billing"], "sinks": ["issues", "failures-log"]},
        ],
    },
    "retries": {"max": 2, "categories": ["infrastructure", "timeout"]},
    "quarantine": {"file": ".orchestra/quarantine.yaml", "auto": True, "flip_rate": 0.3,
                   "min_runs": 5, "expires_days": 14},
}


NODES = {"triage": triage_section_node, "retries": retries_section_node, "quarantine": quarantine_section_node}


@pytest.fixture(autouse=True)
def sections():
    # The workflow package may register these already; leave the registry as found.
    before = set(available_sections())
    for name, node in NODES.items():
        register_section(name, node())
    yield
    for name, node in NODES.items():
        if name in before:
            register_section(name, node())
        else:
            unregister_section(name)


def load(data):
    return Workflow.from_dict(data, source="orchestra.yaml")


def error(data) -> str:
    with pytest.raises(WorkflowError) as raised:
        load(data)
    return str(raised.value)


def test_example_workflow_builds_specs():
    sections = load(EXAMPLE).sections
    triage = triage_spec(sections["triage"])
    assert triage.rules == (
        UserRule(name="pg-down", category="infrastructure", exception=("psycopg.OperationalError",),
                 message="could not connect"),
    )
    assert triage.threshold == 0.6 and triage.model is None and triage.incident_min_tests == 5
    assert triage.sinks["team-hook"] == SinkSpec(
        name="team-hook", type="webhook", url="http://127.0.0.1:9999/hook", token_env="TEAM_HOOK_TOKEN", retries=3
    )
    assert triage.sinks["issues"].repository == "acme/shop"
    assert triage.routes[1] == RouteSpec(sinks=("issues", "failures-log"), categories=("product",), apps=("billing",))
    assert retries_spec(sections["retries"]) == RetriesSpec(max=2, categories=("infrastructure", "timeout"))
    assert quarantine_spec(sections["quarantine"]) == QuarantineSpec(auto=True)


def test_absent_sections_give_defaults():
    assert triage_spec(None) == TriageSpec()
    assert retries_spec(None) == RetriesSpec(max=0, categories=("infrastructure", "timeout"))
    assert quarantine_spec(None) == QuarantineSpec(".orchestra/quarantine.yaml", False, 0.3, 5, 14)


def test_empty_sections_give_defaults():
    sections = load({"triage": None, "retries": {}, "quarantine": None}).sections
    assert triage_spec(sections["triage"]) == TriageSpec()
    assert retries_spec(sections["retries"]) == RetriesSpec()
    assert quarantine_spec(sections["quarantine"]) == QuarantineSpec()


def test_single_values_read_as_lists_and_rule_fields_are_kept():
    data = {"triage": {"model": "models/m.json", "incident_min_tests": 2, "rules": [
        {"name": "ui", "category": "test", "paths": "tests/ui/*", "markers": "slow", "phase": "setup",
         "traceback": "selenium", "confidence": 0.7},
    ]}}
    triage = triage_spec(load(data).sections["triage"])
    assert triage.rules[0] == UserRule(name="ui", category="test", traceback="selenium", paths=("tests/ui/*",),
                                       markers=("slow",), phase=("setup",), confidence=0.7)
    assert (triage.model, triage.incident_min_tests) == ("models/m.json", 2)


def test_retries_all():
    assert retries_spec(load({"retries": {"max": 1, "categories": "all"}}).sections["retries"]).categories == ("all",)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"triage": {"rules": [{"name": "r", "category": "prodcut"}]}},
         "orchestra.yaml: triage.rules[0].category: expected one of product, test, infrastructure, environment,"
         " timeout, data, flaky, dependency, unknown, got 'prodcut'"),
        ({"triage": {"sinks": {"failures-log": {"type": "jsonl", "path": "f.jsonl"},
                               "team-hook": {"type": "webhook", "url": "http://x"}},
                     "routes": [{"sinks": ["team-hook"]}, {"sinks": ["slack"]}]}},
         "orchestra.yaml: triage.routes[1].sinks[0]: unknown sink 'slack' (declared: failures-log, team-hook)"),
        ({"triage": {"routes": [{"sinks": ["slack"]}]}},
         "orchestra.yaml: triage.routes[0].sinks[0]: unknown sink 'slack' (declared: none)"),
        ({"triage": {"rules": [{"name": "r", "category": "test", "message": "(unclosed"}]}},
         "orchestra.yaml: triage.rules[0].message: invalid regular expression: missing ), unterminated subpattern at position 0"),
        ({"triage": {"rules": [{"name": "r", "category": "test", "traceback": "[z-a]"}]}},
         "orchestra.yaml: triage.rules[0].traceback: invalid regular expression: bad character range z-a at position 1"),
        ({"triage": {"rules": [{"category": "test"}]}},
         "orchestra.yaml: triage.rules[0]: missing required key 'name'"),
        ({"triage": {"rules": [{"name": "r", "category": "test", "phase": "lunch"}]}},
         "orchestra.yaml: triage.rules[0].phase: expected one of collect, setup, call, teardown, crash, got 'lunch'"),
        ({"triage": {"rules": [{"name": "r", "category": "test", "confidence": 2}]}},
         "orchestra.yaml: triage.rules[0].confidence: expected a number between 0 and 1, got 2"),
        ({"triage": {"rules": [{"name": "r", "category": "test", "colour": "red"}]}},
         "orchestra.yaml: triage.rules[0].colour: unknown key (allowed: category, confidence, exception, markers,"
         " message, name, paths, phase, traceback)"),
        ({"triage": {"threshold": 1.5}},
         "orchestra.yaml: triage.threshold: expected a number between 0 and 1, got 1.5"),
        ({"triage": {"sinks": {"log": {"type": "carrier-pigeon"}}}},
         "orchestra.yaml: triage.sinks.log.type: expected one of jsonl, markdown, github, webhook, github-issues,"
         " got 'carrier-pigeon'"),
        ({"triage": {"sinks": {"log": {"path": "x"}}}},
         "orchestra.yaml: triage.sinks.log: missing required key 'type'"),
        ({"triage": {"sinks": {"log": {"type": "jsonl"}}}},
         "orchestra.yaml: triage.sinks.log: missing required key 'path' (a jsonl sink needs it)"),
        ({"triage": {"sinks": {"hook": {"type": "webhook"}}}},
         "orchestra.yaml: triage.sinks.hook: missing required key 'url' (a webhook sink needs it)"),
        ({"triage": {"sinks": {"gh": {"type": "github-issues", "repository": "acme/shop"}}}},
         "orchestra.yaml: triage.sinks.gh: missing required key 'token_env' (a github-issues sink needs it)"),
        ({"triage": {"sinks": {"gh": {"type": "github-issues", "repository": "acme", "token_env": "T"}}}},
         "orchestra.yaml: triage.sinks.gh.repository: expected a repository as owner/name, got 'acme'"),
        ({"triage": {"routes": [{"categories": ["product"]}]}},
         "orchestra.yaml: triage.routes[0]: missing required key 'sinks'"),
        ({"triage": {"routes": [{"sinks": []}]}},
         "orchestra.yaml: triage.routes[0].sinks: expected a non-empty list of sink names, got an empty list"),
        ({"retries": {"categories": "some"}},
         "orchestra.yaml: retries.categories: expected 'all' or a list of categories, got 'some'"),
        ({"retries": {"categories": ["infrastructure", "netwrok"]}},
         "orchestra.yaml: retries.categories[1]: expected one of product, test, infrastructure, environment,"
         " timeout, data, flaky, dependency, unknown, got 'netwrok'"),
        ({"retries": {"max": -1}}, "orchestra.yaml: retries.max: expected an integer >= 0, got -1"),
        ({"quarantine": {"flip_rate": 3}},
         "orchestra.yaml: quarantine.flip_rate: expected a number between 0 and 1, got 3"),
        ({"quarantine": {"min_runs": 0}}, "orchestra.yaml: quarantine.min_runs: expected an integer >= 1, got 0"),
        ({"quarantine": {"auto": "yes"}}, "orchestra.yaml: quarantine.auto: expected true or false, got 'yes'"),
    ],
)
def test_errors_name_the_key_and_the_problem(data, message):
    assert error(data) == message


def test_nodes_describe_themselves_as_json_schema():
    schema = triage_section_node().json_schema()
    assert schema["properties"]["threshold"]["default"] == 0.6
    rules = schema["properties"]["rules"]["items"]["properties"]
    assert rules["exception"]["oneOf"][1]["type"] == "string"
    assert retries_section_node().json_schema()["properties"]["categories"]["oneOf"][1] == {"const": "all"}
    assert quarantine_section_node().json_schema()["properties"]["auto"]["default"] is False
