"""Pools of pre-generated text (words, sentences, names, emails, regex matches).

Bulk generation draws strings from these pools by index arrays, so a pool is
built once per column and run (deterministic for a seed) and every row costs
one array lookup. No numpy here.
"""

from __future__ import annotations

import random
import re
import sys
from typing import Any, Dict, List, Optional, Tuple

from .errors import DataError

if sys.version_info >= (3, 11):
    import re._constants as sre_constants
    import re._parser as sre_parse
else:  # pragma: no cover - Python 3.10
    import sre_constants
    import sre_parse

POOL_SIZE = 2048
SYLLABLES = tuple(c + v for c in "bcdfghklmnprstvz" for v in "aeiou")
FIRST_NAMES = (
    "Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Guido",
    "Radia", "Tim", "Hedy", "John", "Karen", "Donald", "Edsger", "Shafi", "Leslie", "Niklaus",
    "Anita", "Bjarne", "Sophie", "James", "Katherine", "Vint", "Annie", "Brian", "Mary", "Yukihiro",
)
LAST_NAMES = (
    "Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen",
    "Rossum", "Perlman", "Berners", "Lamarr", "McCarthy", "Jones", "Knuth", "Dijkstra", "Goldwasser",
    "Lamport", "Wirth", "Borg", "Stroustrup", "Wilson", "Gosling", "Johnson", "Cerf", "Easley",
    "Kernighan", "Keller", "Matsumoto",
)
DOMAINS = ("example.com", "example.org", "mail.test", "shop.test")


def word(rnd: random.Random, length: int) -> str:
    parts: List[str] = []
    size = 0
    while size < length:
        syllable = rnd.choice(SYLLABLES)
        parts.append(syllable)
        size += len(syllable)
    return "".join(parts)[:length]


def word_pool(rnd: random.Random, low: int, high: int, size: int = POOL_SIZE) -> List[str]:
    return [word(rnd, rnd.randint(low, high)) for _ in range(size)]


def sentence_pool(rnd: random.Random, low: int, high: int, size: int = POOL_SIZE) -> List[str]:
    pool = []
    for _ in range(size):
        target = rnd.randint(low, high)
        words: List[str] = []
        length = -1
        while length < target:
            w = word(rnd, rnd.randint(2, 9))
            words.append(w)
            length += len(w) + 1
        text = " ".join(words).capitalize()[:target]
        pool.append(text)
    return pool


def name_pool(rnd: random.Random, low: int, high: int, size: int = POOL_SIZE) -> List[str]:
    pool = []
    for _ in range(size):
        name = f"{rnd.choice(FIRST_NAMES)} {rnd.choice(LAST_NAMES)}"[:high]
        pool.append(name.ljust(low, "a"))
    return pool


def email_locals(rnd: random.Random, size: int = POOL_SIZE) -> List[str]:
    return [f"{rnd.choice(FIRST_NAMES)}.{rnd.choice(LAST_NAMES)}".lower() for _ in range(size)]


def email_pool(rnd: random.Random, low: int, high: int, size: int = POOL_SIZE) -> List[str]:
    pool = []
    for local in email_locals(rnd, size):
        text = f"{local}{rnd.randint(1, 999)}@{rnd.choice(DOMAINS)}"
        if len(text) > high:
            text = text[-high:].lstrip(".@") or "a@b.c"[:high]
        pool.append(text.rjust(low, "a"))
    return pool


def json_pool(rnd: random.Random, size: int = POOL_SIZE) -> List[str]:
    pool = []
    for _ in range(size):
        pool.append(
            f'{{"name": "{word(rnd, rnd.randint(3, 10))}", "qty": {rnd.randint(0, 99)}, '
            f'"tags": ["{word(rnd, 4)}", "{word(rnd, 5)}"], "active": {rnd.choice(["true", "false"])}}}'
        )
    return pool


# --- regular expressions ------------------------------------------------------

MAX_REPEAT = 8
PRINTABLE = [chr(c) for c in range(32, 127)]
CATEGORIES = {
    sre_constants.CATEGORY_DIGIT: [chr(c) for c in range(48, 58)],
    sre_constants.CATEGORY_NOT_DIGIT: [c for c in PRINTABLE if not c.isdigit()],
    sre_constants.CATEGORY_WORD: [c for c in PRINTABLE if c.isalnum() or c == "_"],
    sre_constants.CATEGORY_NOT_WORD: [c for c in PRINTABLE if not (c.isalnum() or c == "_")],
    sre_constants.CATEGORY_SPACE: [" ", "\t"],
    sre_constants.CATEGORY_NOT_SPACE: [c for c in PRINTABLE if c != " "],
}


def regex_pool(pattern: str, rnd: random.Random, where: str, *, length: Optional[Tuple[int, int]] = None, size: int = 512) -> List[str]:
    """Distinct strings fully matching ``pattern`` (and the length range), drawn at random."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as error:  # pragma: no cover - patterns are checked when parsed
        raise DataError(f"{where}: invalid regular expression: {error}") from None
    compiled = re.compile(pattern)
    found: Dict[str, None] = {}
    for _ in range(size * 4):
        try:
            text = "".join(_emit(parsed, rnd))
        except _Unsupported as error:
            raise DataError(f"{where}: cannot generate values for regex {pattern!r} ({error})") from None
        if compiled.fullmatch(text) and (length is None or length[0] <= len(text) <= length[1]):
            found[text] = None
            if len(found) >= size:
                break
    if not found:
        raise DataError(f"{where}: no value of length {length} matches regex {pattern!r}")
    return list(found)


class _Unsupported(Exception):
    pass


def _emit(parsed: Any, rnd: random.Random) -> List[str]:
    out: List[str] = []
    for op, arg in parsed:
        if op is sre_constants.LITERAL:
            out.append(chr(arg))
        elif op is sre_constants.NOT_LITERAL:
            out.append(rnd.choice([c for c in PRINTABLE if ord(c) != arg]))
        elif op is sre_constants.ANY:
            out.append(rnd.choice(PRINTABLE))
        elif op is sre_constants.IN:
            out.append(_from_set(arg, rnd))
        elif op is sre_constants.BRANCH:
            out.extend(_emit(rnd.choice(arg[1]), rnd))
        elif op is sre_constants.SUBPATTERN:
            out.extend(_emit(arg[-1], rnd))
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, getattr(sre_constants, "POSSESSIVE_REPEAT", None)):
            low, high, item = arg
            high = min(high, low + MAX_REPEAT) if high != sre_constants.MAXREPEAT else low + MAX_REPEAT
            for _ in range(rnd.randint(low, high)):
                out.extend(_emit(item, rnd))
        elif op is sre_constants.AT:
            continue
        elif op is sre_constants.CATEGORY:  # pragma: no cover - only inside IN
            out.append(rnd.choice(CATEGORIES[arg]))
        else:
            raise _Unsupported(f"unsupported regex construct {op}")
    return out


def _from_set(items: Any, rnd: random.Random) -> str:
    chars: List[str] = []
    negate = False
    for op, arg in items:
        if op is sre_constants.NEGATE:
            negate = True
        elif op is sre_constants.LITERAL:
            chars.append(chr(arg))
        elif op is sre_constants.RANGE:
            chars.extend(chr(c) for c in range(arg[0], min(arg[1], arg[0] + 500) + 1))
        elif op is sre_constants.CATEGORY:
            chars.extend(CATEGORIES.get(arg, []))
    if negate:
        chars = [c for c in PRINTABLE if c not in set(chars)]
    if not chars:
        raise _Unsupported("empty character set")
    return rnd.choice(chars)
