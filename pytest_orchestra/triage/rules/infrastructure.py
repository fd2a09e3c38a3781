"""``infrastructure``: a service, the network or a machine resource failed.

Tried before every other category, so a socket read timeout is not taken for
a test's own deadline. Errno values and the network libraries' classes are
the strongest signals; then what a product's own exception says: its type
name (``UpstreamUnavailable``, ``BadGatewayError``) or its message ("upstream
returned 503"), wherever it was raised, except in the test's own assertion.
"""

from __future__ import annotations

from pytest_orchestra.triage.rules.facts import Facts, because, rx
from pytest_orchestra.triage.rules.rule import Rule
from pytest_orchestra.triage.rules.vocabulary import (
    NETWORK_CONTEXT,
    TIME_RAN_OUT,
    UPSTREAM_FAILED,
    says_timeout_in_type,
    says_upstream_in_type,
)

REFUSED = rx(r"\[Errno (111|61|10061)\]|connection refused|actively refused")
RESET = rx(
    r"\[Errno (104|54|10054|103|53|10053|32)\]|connection (reset|aborted)|broken pipe"
    r"|remote end closed connection|server disconnected|connection closed unexpectedly"
)
DNS = rx(
    r"name or service not known|nodename nor servname|temporary failure in name resolution"
    r"|getaddrinfo failed|no address associated with hostname|name does not resolve"
    r"|\[Errno -[235]\]"
)
UNREACHABLE = rx(r"network is unreachable|no route to host|host is down|\[Errno (101|113)\]")
TLS = rx(r"\bSSL:|certificate verify failed|tlsv1 alert|ssl handshake|wrong version number")
HTTP_5XX = rx(
    r"\b(HTTP Error |status(?: code)?:? ?)?50[234]\b.*|bad gateway|service unavailable|gateway time-?out"
)
HTTP_ERROR_TYPES = ("HTTPError", "HTTPStatusError", "ServerError", "HTTPException", "URLError")
SOCKET_TIMEOUT_MESSAGE = rx(
    r"^\s*timed out\s*$|read timed out|connect(ion)? timed out|connect timeout|read timeout"
    r"|handshake operation timed out|_ssl\.c:\d+: The handshake|\[Errno (110|60|10060)\]"
)
NETWORK_TIMEOUT_TYPES = (
    "socket.timeout", "ReadTimeout", "ConnectTimeout", "ReadTimeoutError",
    "ConnectTimeoutError", "PoolTimeout", "WriteTimeout", "ConnectionTimeout",
)
#: Timeouts of local waits: never the network's, whatever words their message carries.
LOCAL_TIMEOUT_TYPES = ("TimeoutExpired", "concurrent.futures._base.TimeoutError",
                       "multiprocessing.context.TimeoutError", "_queue.Empty", "queue.Empty")
NETWORK_MODULES = ("socket.py", "ssl.py", "http/", "urllib/", "urllib3/", "requests/", "httpx/",
                   "httpcore/", "aiohttp/", "selectors.py")
DB_UNAVAILABLE = rx(
    r"database is locked|database table is locked|database .*(is )?unavailable"
    r"|could not connect to server|server closed the connection unexpectedly"
    r"|the database system is (starting up|shutting down)|too many connections"
    r"|lost connection to .*server|can't connect to .*server"
)
DISK_FULL = rx(r"\[Errno 28\]|no space left on device|disk quota exceeded|\[Errno 122\]")
TOO_MANY_FILES = rx(r"\[Errno 24\]|too many open files")
FILE_MISSING = rx(r"\[Errno 2\]|no such file or directory")
ADDRESS_IN_USE = rx(r"\[Errno (98|48|10048|99|49)\]|address already in use|cannot assign requested address")


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


def _upstream_failure(facts: Facts) -> bool:
    """A product's or library's own exception that names a failed service or a 5xx answer, or a
    test's assertion whose own message (not pytest's rendering of a comparison) says so."""
    if facts.primary is None:
        return False
    if facts.is_assertion():
        line = facts.message_line()
        return not line.startswith("assert ") and bool(UPSTREAM_FAILED.search(line))
    if facts.message_says(UPSTREAM_FAILED):
        return True
    return says_upstream_in_type(facts.words)


def _network_timeout_named(facts: Facts) -> bool:
    """A timeout that names the network: ``ClientTimeout('upstream did not answer in 2s')``."""
    if facts.primary is None or facts.is_assertion():
        return False
    if facts.chain_is_a(*LOCAL_TIMEOUT_TYPES):
        return False  # a subprocess's, a future's or a pool's own deadline, whatever its command line says
    timed_out = says_timeout_in_type(facts.words) or facts.message_says(TIME_RAN_OUT)
    return timed_out and (facts.message_says(NETWORK_CONTEXT) or says_upstream_in_type(facts.words))


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
    Rule("tls-file-missing", "environment", 0.85,
         lambda f: f.chain_is_a("ssl.SSLError", "SSLError") and f.network_error_says(FILE_MISSING),
         because("a certificate or key file the TLS setup names does not exist")),
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
    # These phrases are unambiguous: whatever class carries them (a library may wrap the OSError).
    Rule("disk-full", "infrastructure", 0.95,
         lambda f: f.network_error_says(DISK_FULL) or f.message_says(DISK_FULL),
         because("the disk is full")),
    Rule("too-many-files", "infrastructure", 0.9,
         lambda f: f.network_error_says(TOO_MANY_FILES) or f.message_says(TOO_MANY_FILES),
         because("the process ran out of file descriptors")),
    Rule("address-in-use", "infrastructure", 0.85,
         lambda f: f.network_error_says(ADDRESS_IN_USE) or f.message_says(ADDRESS_IN_USE),
         because("a network address or port is already taken")),
    Rule("memory-error", "infrastructure", 0.85,
         lambda f: f.chain_is_a("MemoryError"),
         because("the machine ran out of memory")),
    Rule("network-timeout-named", "infrastructure", 0.8, _network_timeout_named,
         because("an exception says a network call timed out")),
    Rule("upstream-failure-named", "infrastructure", 0.8, _upstream_failure,
         because("an exception says a service failed or answered with a 5xx")),
)
