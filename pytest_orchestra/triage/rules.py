"""The built-in classification rules, in the order they are tried.

Each rule is a named object: a category, a confidence, a predicate over the
:class:`Facts` of one failure and an explanation for the report. Rules prefer
evidence (the exception's class and MRO, where in the traceback it was
raised, the phase) over message text; text is only read where Python puts
the distinguishing fact there (``[Errno 111]`` inside a ``URLError``, pytest's
``fixture 'x' not found``). Infrastructure comes before timeout, so a socket
read timeout is not taken for a test's own deadline; specific rules come
before the catch-all "where was it raised" rules at the end.
Pure logic: no pytest import.
"""

from __future__ import annotations

import importlib.util
import re
import sysconfig
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable, Sequence

from pytest_orchestra.triage.failure import (
    PROJECT_KINDS,
    TEST_KINDS,
    Failure,
    FailureEvidence,
    Frame,
)

#: Folders of the test tree that hold input data rather than code.
#: Exceptions whose message carries an OS or network failure (errno, resolver text).
NETWORK_ERROR_TYPES = (
    "OSError", "URLError", "ConnectionError", "RequestException", "TransportError",
    "HTTPException", "ClientError", "OperationalError", "InterfaceError",
)
STDLIB_DIRS: tuple[str, ...] = tuple(
    {str(Path(p).resolve()) for key in ("stdlib", "platstdlib") if (p := sysconfig.get_paths().get(key))}
)
DATA_FOLDERS = frozenset({"data", "fixtures", "testdata", "test_data"})
TEST_FOLDERS = frozenset({"tests", "test", "testing"})


class Facts:
    """What rules ask about one failure, computed lazily and at most once."""

    def __init__(self, failure: Failure) -> None:
        self.failure = failure

    @cached_property
    def evidences(self) -> tuple[FailureEvidence, ...]:
        """The raised exception first, then its causes and contexts."""
        evidence = self.failure.evidence
        return evidence.all_evidence() if evidence is not None else ()

    @property
    def primary(self) -> FailureEvidence | None:
        return self.failure.evidence

    @cached_property
    def frames(self) -> tuple[Frame, ...]:
        return self.primary.frames if self.primary is not None else ()

    @cached_property
    def culprit(self) -> Frame | None:
        """The innermost frame of the project (test, conftest, product or data code)."""
        for frame in reversed(self.frames):
            if frame.kind in PROJECT_KINDS:
                return frame
        return None

    @cached_property
    def innermost(self) -> Frame | None:
        return self.frames[-1] if self.frames else None

    @cached_property
    def text(self) -> str:
        """Messages of the whole chain, or the failure text when there is no evidence."""
        if self.evidences:
            return "\n".join(ev.message for ev in self.evidences)
        return self.failure.longrepr

    def is_a(self, *names: str) -> bool:
        """Whether the raised exception is one of ``names`` (subclasses included)."""
        return self.primary is not None and self.primary.is_a(*names)

    def chain_is_a(self, *names: str) -> bool:
        """Whether any exception of the chain is one of ``names``."""
        return any(ev.is_a(*names) for ev in self.evidences)

    def matching(self, *names: str) -> FailureEvidence | None:
        for evidence in self.evidences:
            if evidence.is_a(*names):
                return evidence
        return None

    def says(self, pattern: re.Pattern[str]) -> bool:
        return bool(pattern.search(self.text))

    def network_error_says(self, pattern: re.Pattern[str]) -> bool:
        """``pattern`` in the message of an OS or network-library error of the chain.

        Without evidence the failure text is read instead (crashes, old reports).
        """
        if self.primary is None:
            return bool(pattern.search(self.failure.longrepr))
        return any(
            ev.is_a(*NETWORK_ERROR_TYPES) and pattern.search(ev.message) for ev in self.evidences
        )

    def message_line(self) -> str:
        """The raised exception's first message line (the user's text, not pytest's diff)."""
        if self.primary is None:
            return ""
        lines = self.primary.message.strip().splitlines()
        return lines[0] if lines else ""

    def raised_in(self, *kinds: str) -> bool:
        return self.culprit is not None and self.culprit.kind in kinds

    def stdlib_frames(self, *modules: str) -> bool:
        """Whether a stdlib or site-packages frame of the raised exception is in ``modules``.

        ``modules`` are path fragments such as ``socket.py`` or ``asyncio/``.
        """
        for evidence in self.evidences:
            for frame in evidence.frames:
                if frame.kind in ("stdlib", "site-packages") and any(
                    _path_has(frame.path, module) for module in modules
                ):
                    return True
        return False

    def where(self) -> str:
        frame = self.culprit or self.innermost
        return f"in {frame.describe()}" if frame is not None else f"in {self.failure.test_path}"

    def headline(self) -> str:
        """``ConnectionRefusedError: [Errno 111] ...`` or the failure text's first line."""
        if self.primary is not None:
            message = self.primary.message.strip().splitlines()
            first = message[0][:160] if message else ""
            return f"{self.primary.short_type}: {first}" if first else self.primary.short_type
        for line in self.failure.longrepr.splitlines():
            if line.strip():
                return line.strip()[:160]
        return f"{self.failure.outcome} in {self.failure.phase}"


