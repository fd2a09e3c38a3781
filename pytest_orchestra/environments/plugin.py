"""Pytest wiring of environments: the ``env`` marker, the ``orchestra_env`` fixture, teardown.

Registered by :func:`register_environments` only when the workflow declares
environments (otherwise a tiny guard turns ``@pytest.mark.env`` into a clear
error). Two plugin objects:

- :class:`EnvironmentRunner` where tests run (the single process, or each
  xdist worker): provisions through the lifecycle before a test's fixtures,
  sets its env vars for the test only, tears down by scope, and puts the
  failure's category (``environment`` / ``infrastructure``) and the
  environment events on the reports;
- :class:`EnvironmentsController` on the controller: hands workers the run's
  key and secret, gathers events into ``summary.json``, moves captured
  output into the report dir, and reaps what crashed workers left.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Generator, List, Optional, Tuple

import pytest

from pytest_orchestra.core import channel
from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.core.redaction import Redactor, is_secret_name
from pytest_orchestra.environments.config import (
    EnvironmentSpec,
    conflicts,
    environment_specs,
)
from pytest_orchestra.environments.environment import (
    Environment,
    EnvironmentProblem,
    EnvironmentUnavailable,
)
from pytest_orchestra.environments.markers import marked_names

if TYPE_CHECKING:
    from pytest_orchestra.core.roles import ProcessRole

    # Imported where used: a run without environments never loads the machinery.
    from pytest_orchestra.environments.lifecycle import EnvironmentLifecycle
    from pytest_orchestra.settings import OrchestraSettings



RUN_KEY = "orchestra_env_run"
PASSWORD_KEY = "orchestra_env_password"


class EnvironmentAccess:
    """What ``orchestra_env`` gives a test: ``orchestra_env["shopdb"]`` or ``orchestra_env("shopdb")``."""

    def __init__(self, runner: "EnvironmentRunner", item: pytest.Item) -> None:
        self._runner = runner
        self._item = item

    def __call__(self, name: str) -> Environment:
        return self._runner.environment_for(self._item, name)

    def __getitem__(self, name: str) -> Environment:
        return self._runner.environment_for(self._item, name)

    def __contains__(self, name: object) -> bool:
        return name in self._runner.acquired.get(self._item.nodeid, {})

    def __repr__(self) -> str:
        names = ", ".join(self._runner.acquired.get(self._item.nodeid, {})) or "none yet"
        return f"<orchestra_env of {self._item.nodeid}: {names}>"


def module_id(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


class EnvironmentRunner:
    def __init__(self, lifecycle: "EnvironmentLifecycle", redactor: Redactor) -> None:
        self.lifecycle = lifecycle
        self.redactor = redactor
        self.acquired: Dict[str, Dict[str, Environment]] = {}
        self._facts: Dict[str, Tuple[str, str]] = {}
        self._saved_env: Dict[str, Dict[str, Optional[str]]] = {}
        self._events_sent = 0
        self._closed = False
        atexit.register(self.close)

    # --- session ---------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.lifecycle.start()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # Before the recorder writes reports: services' output is complete when it is copied.
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.lifecycle.close()

    # --- tests -----------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.acquired[item.nodeid] = {}
        for name in marked_names(item):
            self.environment_for(item, name)

    def environment_for(self, item: pytest.Item, name: str) -> Environment:
        have = self.acquired.setdefault(item.nodeid, {})
        if name in have:
            return have[name]
        specs = self.lifecycle.specs
        if name not in specs:
            declared = ", ".join(sorted(specs)) or "none"
            pytest.fail(f"unknown environment {name!r} (declared in the workflow: {declared})", pytrace=False)
        problem: Optional[EnvironmentProblem] = None
        try:
            acquired = self.lifecycle.acquire(name, test_id=item.nodeid, module_id=module_id(item))
        except EnvironmentProblem as exc:
            problem = exc
        # Outside the except block, so the report shows one message, not a chained traceback.
        if isinstance(problem, EnvironmentUnavailable):
            pytest.skip(str(problem))
        if problem is not None:
            self._facts[item.nodeid] = (problem.category, str(problem))
            pytest.fail(str(problem), pytrace=False)
        if acquired.reprovisioned:
            self._facts[item.nodeid] = ("infrastructure", acquired.reprovisioned)
        env = acquired.env
        self.redactor.add(list(env.secrets) + [v for k, v in env.env.items() if is_secret_name(k)])
        self._apply_env(item.nodeid, env.env)
        have[name] = env
        return env

    def _apply_env(self, nodeid: str, variables: Dict[str, str]) -> None:
        saved = self._saved_env.setdefault(nodeid, {})
        for key, value in variables.items():
            if key not in saved:
                saved[key] = os.environ.get(key)
            os.environ[key] = value

    def _restore_env(self, nodeid: str) -> None:
        for key, value in self._saved_env.pop(nodeid, {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    @pytest.fixture
    def orchestra_env(self, request: pytest.FixtureRequest) -> EnvironmentAccess:
        """The test's environments: ``orchestra_env["shopdb"].dsn`` or ``orchestra_env("shopdb")``."""
        return EnvironmentAccess(self, request.node)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: Optional[pytest.Item]) -> Generator[None, Any, None]:
        yield
        self._restore_env(item.nodeid)
        self.acquired.pop(item.nodeid, None)
        self.lifecycle.release_test(item.nodeid)
        if nextitem is None or module_id(nextitem) != module_id(item):
            self.lifecycle.end_module(module_id(item))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
        outcome = yield
        report = outcome.get_result()
        fact = self._facts.get(item.nodeid)
        if fact is not None and report.failed:
            category, message = fact
            channel.add_fact(report, category, message)
        if call.when == "teardown":
            self._facts.pop(item.nodeid, None)
            events = self.lifecycle.events[self._events_sent:]
            if events:
                self._events_sent = len(self.lifecycle.events)
                channel.write(report, channel.ENVIRONMENT_EVENTS, [self.redactor.redact_data(e.as_dict()) for e in events])


