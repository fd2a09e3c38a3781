"""``environment``: the machine or its configuration is not set up for the test.

Missing modules, programs, environment variables and configuration files;
locales and time zones; shared libraries; versions that do not meet a
requirement, said by a class (``VersionConflict``) or by a message ("requires
foo>=2.0, found 1.3"); a program that a fixture runs failing to start or to
run. A missing module of the project itself is the test's mistake, not the
machine's, and is decided here too because the same exception carries both.
"""

from __future__ import annotations

import re

from pytest_orchestra.triage.rules.facts import (
    Facts,
    because,
    in_test_tree,
    path_has,
    path_parts,
    rx,
)
from pytest_orchestra.triage.rules.rule import Rule
from pytest_orchestra.triage.rules.vocabulary import (
    MISSING_DEPENDENCY,
    VERSION_REQUIREMENT,
    says_version_in_type,
)

MISSING_MODULE = re.compile(r"No module named '([^']+)'")
CANNOT_IMPORT = re.compile(r"cannot import name '[^']+' from '([^']+)'")
MISSING_EXECUTABLE = rx(
    r"(executable|command|program|binary|tool|utility)\b[^\n]*\bnot (be )?found|not (found )?(on|in) (the )?PATH"
    r"|command not found|exit status 127|which\(.*\) returned None|\bis not installed\b|\bnot installed on\b"
    r"|could not (find|locate) (the )?[\w.-]+ (executable|binary|program|command|tool)"
    r"|where None = <function which\b|^\s*sh: \d+: [\w.-]+: not found|\bno such (command|program)\b"
)
MISSING_ENV_VAR = rx(
    r"environment variable\b.*\b(not set|missing|required|undefined|unset|empty)"
    r"|\b(env(ironment)? var(iable)?|setting)\s+'?\$?[A-Z][A-Z0-9_]+'?\s+(is\s+)?(not set|missing|required)"
    r"|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+ (is )?(not set|unset|undefined|must be set|is required|is empty|missing)\b"
    r"|\bset (the )?\$?[A-Z][A-Z0-9_]+ (environment )?variable"
    r"|where None = <bound method Mapping\.get of environ\(|where None = <function getenv\b"
)
LOCALE = rx(r"unsupported locale setting|no time zone found|unknown time ?zone|locale .* not (available|supported)")
SHARED_LIBRARY = rx(
    r"cannot open shared object file|DLL load failed|Library not loaded|image not found"
    r"|undefined symbol"
)
FILE_NOT_FOUND = re.compile(r"No such file or directory: '([^']+)'")
PERMISSION_DENIED = re.compile(r"\[Errno (13|1)\] (Permission denied|Operation not permitted): '([^']+)'")
CONFIG_SUFFIXES = (".ini", ".cfg", ".conf", ".toml", ".env", ".yaml", ".yml", ".json", ".properties", ".rc")


def _own_words(facts: Facts) -> str:
    """The text of the chain without pytest's rendering of a plain ``assert`` comparison's first line."""
    return facts.text if not facts.message_line().startswith("assert ") else "\n".join(
        facts.text.splitlines()[1:]
    )


def _missing_module(facts: Facts) -> str | None:
    evidence = facts.matching("ModuleNotFoundError")
    if evidence is None:
        return None
    found = MISSING_MODULE.search(evidence.message)
    return found.group(1) if found else None


def _missing_project_module(facts: Facts) -> bool:
    name = _missing_module(facts)
    return name is not None and facts.is_project_module(name)


def _missing_third_party_module(facts: Facts) -> bool:
    name = _missing_module(facts)
    return name is not None and not facts.is_project_module(name)


def _cannot_import_third_party(facts: Facts) -> bool:
    evidence = facts.matching("ImportError")
    if evidence is None:
        return False
    found = CANNOT_IMPORT.search(evidence.message)
    return found is not None and not facts.is_project_module(found.group(1))


def _wrong_version(facts: Facts) -> bool:
    if facts.chain_is_a("PackageNotFoundError", "DistributionNotFound", "VersionConflict") or _cannot_import_third_party(facts):
        return True
    if facts.is_a("AssertionError") and facts.message_line().startswith("assert "):
        return False  # pytest's rendering of the test's own comparison
    return says_version_in_type(facts.words) or bool(VERSION_REQUIREMENT.search(_own_words(facts)))


#: Functions of ``os`` that start a program (as opposed to opening, listing or removing files).
EXEC_FUNCTIONS = frozenset({"execv", "execve", "execvp", "execvpe", "execl", "execlp", "spawnv", "spawnve",
                            "spawnvp", "spawnvpe", "posix_spawn", "posix_spawnp", "popen", "_execvpe"})


def _exec_frames(facts: Facts) -> bool:
    """Whether the chain failed while starting a program (subprocess, os.exec*/spawn*)."""
    for evidence in facts.evidences:
        for frame in evidence.frames:
            if frame.kind not in ("stdlib", "site-packages"):
                continue
            if path_has(frame.path, "subprocess.py") or (
                path_has(frame.path, "os.py") and frame.function in EXEC_FUNCTIONS
            ):
                return True
    return False


def _missing_executable(facts: Facts) -> bool:
    if facts.chain_is_a("FileNotFoundError", "PermissionError") and _exec_frames(facts):
        # The exec of a program failed; a data path would show a folder in the name.
        evidence = facts.matching("FileNotFoundError", "PermissionError")
        found = FILE_NOT_FOUND.search(evidence.message) if evidence else None
        return found is None or not in_test_tree(found.group(1))
    return bool(MISSING_EXECUTABLE.search(_own_words(facts)))


