"""What an exception *says*: the words of its type names and the phrases of its message.

A product or library defines its own exceptions, and their names say what
happened far more often than where they were raised does: ``DeadlineExceeded``,
``LockTimeout``, ``UpstreamUnavailable``, ``BadGatewayError``,
``IncompatibleVersionError``. Their messages do too: "upstream returned 503",
"lock not acquired within 2s", "requires foo>=2.0, found 1.3". The rules read
these signals through the names below, so each vocabulary is written once.
Pure logic: no pytest import.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_orchestra.triage.failure import FailureEvidence

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

#: MRO entries too general to say anything.
_GENERIC = frozenset({"object", "BaseException", "Exception", "Error", "StandardError"})


def split_words(name: str) -> list[str]:
    """``DeadlineExceededError`` -> ``["deadline", "exceeded", "error"]``; ``HTTP503Error`` too."""
    return [word.lower() for part in re.split(r"[_\W]+", name) for word in _CAMEL.findall(part)]


def type_words(evidence: "FailureEvidence") -> frozenset[str]:
    """The words of the short names of an exception's class and its bases (generic ones left out)."""
    cached = evidence.__dict__.get("_type_words_cache")
    if cached is None:
        names = evidence.exception_mro or (evidence.exception_type,)
        words: set[str] = set()
        for qualified in names:
            short = qualified.rsplit(".", 1)[-1]
            if short not in _GENERIC:
                words.update(split_words(short))
        cached = evidence.__dict__["_type_words_cache"] = frozenset(words)
    return cached


def rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# --- time ran out -------------------------------------------------------------------------

#: Type-name words that say a time budget ran out.
TIMEOUT_WORDS = frozenset({"timeout", "timeouts", "deadline"})
#: Word pairs in type names that say the same (``TimedOut``, ``TimeLimitExceeded``).
TIMEOUT_PAIRS = (frozenset({"timed", "out"}), frozenset({"time", "limit"}), frozenset({"time", "out"}))

#: Message phrases that say a wait or an operation ran out of its time (not a network read).
TIME_RAN_OUT = rx(
    r"\btimed? ?out\b(?! ?(value|setting|parameter|argument|must|should|is invalid))"
    r"|\btimeout (expired|exceeded|reached|elapsed|occurred|after|while|waiting)"
    r"|\bdeadline (exceeded|passed|reached|expired|missed)|\bexceeded (the |its |a )?(deadline|timeout|time ?limit)"
    r"|\bnot (acquired|completed|finished|ready|done|available|reached|received|met|satisfied|started|stopped)"
    r"\b[^.\n]{0,40}\b(in time|within)\b"
    r"|\bwithin \d+(\.\d+)? ?(s|ms|sec|secs|seconds?|minutes?|mins?)\b"
    r"|\b(gave up|giving up) (after|waiting)|\bstill (running|pending|waiting|busy) after"
    r"|\btook (too long|longer than)|\bran out of time|\btime ?limit (exceeded|reached)"
    r"|\bwaited \d+(\.\d+)? ?(s|ms|sec|seconds?)\b|\bafter waiting \d"
)


def says_timeout_in_type(words: frozenset[str]) -> bool:
    return bool(words & TIMEOUT_WORDS) or any(pair <= words for pair in TIMEOUT_PAIRS)


# --- a service, the network, a machine resource --------------------------------------------

#: Type-name words that name a service or network failure.
UPSTREAM_WORDS = frozenset({
    "connection", "connect", "network", "upstream", "gateway", "unreachable", "unavailable",
    "disconnected", "socket", "transport", "dns", "broker", "outage", "offline",
})
#: Message phrases of a dependency that failed or answered with a 5xx.
UPSTREAM_FAILED = rx(
    r"\b(HTTP|status|status code|response|upstream|server|gateway|returned|got|answered|responded)\b"
    r"[^\n]{0,30}\b50[234]\b"
    r"|\b50[234] (bad gateway|service unavailable|gateway time-?out|server error)"
    r"|\bbad gateway\b|\bservice (temporarily )?unavailable\b|\bgateway time-?out\b"
    r"|\bupstream\b[^\n]{0,40}\b(5\d\d|error|failed|unavailable|down|unreachable|refused|reset|timed? ?out)"
    r"|\b(service|server|backend|broker|dependency|host|database|api)\b[^\n]{0,30}"
    r"\b(is )?(down|unreachable|unavailable|not reachable|not responding|did not (answer|respond))\b"
    r"|\bconnection (refused|reset|aborted|closed|lost|failed|timed out)\b"
)
#: Network words in a message: a timeout with these is the network's, not a wait's.
NETWORK_CONTEXT = rx(
    r"\b(read|connect|connection|socket|http|https|upstream|server|host|request|response|network|tcp|dns"
    r"|gateway|endpoint|url|api|remote|peer|port)\b"
)