def _path_has(path: str, module: str) -> bool:
    if path.startswith("<frozen "):  # Python 3.11 runs os, codecs... as frozen modules
        path = path[len("<frozen "):-1].replace(".", "/") + ".py"
    normalized = "/" + path.replace("\\", "/")
    if module.endswith("/"):
        return f"/{module}" in normalized
    return normalized.endswith("/" + module)


@dataclass(frozen=True)
class Rule:
    name: str
    category: str
    confidence: float
    predicate: Callable[[Facts], bool]
    explain: Callable[[Facts], str]


def first_match(facts: Facts, rules: Sequence[Rule]) -> tuple[Rule, str] | None:
    """The first rule whose predicate holds, with its explanation."""
    for rule in rules:
        if rule.predicate(facts):
            return rule, rule.explain(facts)
    return None


def _raised(facts: Facts) -> str:
    return f"{facts.headline()} raised {facts.where()}"


def because(text: str) -> Callable[[Facts], str]:
    """An explanation: a fixed reason followed by what was raised where."""
    return lambda facts: f"{text}: {_raised(facts)}"


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# --- infrastructure -----------------------------------------------------------

REFUSED = _re(r"\[Errno (111|61|10061)\]|connection refused|actively refused")
RESET = _re(
    r"\[Errno (104|54|10054|103|53|10053|32)\]|connection (reset|aborted)|broken pipe"
    r"|remote end closed connection|server disconnected|connection closed unexpectedly"
)
DNS = _re(
    r"name or service not known|nodename nor servname|temporary failure in name resolution"
    r"|getaddrinfo failed|no address associated with hostname|name does not resolve"
    r"|\[Errno -[235]\]"
)
UNREACHABLE = _re(r"network is unreachable|no route to host|host is down|\[Errno (101|113)\]")
TLS = _re(r"\bSSL:|certificate verify failed|tlsv1 alert|ssl handshake|wrong version number")
HTTP_5XX = _re(
    r"\b(HTTP Error |status(?: code)?:? ?)?50[234]\b.*|bad gateway|service unavailable|gateway time-?out"
)
HTTP_ERROR_TYPES = ("HTTPError", "HTTPStatusError", "ServerError", "HTTPException", "URLError")
SOCKET_TIMEOUT_MESSAGE = _re(
    r"^\s*timed out\s*$|read timed out|connect(ion)? timed out|connect timeout|read timeout"
    r"|handshake operation timed out|_ssl\.c:\d+: The handshake"
)
NETWORK_TIMEOUT_TYPES = (
    "socket.timeout", "ReadTimeout", "ConnectTimeout", "ReadTimeoutError",
    "ConnectTimeoutError", "ConnectTimeout", "PoolTimeout", "WriteTimeout",
)
NETWORK_MODULES = ("socket.py", "ssl.py", "http/", "urllib/", "urllib3/", "requests/", "httpx/",
                   "httpcore/", "aiohttp/", "selectors.py")