def _tool_failed_in_fixture(facts: Facts) -> bool:
    """A program run while setting up (a fixture, a conftest helper) exited with an error."""
    if not facts.chain_is_a("CalledProcessError", "SubprocessError"):
        return False
    return facts.failure.phase in ("setup", "teardown") or facts.raised_in("conftest")


def _missing_env_var(facts: Facts) -> bool:
    evidence = facts.matching("KeyError")
    if evidence is not None and any(
        path_has(frame.path, "os.py") and frame.function == "__getitem__"
        for frame in evidence.frames
    ):
        return True
    if evidence is not None and _env_var_key(facts, evidence.message):
        return True
    return bool(MISSING_ENV_VAR.search(facts.message_line() or "")) or bool(
        MISSING_ENV_VAR.search(_own_words(facts))
    )


#: ``'SHOP_API_URL'``: the shape of an environment variable's name.
ENV_VAR_NAME = re.compile(r"^['\"]?([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['\"]?$")
#: A line that reads the environment, or a copy of it.
MENTIONS_ENVIRONMENT = re.compile(r"\benviron\b|\bgetenv\b|\benv\b|\bENV\b")


def _env_var_key(facts: Facts, message: str) -> bool:
    """A KeyError for a name shaped like an environment variable, on a line that reads the environment."""
    if ENV_VAR_NAME.match(message.strip()) is None:
        return False
    return any(MENTIONS_ENVIRONMENT.search(frame.line) for ev in facts.evidences for frame in ev.frames if frame.line)


READS_ENVIRONMENT = re.compile(r"\benviron\.get\(|\bgetenv\(|\benviron\[")
NONE_VALUE = re.compile(r"\bNone\b|NoneType")


def _unset_env_var_used(facts: Facts) -> bool:
    """The failing code read an environment variable on a failing line and then choked on None."""
    if facts.primary is None or facts.is_assertion():
        return False
    if not any(NONE_VALUE.search(ev.message) for ev in facts.evidences):
        return False
    return any(READS_ENVIRONMENT.search(frame.line) for ev in facts.evidences for frame in ev.frames if frame.line)


def _missing_file(facts: Facts) -> str | None:
    evidence = facts.matching("FileNotFoundError", "NotADirectoryError")
    if evidence is None:
        return None
    found = FILE_NOT_FOUND.search(evidence.message)
    return found.group(1) if found else None


def missing_file(facts: Facts) -> str | None:
    """The path of a missing file the chain names (shared with the data rules)."""
    return _missing_file(facts)


def _config_like(path: str) -> bool:
    name = path_parts(path)[-1] if path_parts(path) else path
    return (
        name.lower().endswith(CONFIG_SUFFIXES)
        or name.startswith(".")
        or path.startswith(("/etc/", "~", "/usr/", "/opt/", "/var/"))
    )


def _missing_config_file(facts: Facts) -> bool:
    """A configuration file outside the test tree is missing: by errno, or as any exception says it."""
    path = _missing_file(facts)
    if path is not None:
        return not facts.in_test_tree(path) and _config_like(path)
    named = facts.missing_paths
    return bool(named) and not any(facts.in_test_tree(p) for p in named) and any(_config_like(p) for p in named)


def _permission_denied(facts: Facts) -> bool:
    evidence = facts.matching("PermissionError")
    found = PERMISSION_DENIED.search(evidence.message) if evidence is not None else None
    return found is not None and not in_test_tree(found.group(3))


ENVIRONMENT_RULES: tuple[Rule, ...] = (
    # Before missing-module: zoneinfo's error chains to the missing "tzdata" import.
    Rule("locale", "environment", 0.9,
         lambda f: f.chain_is_a("locale.Error", "ZoneInfoNotFoundError", "UnknownTimeZoneError")
         or f.says(LOCALE),
         because("a locale or time zone is not available on this machine")),
    Rule("missing-project-module", "test", 0.8, _missing_project_module,
         because("the test imports a module of the project that does not exist")),
    Rule("missing-module", "environment", 0.9, _missing_third_party_module,
         because("a third-party module is not installed")),
    Rule("missing-dependency", "environment", 0.8,
         lambda f: f.message_says(MISSING_DEPENDENCY) and not f.is_assertion(),
         because("an optional dependency or extra is not installed")),
    Rule("shared-library", "environment", 0.9,
         lambda f: f.chain_is_a("ImportError", "OSError") and f.says(SHARED_LIBRARY),
         because("a shared library is missing")),
    Rule("wrong-package-version", "environment", 0.75, _wrong_version,
         because("an installed package, program or Python does not meet a version requirement")),
    Rule("missing-executable", "environment", 0.9, _missing_executable,
         because("a program the test runs is not installed")),
    Rule("tool-failed-in-fixture", "environment", 0.75, _tool_failed_in_fixture,
         because("a program the test's setup runs failed (missing or misconfigured)")),
    Rule("missing-env-var", "environment", 0.9, _missing_env_var,
         because("an environment variable is not set")),
    Rule("unset-env-var-used", "environment", 0.75, _unset_env_var_used,
         because("code read an environment variable that is not set and failed on None")),
    Rule("missing-config-file", "environment", 0.8, _missing_config_file,
         because("a configuration file outside the test tree is missing")),
    Rule("permission-denied", "environment", 0.7, _permission_denied,
         because("the machine denies access to a file outside the test tree")),
)