class EnvironmentsController:
    def __init__(self, run_key: str, password: str, state_dir: Path, runtime_dir: Path, redactor: Redactor) -> None:
        self.run_key = run_key
        self.password = password
        self.state_dir = state_dir
        self.runtime_dir = runtime_dir
        self.redactor = redactor
        self.events: List[Dict[str, Any]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        events = channel.read(report, channel.ENVIRONMENT_EVENTS)
        if events:
            self.events.extend(events)

    def pytest_orchestra_report_sections(self, config: pytest.Config, result: Any) -> List[Any]:
        """summary.json's ``environments`` (provisioning and health events) and the services' logs."""
        from pytest_orchestra.core.records import ReportSection

        files = []
        logs = self.state_dir / "logs" / self.run_key
        if logs.is_dir():
            for log in sorted(logs.iterdir()):
                files.append((f"environments/{log.name}", log.read_text(encoding="utf-8", errors="replace")))
            shutil.rmtree(logs, ignore_errors=True)
        if not self.events and not files:
            return []
        return [ReportSection("environments", {"events": list(self.events)} if self.events else None,
                              files=tuple(files))]

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # Workers are gone by now: whatever a crashed one held has no live owner.
        from pytest_orchestra.environments.leases import LeaseBook

        LeaseBook(self.state_dir, self.runtime_dir / "ports").reap()
        for lock in (self.state_dir / "leases").glob(f"*{self.run_key}*.lock"):
            lock.unlink(missing_ok=True)
        prune_logs(self.state_dir / "logs")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        shown = [e for e in self.events if e.get("kind") in ("reprovisioned", "provision_failed")]
        if not shown:
            return
        terminalreporter.write_sep("-", "orchestra environments")
        seen = set()
        for event in shown:
            label = f"{event['environment']} ({event['provider']}): "
            reason = event["reason"]
            line = f"{event['kind']}: {reason if reason.startswith(label) else label + reason}"
            if line not in seen:
                seen.add(line)
                terminalreporter.write_line(line)


#: Runs whose captured output stays in .orchestra/environments/logs when no report took it.
KEEP_LOG_RUNS = 5


def prune_logs(root: Path, keep: int = KEEP_LOG_RUNS) -> None:
    """Without reports (records off), output stays under ``logs/<run>``: keep the newest runs only."""
    if not root.is_dir():
        return
    runs = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)