DB_UNAVAILABLE = _re(
    r"database is locked|database table is locked|database .*(is )?unavailable"
    r"|could not connect to server|server closed the connection unexpectedly"
    r"|the database system is (starting up|shutting down)|too many connections"
    r"|lost connection to .*server|can't connect to .*server"
)
DISK_FULL = _re(r"\[Errno 28\]|no space left on device|disk quota exceeded|\[Errno 122\]")
TOO_MANY_FILES = _re(r"\[Errno 24\]|too many open files")
CRASHED = _re(r"worker '[^']+' crashed|node down:|Fatal Python error|killed by signal|\bSIGKILL\b")


def _http_5xx(facts: Facts) -> bool:
    evidence = facts.matching(*HTTP_ERROR_TYPES)
    return evidence is not None and bool(HTTP_5XX.search(evidence.message))


def _socket_timeout(facts: Facts) -> bool:
    if facts.chain_is_a(*NETWORK_TIMEOUT_TYPES):
        return True
    evidence = facts.matching("TimeoutError", "OSError")
    if evidence is None:
        return False
    return bool(SOCKET_TIMEOUT_MESSAGE.search(evidence.message)) or (
        evidence.is_a("TimeoutError") and facts.stdlib_frames(*NETWORK_MODULES)
        and not facts.stdlib_frames("asyncio/", "concurrent/", "multiprocessing/", "subprocess.py")
    )


INFRASTRUCTURE_RULES: tuple[Rule, ...] = (
    Rule("connection-refused", "infrastructure", 0.95,
         lambda f: f.chain_is_a("ConnectionRefusedError") or f.network_error_says(REFUSED),
         because("a service refused the connection")),
    Rule("connection-reset", "infrastructure", 0.9,
         lambda f: f.chain_is_a("ConnectionResetError", "ConnectionAbortedError",
                                "BrokenPipeError", "RemoteDisconnected", "IncompleteRead")
         or f.network_error_says(RESET),
         because("a connection was reset or closed by the other end")),
    Rule("dns", "infrastructure", 0.9,
         lambda f: f.chain_is_a("socket.gaierror", "gaierror") or f.network_error_says(DNS),
         because("a host name could not be resolved")),
    Rule("network-unreachable", "infrastructure", 0.9,
         lambda f: f.network_error_says(UNREACHABLE),
         because("the network or host is unreachable")),
    Rule("tls", "infrastructure", 0.85,
         lambda f: f.chain_is_a("ssl.SSLError", "SSLError", "SSLCertVerificationError")
         or f.network_error_says(TLS),
         because("a TLS handshake failed")),
    Rule("http-5xx-from-dependency", "infrastructure", 0.85, _http_5xx,
         because("a dependency answered with a 5xx server error")),
    Rule("socket-timeout", "infrastructure", 0.85, _socket_timeout,
         because("a network read or connect timed out")),
    Rule("db-unavailable", "infrastructure", 0.9,
         lambda f: f.network_error_says(DB_UNAVAILABLE),
         because("the database was locked or unavailable")),
    Rule("disk-full", "infrastructure", 0.95,
         lambda f: f.network_error_says(DISK_FULL),
         because("the disk is full")),
    Rule("too-many-files", "infrastructure", 0.9,
         lambda f: f.network_error_says(TOO_MANY_FILES),
         because("the process ran out of file descriptors")),
    Rule("memory-error", "infrastructure", 0.85,
         lambda f: f.chain_is_a("MemoryError"),
         because("the machine ran out of memory")),
)

# --- environment --------------------------------------------------------------

MISSING_MODULE = re.compile(r"No module named '([^']+)'")
CANNOT_IMPORT = re.compile(r"cannot import name '[^']+' from '([^']+)'")
MISSING_EXECUTABLE = _re(
    r"(executable|command|program|binary|tool)\b.*\bnot found|not (found )?(on|in) (the )?PATH"
    r"|command not found|exit status 127|which\(.*\) returned None"
)
MISSING_ENV_VAR = _re(
    r"environment variable\b.*\b(not set|missing|required|undefined|unset|empty)"
    r"|\b(env(ironment)? var(iable)?|setting)\s+'?\$?[A-Z][A-Z0-9_]+'?\s+(is\s+)?(not set|missing|required)"
)
LOCALE = _re(r"unsupported locale setting|no time zone found|unknown time ?zone|locale .* not (available|supported)")
SHARED_LIBRARY = _re(
    r"cannot open shared object file|DLL load failed|Library not loaded|image not found"
    r"|undefined symbol"
)
WRONG_VERSION = _re(
    r"requires (a )?(newer |different )?(python|version)|python \d\.\d+ or (newer|later|above)"
    r"|version .* (is )?required|incompatible version|version mismatch|unsupported python"
)
FILE_NOT_FOUND = re.compile(r"No such file or directory: '([^']+)'")
CONFIG_SUFFIXES = (".ini", ".cfg", ".conf", ".toml", ".env", ".yaml", ".yml", ".json", ".properties", ".rc")