def says_upstream_in_type(words: frozenset[str]) -> bool:
    return bool(words & UPSTREAM_WORDS)


# --- the machine or its configuration --------------------------------------------------------

#: A version requirement that is not met.
VERSION_REQUIREMENT = rx(
    r"\b(requires?|required|needs?|needed|wants?) [\w.\[\]-]+ ?(>=|>|==|~=|<=|<|!=) ?v?\d"
    r"|\b[\w.-]+ ?(>=|>|==|~=) ?v?\d[\w.]*,? (is )?(required|needed)"
    r"|\brequires? (a )?(newer|later|different|higher|older) (version|python)"
    r"|\b(python|version|v)\s?\d+(\.\d+)+\+? (or (newer|later|higher|above|greater)|is required|required)"
    r"|\b[A-Za-z][\w.-]* v?\d+(\.\d+)*\+? or (newer|later|higher|above|greater)\b"
    r"|\b[A-Za-z][\w.-]* v?\d+(\.\d+)+\+? (is |are )?(required|needed)\b"
    r"|\b(minimum|required|supported) (\w+ )?versions?\b"
    r"|\b(newer|later|higher|older|compatible) version of\b"
    r"|\bversion\b[^\n]{0,40}\b(is )?(required|not supported|unsupported|too old|too new|not compatible)"
    r"|\b(incompatible|unsupported|wrong|mismatched) (\w+ )?versions?\b|\bversion (mismatch|conflict)"
    r"|\b(found|installed|have|has|got) (version )?v?\d+(\.\d+)+[^\n]{0,30}\b(need|needs|required|requires|expected)"
    r"|[<>=]=? ?v?\d+(\.\d+)*[^\n]{0,60}\b(found|installed|have|has|got) [\w.-]+ v?\d+(\.\d+)+"
    r"|\bunsupported python\b|\bpython \d\.\d+ or (newer|later|above)"
)
#: Type-name words that name an unmet version requirement (with the word "version" or "requirement").
VERSION_WORDS = frozenset({"conflict", "mismatch", "incompatible", "unsupported", "requirement", "required",
                           "old", "outdated"})


def says_version_in_type(words: frozenset[str]) -> bool:
    return ("version" in words and bool(words & VERSION_WORDS)) or {"requirement", "not", "met"} <= words


# --- the suite's input data ----------------------------------------------------------------------

#: Type-name words of an input that could not be read.
DECODE_WORDS = frozenset({"decode", "parse", "parser", "parsing", "scanner", "malformed", "corrupt", "unmarshal"})
#: A value that could not be converted.
CONVERSION = rx(
    r"invalid literal for|could not convert string|does not match format|invalid isoformat"
    r"|is not a valid (date|number|value|integer|float|decimal|time|datetime|boolean|uuid|email)"
    r"|unconverted data remains|invalid (date|decimal|number|value|literal|format|timestamp|time)"
    r"|(month|day|hour|minute|second|year) must be in|day is out of range|unknown string format"
    r"|cannot (parse|convert)|could not parse|unable to parse|failed to parse|not a valid \w+ (string|value)"
)
#: ``'value'`` in a message (the first quoted value is usually the offending one).
QUOTED_VALUE = re.compile(r"""['"]([^'"\n]{1,80})['"]""")

#: An optional dependency or extra that is not installed, as libraries say it.
MISSING_DEPENDENCY = rx(
    r"\bmissing (optional )?dependenc(y|ies)\b|\boptional dependenc(y|ies)\b"
    r"|\b(requires?|needs?) the [\w.-]+ (package|module|library|extra)\b|\bpip install [\w.\[\]-]+"
    r"|\binstall [\w.\[\]-]+ to (use|enable)\b|\bsupport requires\b"
)
#: A value, key or token the code rejected (a validation or parse error in its own words).
REJECTED_VALUE = rx(
    r"^\s*(invalid|unknown|unrecognized|unrecognised|unsupported|unexpected|illegal|malformed|bad)\b"
    r"|\b(invalid|unknown|unrecognized|unrecognised|unsupported|illegal|malformed) ['\"]?[\w.-]+['\"]?\s*[:=]"
    r"|\bnot a valid\b|\bcould not be (parsed|interpreted|understood)\b"
)