class XdistEnvironmentHooks:
    """Gives each xdist worker the run's key and secret (registered only with xdist)."""

    def __init__(self, run_key: str, password: str) -> None:
        self.run_key = run_key
        self.password = password

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[RUN_KEY] = self.run_key
        node.workerinput[PASSWORD_KEY] = self.password


def _providers(config: pytest.Config) -> Dict[str, Any]:
    from pytest_orchestra.environments.providers import builtin_providers
    from pytest_orchestra.environments.registry import (
        ProviderConflict,
        collect_providers,
        entry_point_providers,
    )

    try:
        return collect_providers(
            builtin_providers(),
            config.hook.pytest_orchestra_environment_providers(config=config),
            entry_point_providers(),
        )
    except ProviderConflict as exc:
        raise OrchestraError(f"environments: {exc}") from None


def configure_problems(specs: Dict[str, EnvironmentSpec], providers: Dict[str, Any], source: str) -> List[str]:
    problems: List[str] = []
    for spec in specs.values():
        if spec.provider not in providers:
            problems.append(f"{spec.where}.provider: unknown provider {spec.provider!r}"
                            f" (available: {', '.join(sorted(providers))})")
            continue
        checker = getattr(providers[spec.provider], "check_spec", None)
        if checker is not None:
            problems.extend(checker(spec))
        if spec.isolate == "test" and not callable(getattr(providers[spec.provider], "isolate", None)):
            problems.append(f"{spec.where}.isolate: provider {spec.provider!r} cannot isolate per test")
    problems.extend(conflicts(specs))
    return [f"{source}: {problem}" for problem in problems]


def register_environments(config: pytest.Config, settings: "OrchestraSettings", role: "ProcessRole") -> None:
    """Register the plugin objects where they have work (see the module docstring)."""
    runs_tests, is_controller = role.runs_tests, role.records
    specs = environment_specs(settings.workflow.sections.get("environments"))
    if not specs:
        if runs_tests:
            from pytest_orchestra.environments.markers import UndeclaredEnvironments

            config.pluginmanager.register(UndeclaredEnvironments(config.pluginmanager), "orchestra-environments")
        return
    providers = _providers(config)
    problems = configure_problems(specs, providers, settings.workflow.source or "workflow")
    if problems:
        raise OrchestraError("\n".join(problems))
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and RUN_KEY in workerinput:
        run_key, password = workerinput[RUN_KEY], workerinput[PASSWORD_KEY]
    else:
        run_key, password = uuid.uuid4().hex[:12], secrets.token_urlsafe(18)
    worker = workerinput.get("workerid", "main") if workerinput is not None else "main"
    redactor = settings.redactor
    redactor.add([password] + [v for s in specs.values() for k, v in s.env.items() if is_secret_name(k)])
    state_dir = settings.base_dir / "environments"
    from pytest_orchestra.environments.lifecycle import (
        EnvironmentLifecycle,
        default_runtime_dir,
    )

    runtime_dir = default_runtime_dir()
    if is_controller:
        config.pluginmanager.register(
            EnvironmentsController(run_key, password, state_dir, runtime_dir, redactor), "orchestra-environments-controller"
        )
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(XdistEnvironmentHooks(run_key, password), "orchestra-environments-xdist")
    if runs_tests:
        lifecycle = EnvironmentLifecycle(
            specs, providers, rootdir=settings.rootdir, state_dir=state_dir, runtime_dir=runtime_dir,
            log_dir=state_dir / "logs" / run_key, worker=worker, run_key=run_key, password=password,
            on_secret=lambda value: redactor.add([value]),
        )
        config.pluginmanager.register(EnvironmentRunner(lifecycle, redactor), "orchestra-environments")