def _module_top(name: str) -> str:
    return name.split(".", 1)[0]


def _is_project_package(name: str) -> bool:
    """Whether a top-level module importable here lives outside site-packages and the stdlib.

    A dotted "No module named 'a.b'" means 'a' was found; when 'a' is the
    project's own package, the missing piece is a typo in the test, not a
    missing install. The traceback may not show the package, so ask the import system.
    """
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    origin = getattr(spec, "origin", None) or ""
    locations = list(getattr(spec, "submodule_search_locations", None) or ())
    place = origin if origin not in ("", "namespace") else (locations[0] if locations else "")
    if not place or place in ("built-in", "frozen"):
        return False
    parts = Path(place).parts
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    return not any(place.startswith(stdlib) for stdlib in STDLIB_DIRS)


def _project_modules(facts: Facts) -> set[str]:
    """Top-level names the project's own code lives under (from the traceback and node id)."""
    names: set[str] = set()
    paths = [facts.failure.test_path] + [
        frame.path for ev in facts.evidences for frame in ev.frames if frame.kind in PROJECT_KINDS
    ]
    for path in paths:
        parts = [p for p in path.replace("\\", "/").split("/") if p]
        if not parts or path.startswith("/"):
            continue
        for part in parts[:2] if parts[0] == "src" else parts[:1]:
            names.add(part[:-3] if part.endswith(".py") else part)
    return names | TEST_FOLDERS | {"conftest"}


def _missing_module(facts: Facts) -> str | None:
    evidence = facts.matching("ModuleNotFoundError")
    if evidence is None:
        return None
    found = MISSING_MODULE.search(evidence.message)
    return found.group(1) if found else None


def _is_project_module(name: str, facts: Facts) -> bool:
    top = _module_top(name)
    if top in _project_modules(facts):
        return True
    return "." in name and _is_project_package(top)


def _missing_project_module(facts: Facts) -> bool:
    name = _missing_module(facts)
    return name is not None and _is_project_module(name, facts)


def _missing_third_party_module(facts: Facts) -> bool:
    name = _missing_module(facts)
    return name is not None and not _is_project_module(name, facts)


def _cannot_import_third_party(facts: Facts) -> bool:
    evidence = facts.matching("ImportError")
    if evidence is None:
        return False
    found = CANNOT_IMPORT.search(evidence.message)
    return bool(found) and _module_top(found.group(1)) not in _project_modules(facts)


def _missing_executable(facts: Facts) -> bool:
    if facts.chain_is_a("FileNotFoundError", "PermissionError") and facts.stdlib_frames(
        "subprocess.py", "os.py", "shutil.py"
    ):
        # The exec of a program failed; a data path would show a folder in the name.
        evidence = facts.matching("FileNotFoundError", "PermissionError")
        found = FILE_NOT_FOUND.search(evidence.message) if evidence else None
        return found is None or not _in_test_tree(found.group(1))
    return facts.chain_is_a("CalledProcessError", "FileNotFoundError", "RuntimeError",
                            "OSError", "TypeError", "AssertionError") and bool(
        MISSING_EXECUTABLE.search(facts.message_line() or facts.text)
    )


def _missing_env_var(facts: Facts) -> bool:
    evidence = facts.matching("KeyError")
    if evidence is not None and any(
        _path_has(frame.path, "os.py") and frame.function == "__getitem__"
        for frame in evidence.frames
    ):
        return True
    return bool(MISSING_ENV_VAR.search(facts.message_line() or ""))


def _path_parts(path: str) -> list[str]:
    return [part for part in path.replace("\\", "/").split("/") if part]


def _in_test_tree(path: str) -> bool:
    return any(part in TEST_FOLDERS or part in DATA_FOLDERS for part in _path_parts(path)[:-1])


def _missing_file(facts: Facts) -> str | None:
    evidence = facts.matching("FileNotFoundError", "NotADirectoryError")
    if evidence is None:
        return None
    found = FILE_NOT_FOUND.search(evidence.message)
    return found.group(1) if found else None


def _missing_config_file(facts: Facts) -> bool:
    path = _missing_file(facts)
    if path is None or _in_test_tree(path):
        return False
    name = _path_parts(path)[-1] if _path_parts(path) else path
    return (
        name.lower().endswith(CONFIG_SUFFIXES)
        or name.startswith(".")
        or path.startswith(("/etc/", "~", "/usr/", "/opt/", "/var/"))
    )


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
    Rule("shared-library", "environment", 0.9,
         lambda f: f.chain_is_a("ImportError", "OSError") and f.says(SHARED_LIBRARY),
         because("a shared library is missing")),
    Rule("wrong-package-version", "environment", 0.75,
         lambda f: f.chain_is_a("PackageNotFoundError", "DistributionNotFound", "VersionConflict")
         or _cannot_import_third_party(f)
         or bool(WRONG_VERSION.search(f.message_line())),
         because("an installed package or Python has the wrong version")),
    Rule("missing-executable", "environment", 0.9, _missing_executable,
         because("a program the test runs is not installed")),
    Rule("missing-env-var", "environment", 0.9, _missing_env_var,
         because("an environment variable is not set")),
    Rule("missing-config-file", "environment", 0.8, _missing_config_file,
         because("a configuration file outside the test tree is missing")),
)

# --- timeout --------------------------------------------------------------------

PYTEST_TIMEOUT = re.compile(r"^Timeout >|\+{3,} Timeout \+{3,}|Failed: Timeout >", re.MULTILINE)
DEADLINE = _re(
    r"timed? ?out|deadline|within \d+(\.\d+)?\s*(s|ms|sec|secs|seconds|minutes?)\b"
    r"|gave up (after|waiting)|still (running|pending|waiting) after"
)


def _pytest_timeout(facts: Facts) -> bool:
    if facts.primary is not None:
        return facts.is_a("Failed") and facts.primary.message.startswith("Timeout")
    return bool(PYTEST_TIMEOUT.search(facts.failure.longrepr))


def _deadline_message(facts: Facts) -> bool:
    if not facts.is_a("AssertionError", "RuntimeError", "Failed") or facts.is_a("OSError"):
        return False
    line = facts.message_line()
    # pytest's own rewritten "assert x == y" line says nothing about waiting.
    return not line.startswith("assert ") and bool(DEADLINE.search(line))


TIMEOUT_RULES: tuple[Rule, ...] = (
    Rule("subprocess-timeout", "timeout", 0.95,
         lambda f: f.chain_is_a("TimeoutExpired"),
         because("a subprocess ran past its timeout")),
    Rule("wait-timeout", "timeout", 0.9,
         # Network timeouts were claimed by socket-timeout above.
         lambda f: f.chain_is_a("TimeoutError", "multiprocessing.context.TimeoutError"),
         because("a wait ran out of its time budget")),
    Rule("queue-empty", "timeout", 0.85,
         lambda f: f.is_a("_queue.Empty", "queue.Empty"),
         because("a queue stayed empty past its get() timeout")),
    Rule("deadline-helper", "timeout", 0.8, _deadline_message,
         because("a polling helper's deadline passed")),
)

# --- data -------------------------------------------------------------------------

DECODE_ERRORS = (
    "JSONDecodeError", "YAMLError", "_csv.Error", "csv.Error", "xml.etree.ElementTree.ParseError",
    "ExpatError", "BadGzipFile", "BadZipFile", "BadZipfile", "UnpicklingError", "binascii.Error",
    "TOMLDecodeError", "UnicodeDecodeError", "zlib.error", "lzma.LZMAError", "tarfile.ReadError",
    "configparser.Error", "_pickle.UnpicklingError",
)
TRUNCATED_INPUT = _re(r"ran out of input|compressed file ended before|end-of-stream marker")
INTEGRITY = _re(
    r"(UNIQUE|FOREIGN KEY|NOT NULL|CHECK) constraint failed"
    r"|violates (unique|foreign key|not-null|check) constraint|duplicate key value"
)
CONVERSION = _re(
    r"invalid literal for|could not convert string|does not match format|invalid isoformat"
    r"|is not a valid (date|number|value)|unconverted data remains|invalid (date|decimal|number)"
    r"|(month|day|hour|minute|second) must be in|day is out of range"
)


def _integrity(facts: Facts) -> bool:
    return facts.chain_is_a("IntegrityError") or (
        facts.chain_is_a("DatabaseError", "Error") and facts.says(INTEGRITY)
    )


def _missing_data_file(facts: Facts) -> bool:
    path = _missing_file(facts)
    return path is not None and _in_test_tree(path)


def _unparsable_value(facts: Facts) -> bool:
    if not (facts.is_a("ValueError", "InvalidOperation") and (
        facts.is_a("InvalidOperation") or bool(CONVERSION.search(facts.message_line()))
    )):
        return False
    return facts.raised_in(*TEST_KINDS) or any(f.kind == "data" for f in facts.frames)


DATA_RULES: tuple[Rule, ...] = (
    Rule("decode-error", "data", 0.9,
         lambda f: f.chain_is_a(*DECODE_ERRORS)
         or (f.chain_is_a("EOFError") and f.says(TRUNCATED_INPUT)),
         because("input data could not be decoded")),
    Rule("integrity-error", "data", 0.85, _integrity,
         because("seeding data violated a database constraint")),
    Rule("missing-data-file", "data", 0.85, _missing_data_file,
         because("a file of the test data folders is missing")),
    Rule("unparsable-value", "data", 0.75, _unparsable_value,
         because("a value read from test data could not be parsed")),
)

# --- test -----------------------------------------------------------------------

FIXTURE_NOT_FOUND = re.compile(r"fixture '[^']+' not found")
SCOPE_MISMATCH = re.compile(r"ScopeMismatch|You tried to access the \w+ scoped fixture")
PARAMETRIZE = re.compile(
    r'in "parametrize"|function uses no (argument|fixture)|@pytest\.mark\.parametrize'
    r"|\bparametrize\(|wrong number of (values|arguments) .*parametri|indirect fixture"
)
CALL_SIGNATURE = _re(
    r"unexpected keyword argument|missing \d+ required (positional|keyword-only) argument"
    r"|takes (from )?\d+ (to \d+ )?positional arguments? but \d+ (were|was) given"
    r"|takes no (keyword )?arguments|got multiple values for argument|object is not callable"
)
NONE_ATTRIBUTE = re.compile(r"'NoneType' object has no attribute")


def _collection_text(facts: Facts) -> str:
    return facts.failure.longrepr + "\n" + facts.text


def _syntax_error_in(facts: Facts, *kinds: str) -> bool:
    """A SyntaxError whose offending file (the innermost frame) is of ``kinds``."""
    if not facts.is_a("SyntaxError"):
        return False
    frame = facts.innermost
    if frame is None or frame.kind not in PROJECT_KINDS:
        return facts.failure.phase == "collect" and "test" in kinds
    return frame.kind in kinds


def _fixture_code_error(facts: Facts) -> bool:
    """A fixture (in a test module or conftest) raised while setting up or tearing down."""
    return facts.failure.phase in ("setup", "teardown") and facts.raised_in(*TEST_KINDS)


def _collection_error(facts: Facts) -> bool:
    if facts.failure.phase != "collect":
        return False
    return facts.culprit is None or facts.raised_in(*TEST_KINDS)


PYTEST_USAGE_RULES: tuple[Rule, ...] = (
    Rule("pytest-timeout", "timeout", 0.95, _pytest_timeout,
         lambda f: f"the test ran past its pytest-timeout budget: {_raised(f)}"),
    Rule("fixture-not-found", "test", 0.95,
         lambda f: f.is_a("FixtureLookupError")
         or bool(FIXTURE_NOT_FOUND.search(f.failure.longrepr)),
         because("the test requests a fixture that does not exist")),
    Rule("scope-mismatch", "test", 0.95,
         lambda f: f.is_a("ScopeMismatch") or bool(SCOPE_MISMATCH.search(_collection_text(f))),
         because("a fixture uses a fixture of a narrower scope")),
    Rule("bad-parametrize", "test", 0.9,
         lambda f: f.failure.phase == "collect" and bool(PARAMETRIZE.search(_collection_text(f))),
         because("the test's parametrize arguments are invalid")),
)

TEST_RULES: tuple[Rule, ...] = (
    Rule("syntax-error-in-test", "test", 0.9,
         lambda f: _syntax_error_in(f, *TEST_KINDS),
         because("a test module has a syntax error")),
    Rule("syntax-error-in-product", "product", 0.85,
         lambda f: _syntax_error_in(f, "product"),
         because("a product module has a syntax error")),
    Rule("name-error-in-test", "test", 0.9,
         lambda f: f.is_a("NameError") and f.raised_in(*TEST_KINDS),
         because("test code uses an undefined name")),
    Rule("none-attribute-in-test", "product", 0.7,
         lambda f: f.is_a("AttributeError") and f.raised_in("test")
         and f.failure.phase == "call" and bool(NONE_ATTRIBUTE.search(f.message_line())),
         because("the code under test returned None where the test expected an object")),
    Rule("attribute-error-in-test", "test", 0.85,
         lambda f: f.is_a("AttributeError") and f.raised_in(*TEST_KINDS),
         because("test code uses an attribute that does not exist")),
    Rule("call-signature-in-test", "test", 0.85,
         lambda f: f.is_a("TypeError") and f.raised_in(*TEST_KINDS)
         and bool(CALL_SIGNATURE.search(f.message_line())),
         because("test code calls a function with the wrong arguments")),
    Rule("collection-error", "test", 0.85, _collection_error,
         because("the test module could not be collected")),
    Rule("fixture-error", "test", 0.75, _fixture_code_error,
         because("a fixture's own code failed")),
)

# --- product ----------------------------------------------------------------------

DID_NOT_RAISE = re.compile(r"DID NOT (RAISE|WARN)")
DEPENDENCY_FAILED = _re(r"\bdepend(s|ency|ed)\b[^\n]*\b(failed|did not pass|was skipped|errored)\b")


def _did_not_raise(facts: Facts) -> bool:
    if facts.primary is not None:
        return facts.is_a("Failed") and bool(DID_NOT_RAISE.match(facts.primary.message))
    return bool(DID_NOT_RAISE.search(facts.failure.longrepr))


PRODUCT_RULES: tuple[Rule, ...] = (
    Rule("did-not-raise", "product", 0.9, _did_not_raise,
         because("the code under test did not raise the expected exception")),
    Rule("assertion-failed", "product", 0.85,
         lambda f: f.is_a("AssertionError") and f.failure.phase == "call",
         because("an assertion about the code under test failed")),
    Rule("raised-in-product", "product", 0.85,
         lambda f: f.raised_in("product"),
         because("the code under test raised")),
    Rule("explicit-fail", "product", 0.7,
         lambda f: f.is_a("Failed") and f.failure.phase == "call",
         because("the test called pytest.fail")),
    Rule("assertion-outside-call", "product", 0.65,
         lambda f: f.is_a("AssertionError"),
         because("an assertion failed outside the test body")),
    Rule("raised-in-test", "product", 0.65,
         lambda f: f.raised_in("test") and f.failure.phase == "call",
         because("the test failed on a value the code under test returned")),
)

FALLBACK_RULES: tuple[Rule, ...] = (
    Rule("dependency-failed", "dependency", 0.8,
         lambda f: f.primary is None and bool(DEPENDENCY_FAILED.search(f.failure.longrepr)),
         because("a test or app it depends on failed")),
    Rule("worker-crashed", "infrastructure", 0.65,
         lambda f: f.failure.phase == "crash" or bool(CRASHED.search(f.failure.longrepr)),
         lambda f: f"the worker process running the test died: {f.headline()}"),
)

#: Every built-in rule, in the order the classifier tries them.
BUILTIN_RULES: tuple[Rule, ...] = (
    *PYTEST_USAGE_RULES,
    *INFRASTRUCTURE_RULES,
    *ENVIRONMENT_RULES,
    *TIMEOUT_RULES,
    *DATA_RULES,
    *TEST_RULES,
    *PRODUCT_RULES,
    *FALLBACK_RULES,
)


def rule_names(rules: Iterable[Rule] = BUILTIN_RULES) -> list[str]:
    return [rule.name for rule in rules]
