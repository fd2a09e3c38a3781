"""Safety and savings of change-based selection on a real project nobody here wrote.

The script downloads the sdist of an open-source pure-Python library that ships
its test suite (toolz by default, cached in ``~/.cache/pytest-orchestra/bench-projects``),
unpacks it into a temporary folder, makes it a git repository (one commit), and
records, once on that clean commit, pytest-orchestra's map
(``--orchestra-record-map``) and pytest-testmon's database. Then, for each of
N seeded one-line mutants on lines the suite executes (half of them at import
time: module constants, class attributes, default arguments, signatures, ``__all__``,
decorators), it
applies the mutant to the working tree (uncommitted) and runs:

- the full suite, to learn which tests kill the mutant (failed or errored where the clean
  run did not, new test ids included, plus the tests of files that no longer import);
- ``pytest --orchestra-changed --collect-only -q`` (which tests orchestra selects);
- ``pytest --testmon --testmon-forceselect --collect-only`` on a copy of the clean database
  (testmon turns selection off when ``-m``/``-k`` is given, as packaging's addopts do);
- ``pytest --picked=only --collect-only``;

then reverts it. A tool catches a killed mutant when it selects at least one
killing test (or its run stops on a collection error, which fails loudly too).

Competitors and the project's test dependencies live in a dedicated venv
(``~/.cache/pytest-orchestra/bench-venv-selection``: pytest, pytest-testmon,
pytest-picked, coverage, pytest-timeout) and a ``--target`` folder, never in the
project's environment; pytest-orchestra runs from the interpreter running this
script (the project's venv, same pytest version).

Usage::

    .venv/bin/python benchmarks/selection_mutants.py                # 60 mutants of toolz
    .venv/bin/python benchmarks/selection_mutants.py --quick        # 10 mutants, smoke check
    .venv/bin/python benchmarks/selection_mutants.py --project humanize --mutants 80 --seed 7
    .venv/bin/python benchmarks/selection_mutants.py --json > result.json
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import tokenize
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

CACHE = Path.home() / ".cache" / "pytest-orchestra"
PROJECTS_CACHE = CACHE / "bench-projects"
BENCH_VENV = CACHE / "bench-venv-selection"
BENCH_DEPS = CACHE / "bench-deps"
RESULTS_CACHE = CACHE / "bench-results"
CACHE_FORMAT = 3
TOOLS_REQUIREMENTS = ["pytest==9.2.0", "pytest-testmon==2.2.0", "pytest-picked==0.5.1",
                      "coverage==7.17.3", "pytest-timeout==2.4.0"]

KINDS = ("function-body", "module-constant", "class-attribute", "default-argument", "signature", "__all__",
         "decorator")
IMPORT_KINDS = KINDS[1:]
TOOLS = ("orchestra", "testmon", "picked")
TARGET_KILLING_SELECTED = 1.0
TARGET_MEAN_SELECTED = 0.20


@dataclass(frozen=True)
class Project:
    """An sdist whose tests run from its unpacked source tree."""

    requirement: str                 # name==version, downloaded with --no-binary :all:
    packages: Tuple[str, ...]        # folders (relative to the root) holding the code to mutate
    pythonpath: Tuple[str, ...]      # folders put on PYTHONPATH (so the library imports from source)
    test_args: Tuple[str, ...]       # what to hand pytest
    omit: Tuple[str, ...] = ()       # path fragments never mutated (tests, shims)
    deps: Tuple[str, ...] = ()       # test dependencies, installed into a --target folder


PROJECTS: Dict[str, Project] = {
    "toolz": Project(
        requirement="toolz==1.2.0", packages=("toolz",), pythonpath=(".",), test_args=("toolz",),
        omit=("/tests/", "toolz/compatibility.py"),
    ),
    # Richer in import-time code (134 class-attribute lines, 102 decorator lines) but slower: its
    # test_version.py (51,000 parametrized cases) and test_requirements.py are left out.
    "packaging": Project(
        requirement="packaging==26.3", packages=("src/packaging",), pythonpath=("src",),
        test_args=("tests", "--ignore=tests/test_version.py", "--ignore=tests/test_requirements.py",
                   "--ignore=tests/property"),
        deps=("pretend==1.0.9", "tomli_w==1.2.0"),
    ),
    "humanize": Project(
        requirement="humanize==4.17.0", packages=("src/humanize",), pythonpath=("src",),
        test_args=("tests", "--ignore=tests/test_benchmarks.py"),
        omit=("_version.py",), deps=("freezegun==1.5.5",),
    ),
}

GITIGNORE = ".orchestra/\n.testmondata*\n__pycache__/\n.pytest_cache/\n.coverage*\n*.egg-info/\n"

#: Loaded with ``-p bench_outcomes`` in every pytest run: writes what was collected (after
#: every plugin's deselection) and each test's outcome to the file named by $BENCH_OUTCOMES.
OUTCOMES_PLUGIN = '''\
import json
import os

_state = {"collected": None, "outcomes": {}, "collect_errors": []}


def pytest_collectreport(report):
    if report.failed:
        _state["collect_errors"].append(report.nodeid)


def pytest_collection_finish(session):
    _state["collected"] = [item.nodeid for item in session.items]


def pytest_runtest_logreport(report):
    outcomes = _state["outcomes"]
    if report.failed:
        outcomes[report.nodeid] = "failed"
    elif report.skipped and outcomes.get(report.nodeid) != "failed":
        outcomes[report.nodeid] = "xfailed" if hasattr(report, "wasxfail") else "skipped"
    elif report.when == "call" and outcomes.get(report.nodeid) is None:
        outcomes[report.nodeid] = "passed"


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("BENCH_OUTCOMES")
    if path:
        with open(path, "w") as handle:
            json.dump({**_state, "exitstatus": int(exitstatus)}, handle)
'''


def log(message: str) -> None:
    print(f"[selection_mutants] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Mutant generation (pure: source text in, edits out)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mutant:
    path: str          # relative to the project root
    line: int          # 1-based
    kind: str
    col: int           # where the edited token starts (0-based), -1 for a removed line
    old: str           # the whole line before
    new: str           # the whole line after
    edit: str          # human-readable: "'<=' -> '<'"

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


_OP_SWAPS = {"==": "!=", "!=": "==", "<": "<=", "<=": "<", ">": ">=", ">=": ">", "+": "-", "-": "+",
             "*": "/", "//": "/", "%": "//", "+=": "-=", "-=": "+=", "is": "is not", "in": "not in"}
_NAME_SWAPS = {"and": "or", "or": "and", "True": "False", "False": "True", "break": "continue",
               "continue": "break", "is": "is not", "in": "not in", "None": "False"}


def token_edits(tokens: Sequence[tokenize.TokenInfo], index: int) -> List[Tuple[str, str]]:
    """The replacements (new text, description) of one token; empty when it has none."""
    tok = tokens[index]
    text = tok.string
    prev = tokens[index - 1].string if index else ""
    nxt = tokens[index + 1].string if index + 1 < len(tokens) else ""
    edits: List[Tuple[str, str]] = []
    if tok.type == tokenize.OP and text in _OP_SWAPS and not (text in ("*", "-") and prev in ("(", ",", "=", "")):
        edits.append((_OP_SWAPS[text], f"{text!r} -> {_OP_SWAPS[text]!r}"))
    elif tok.type == tokenize.NAME:
        if text == "not":
            if prev == "is":
                edits.append(("", "'is not' -> 'is'"))
            elif nxt == "in":
                edits.append(("", "'not in' -> 'in'"))
            else:
                edits.append(("", "remove 'not'"))
        elif text in ("is", "in") and (nxt == "not" or prev == "not"):
            pass
        elif text == "in" and prev == "for":
            pass
        elif text in _NAME_SWAPS:
            edits.append((_NAME_SWAPS[text], f"{text!r} -> {_NAME_SWAPS[text]!r}"))
    elif tok.type == tokenize.NUMBER:
        try:
            value = int(text.replace("_", ""), 0)
        except ValueError:
            try:
                value_f = float(text.replace("_", ""))
            except ValueError:
                return edits
            edits.append((repr(value_f * 2 + 1), f"{text} -> {value_f * 2 + 1!r}"))
        else:
            edits.append((str(value + 1), f"{text} -> {value + 1}"))
    elif tok.type == tokenize.STRING:
        quote_at = next((i for i, ch in enumerate(text) if ch in "'\""), -1)
        if quote_at >= 0 and "f" not in text[:quote_at].lower() and "b" not in text[:quote_at].lower():
            width = 3 if text[quote_at:quote_at + 3] in ('"""', "'''") else 1
            cut = quote_at + width
            new = text[:cut] + "X" + text[cut:]
            edits.append((new, f"{_short(text)} -> {_short(new)}"))
    return edits


def _short(text: str, width: int = 30) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _docstring_lines(tree: ast.AST) -> Set[int]:
    lines: Set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


@dataclass
class _Region:
    kind: str
    node: ast.AST            # the expression (or statement) whose tokens may be edited
    anchor: int              # the line coverage must report as executed
    remove_line: bool = False
    #: Whole-line edits made by a function of (node, lines) instead of token edits.
    edits: Optional[Callable[[ast.AST, List[str]], List[Tuple[int, str, str]]]] = None


def _regions(tree: ast.Module) -> List[_Region]:
    """Every editable region of a module, classified by kind."""
    regions: List[_Region] = []

    def header_end(stmt: ast.stmt) -> int:
        bodies = [b for b in (getattr(stmt, "body", None), getattr(stmt, "handlers", None)) if b]
        if bodies and isinstance(bodies[0], list) and bodies[0]:
            return bodies[0][0].lineno - 1
        return stmt.end_lineno or stmt.lineno

    def visit(body: Iterable[ast.stmt], scope: str) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if scope == "function":
                    regions.append(_Region("function-body", stmt, stmt.lineno))
                else:
                    for deco in stmt.decorator_list:
                        regions.append(_Region("decorator", deco, deco.lineno, remove_line=True))
                    if not isinstance(stmt, ast.ClassDef):
                        for default in [*stmt.args.defaults, *[d for d in stmt.args.kw_defaults if d]]:
                            regions.append(_Region("default-argument", default, stmt.lineno))
                        method = scope == "class"
                        regions.append(_Region("signature", stmt, stmt.lineno,
                                               edits=lambda node, lines, m=method: signature_edits(node, lines, m)))
                inner = "function" if scope == "function" or not isinstance(stmt, ast.ClassDef) else "class"
                visit(stmt.body, inner)
                continue
            if scope == "function":
                # the statement's own lines: all of a simple one, the header of a compound one
                end = header_end(stmt) if hasattr(stmt, "body") else (stmt.end_lineno or stmt.lineno)
                regions.append(_Region("function-body", stmt, stmt.lineno))
                regions[-1].node = _LineSpan(stmt.lineno, end)  # type: ignore[assignment]
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and stmt.value is not None:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if scope == "module" and any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                    regions.append(_Region("__all__", stmt.value, stmt.lineno, edits=all_edits))
                    regions.append(_Region("__all__", stmt.value, stmt.lineno))
                else:
                    kind = "module-constant" if scope == "module" else "class-attribute"
                    regions.append(_Region(kind, stmt.value, stmt.lineno))
            for child in ("body", "orelse", "finalbody"):
                if hasattr(stmt, child) and not isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
                    visit(getattr(stmt, child), scope)
            for handler in getattr(stmt, "handlers", []) or []:
                visit(handler.body, scope)

    visit(tree.body, "module")
    return regions


def signature_edits(node: ast.AST, lines: List[str], method: bool) -> List[Tuple[int, str, str]]:
    """One-line edits of a ``def`` line's parameters: (line, new text, description).

    A default removed, two neighbouring parameters swapped, a required parameter added,
    the parameters made keyword-only. Only for headers written on one line.
    """
    args = node.args  # type: ignore[attr-defined]
    row = node.lineno  # type: ignore[attr-defined]
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, *(a for a in (args.vararg, args.kwarg) if a)]
    parts = [*every, *args.defaults, *(d for d in args.kw_defaults if d)]
    old = lines[row - 1]
    if not old.isascii() or any(p.lineno != row or p.end_lineno != row for p in parts):
        return []  # ast's columns count bytes: ASCII lines only
    positional = [*args.posonlyargs, *args.args]
    free = positional[1:] if method and positional and positional[0].arg in ("self", "cls") else positional
    edits: List[Tuple[int, str, str]] = []
    defaults = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    defaults += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    for arg, default in defaults:
        edits.append((row, old[:arg.end_col_offset] + old[default.end_col_offset:],
                      f"remove the default of {arg.arg!r}"))
    for first, second in zip(free, free[1:]):
        a, b = first.col_offset, second.col_offset
        swapped = (old[:a] + second.arg + old[a + len(first.arg):b] + first.arg + old[b + len(second.arg):])
        edits.append((row, swapped, f"swap {first.arg!r} and {second.arg!r}"))
    if positional and not (args.defaults or args.vararg or args.kwonlyargs or args.kwarg):
        end = positional[-1].end_col_offset
        edits.append((row, old[:end] + ", extra_argument" + old[end:], "add a required parameter"))
    if free and not (args.posonlyargs or args.vararg or args.kwonlyargs):
        at = free[0].col_offset
        edits.append((row, old[:at] + "*, " + old[at:], f"make {free[0].arg!r} and later keyword-only"))
    return edits


def all_edits(node: ast.AST, lines: List[str]) -> List[Tuple[int, str, str]]:
    """``__all__`` with one of its names left out (a name ``import *`` no longer binds)."""
    if not isinstance(node, (ast.List, ast.Tuple)) or len(node.elts) < 2:
        return []
    edits: List[Tuple[int, str, str]] = []
    for element in node.elts:
        if not (isinstance(element, ast.Constant) and isinstance(element.value, str)
                and element.lineno == element.end_lineno):
            continue
        old = lines[element.lineno - 1]
        if not old.isascii():
            continue
        end = element.end_col_offset
        rest = old[end:]
        stripped = rest.lstrip()
        if stripped.startswith(","):
            end += len(rest) - len(stripped) + 1
            while end < len(old) and old[end] == " ":
                end += 1
        edits.append((element.lineno, old[:element.col_offset] + old[end:], f"leave {element.value!r} out of __all__"))
    return edits


@dataclass
class _LineSpan:
    lineno: int
    end_lineno: int
    col_offset: int = 0
    end_col_offset: int = 10 ** 6


def _within(tok: tokenize.TokenInfo, node: object) -> bool:
    start_line, start_col = node.lineno, node.col_offset  # type: ignore[attr-defined]
    end_line, end_col = node.end_lineno, node.end_col_offset  # type: ignore[attr-defined]
    if tok.start[0] != tok.end[0]:
        return False
    if (tok.start[0], tok.start[1]) < (start_line, start_col):
        return False
    return (tok.end[0], tok.end[1]) <= (end_line, end_col)


def candidate_mutants(path: str, source: str, executed: Optional[Set[int]] = None,
                      check: bool = True) -> Dict[str, List[Mutant]]:
    """Every one-line mutant of ``source`` that compiles, by kind.

    ``executed``: the lines coverage saw run (statement first lines); a region whose anchor line
    is not in it is skipped. ``None`` keeps every region. ``check=False`` skips compiling each
    candidate (a large table of constants has thousands): call :func:`is_valid` on the chosen.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
              if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT,
                                tokenize.DEDENT, tokenize.ENDMARKER)]
    docstrings = _docstring_lines(tree)
    original = ast.dump(tree)
    found: Dict[str, Dict[Tuple[int, int, str], Mutant]] = {kind: {} for kind in KINDS}
    for region in _regions(tree):
        if executed is not None and region.anchor not in executed:
            continue
        node = region.node
        if region.edits is not None:
            for row, new, description in region.edits(node, lines):
                mutant = _checked(path, source, lines, row, -1, lines[row - 1], new, description, region.kind,
                                  original if check else None)
                if mutant and mutant.old != mutant.new:
                    found[region.kind][(row, -1, new)] = mutant
            continue
        if region.remove_line:
            if node.lineno == node.end_lineno:  # type: ignore[attr-defined]
                old = lines[node.lineno - 1]  # type: ignore[attr-defined]
                if old.strip().startswith("@") and old.count("@") == 1:
                    new = "\n"
                    mutant = _checked(path, source, lines, node.lineno, -1, old, new,  # type: ignore[attr-defined]
                                      f"remove {old.strip()!r}", region.kind, original if check else None)
                    if mutant:
                        found[region.kind][(mutant.line, -1, new)] = mutant
        for index, tok in enumerate(tokens):
            if not _within(tok, node) or tok.start[0] in docstrings:
                continue
            for replacement, description in token_edits(tokens, index):
                row, col = tok.start
                old = lines[row - 1]
                new = old[:col] + replacement + old[tok.end[1]:]
                if replacement == "" and new[col:col + 1] == " ":
                    new = new[:col] + new[col + 1:]
                mutant = _checked(path, source, lines, row, col, old, new, description, region.kind,
                                  original if check else None)
                if mutant:
                    found[region.kind][(row, col, replacement)] = mutant
    return {kind: list(found[kind].values()) for kind in KINDS}


def is_valid(mutant: Mutant, source: str) -> bool:
    """The mutant applied to ``source`` compiles without warnings and changes the syntax tree."""
    lines = source.splitlines(keepends=True)
    return _checked(mutant.path, source, lines, mutant.line, mutant.col, mutant.old, mutant.new, mutant.edit,
                    mutant.kind, ast.dump(ast.parse(source))) is not None


def _checked(path: str, source: str, lines: List[str], row: int, col: int, old: str, new: str,
             description: str, kind: str, original: Optional[str]) -> Optional[Mutant]:
    if original is None:
        return Mutant(path=path, line=row, kind=kind, col=col, old=old, new=new, edit=description)
    mutated = "".join(lines[: row - 1]) + new + "".join(lines[row:])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a mutant that warns at compile time ("is" with a literal) is no good
            tree = ast.parse(mutated)
            compile(mutated, path, "exec")
    except (SyntaxError, SyntaxWarning, ValueError):
        return None
    if ast.dump(tree) == original:
        return None
    return Mutant(path=path, line=row, kind=kind, col=col, old=old, new=new, edit=description)


def allocate(total: int, import_share: float) -> Dict[str, int]:
    """How many mutants of each kind: ``import_share`` of them split over the import-time kinds."""
    at_import = max(len(IMPORT_KINDS) if total >= 2 * len(IMPORT_KINDS) else 1, round(total * import_share))
    counts = {kind: at_import // len(IMPORT_KINDS) for kind in IMPORT_KINDS}
    for kind in IMPORT_KINDS[: at_import % len(IMPORT_KINDS)]:
        counts[kind] += 1
    counts["function-body"] = total - sum(counts.values())
    return counts


def choose_mutants(candidates: Dict[str, List[Mutant]], counts: Dict[str, int], seed: int,
                   valid: Optional[Callable[[Mutant], bool]] = None) -> List[Mutant]:
    """Seeded choice: one mutant per line, spread over files.

    Within each kind the files are visited round-robin (in a seeded order), each visit drawing
    one unused line of that file, so one large file (a table of constants) does not supply
    every mutant of its kind. A kind with too few candidate lines gives its remainder to
    function-body mutants.
    """
    rng = random.Random(seed)
    chosen: List[Mutant] = []
    used_lines: Set[Tuple[str, int]] = set()
    shortfall = 0
    for kind in (*IMPORT_KINDS, "function-body"):
        want = counts.get(kind, 0) + (shortfall if kind == "function-body" else 0)
        by_file: Dict[str, Dict[int, List[Mutant]]] = {}
        for mutant in sorted(candidates.get(kind, []), key=lambda m: (m.path, m.line, m.col, m.new)):
            if (mutant.path, mutant.line) not in used_lines:
                by_file.setdefault(mutant.path, {}).setdefault(mutant.line, []).append(mutant)
        pools = {path: sorted(lines) for path, lines in by_file.items()}
        for pool in pools.values():
            rng.shuffle(pool)
        order = sorted(pools)
        rng.shuffle(order)
        picked = 0
        while picked < want and any(pools.values()):
            for path in order:
                if picked >= want:
                    break
                while pools[path]:
                    line = pools[path].pop()
                    options = list(by_file[path][line])
                    rng.shuffle(options)
                    mutant = next((m for m in options if valid is None or valid(m)), None)
                    if mutant is not None:
                        used_lines.add((path, line))
                        chosen.append(mutant)
                        picked += 1
                        break
        if kind != "function-body":
            shortfall += want - picked
    return chosen


def apply_mutant(root: Path, mutant: Mutant) -> str:
    """Write the mutant into the working tree; returns the original text (to restore)."""
    target = root / mutant.path
    original = target.read_text()
    lines = original.splitlines(keepends=True)
    if lines[mutant.line - 1] != mutant.old:
        raise RuntimeError(f"{mutant.where}: the line is not what the mutant expects")
    lines[mutant.line - 1] = mutant.new
    target.write_text("".join(lines))
    return original


# --------------------------------------------------------------------------------------------
# Figures (pure)
# --------------------------------------------------------------------------------------------

@dataclass
class MutantResult:
    mutant: Mutant
    killing: List[str]
    killed_by_timeout: bool
    selected: Dict[str, List[str]]
    selection_error: Dict[str, bool]
    selection_seconds: Dict[str, float]
    full_seconds: float
    explain: str = ""
    exit_codes: Dict[str, int] = field(default_factory=dict)  # of each tool's selection run: 2 = collection errors
    error_files: Dict[str, List[str]] = field(default_factory=dict)  # test files whose collection failed

    def surfaced(self, tool: str) -> Set[str]:
        """What the tool's run shows the developer: the tests it selected, plus the tests of files
        whose collection failed in its run (a mutant that breaks an import fails them loudly)."""
        broken = set(self.error_files.get(tool, ()))
        return set(self.selected[tool]) | {t for t in self.killing if t.split("::")[0] in broken}

    def caught(self, tool: str) -> bool:
        return bool(set(self.killing) & self.surfaced(tool)) or self.selection_error[tool]


def summarize(results: List[MutantResult], total_tests: int) -> Dict[str, Dict[str, Dict[str, float]]]:
    """tool -> kind (and 'all', 'import-time') -> figures."""
    table: Dict[str, Dict[str, Dict[str, float]]] = {}
    groups = {kind: [r for r in results if r.mutant.kind == kind] for kind in KINDS}
    groups["import-time"] = [r for r in results if r.mutant.kind in IMPORT_KINDS]
    groups["all"] = list(results)
    for tool in TOOLS:
        table[tool] = {}
        for name, rows in groups.items():
            killed = [r for r in rows if r.killing]
            killing = sum(len(r.killing) for r in killed)
            killing_selected = sum(len(set(r.killing) & r.surfaced(tool)) for r in killed)
            fractions = [len(r.surfaced(tool)) / total_tests for r in rows] if total_tests else []
            table[tool][name] = {
                "mutants": len(rows),
                "killed": len(killed),
                "caught": sum(1 for r in killed if r.caught(tool)),
                "killing_tests": killing,
                "killing_selected": killing_selected,
                "killing_selected_fraction": round(killing_selected / killing, 4) if killing else None,
                "mean_selected_fraction": round(statistics.fmean(fractions), 4) if fractions else None,
                "mean_selected_fraction_killed": (round(statistics.fmean(len(r.surfaced(tool)) / total_tests
                                                                         for r in killed), 4)
                                                  if killed and total_tests else None),
            }
    return table


# --------------------------------------------------------------------------------------------
# Running things
# --------------------------------------------------------------------------------------------

def run(command: Sequence[str], cwd: Path, env: Dict[str, str], timeout: float = 900,
        check: bool = False) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def ensure_bench_venv() -> Path:
    python = BENCH_VENV / "bin" / "python"
    if not python.exists():
        log(f"creating {BENCH_VENV} (benchmark only)")
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    probe = subprocess.run([str(python), "-c", "import testmon, pytest_picked, coverage, pytest_timeout, pytest;"
                            "print(pytest.__version__)"], capture_output=True, text=True)
    if probe.returncode != 0 or probe.stdout.strip() != "9.2.0":
        log(f"installing {' '.join(TOOLS_REQUIREMENTS)} into {BENCH_VENV}")
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        *TOOLS_REQUIREMENTS], check=True)
    return python


def ensure_deps(project: Project, name: str) -> Optional[Path]:
    if not project.deps:
        return None
    target = BENCH_DEPS / f"selection-{name}"
    stamp = target / ".requirements"
    wanted = "\n".join(project.deps)
    if not stamp.exists() or stamp.read_text() != wanted:
        log(f"installing {' '.join(project.deps)} into {target} (benchmark only)")
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "--target", str(target), *project.deps], check=True)
        stamp.write_text(wanted)
    return target


def fetch_sdist(requirement: str) -> Path:
    name, version = requirement.split("==")
    PROJECTS_CACHE.mkdir(parents=True, exist_ok=True)
    for candidate in PROJECTS_CACHE.glob("*.tar.gz"):
        if candidate.name.lower().replace("_", "-") == f"{name}-{version}.tar.gz".lower():
            return candidate
    log(f"downloading the sdist of {requirement}")
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                    "--no-binary", ":all:", "-d", str(PROJECTS_CACHE), requirement], check=True)
    return fetch_sdist(requirement)


def unpack(sdist: Path, into: Path) -> Path:
    with tarfile.open(sdist) as archive:
        archive.extractall(into, filter="data")
    (root,) = [p for p in into.iterdir() if p.is_dir()]
    return root


GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}


def git_init(root: Path, env: Dict[str, str]) -> None:
    (root / ".gitignore").write_text(GITIGNORE)
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                    ["git", "commit", "-q", "-m", "sdist as released"]):
        run(command, root, env, check=True)


class Runner:
    """The pytest invocations, all with the same test arguments and the outcomes plugin."""

    def __init__(self, root: Path, project: Project, bench_python: Path, plugin_dir: Path,
                 deps: Optional[Path], timeout: float) -> None:
        self.root = root
        self.project = project
        self.bench_python = bench_python
        self.timeout = timeout
        paths = [str(plugin_dir), *(str(root / p) for p in project.pythonpath)]
        if deps:
            paths.append(str(deps))
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_", "COVERAGE_"))}
        self.env = {**base, **GIT_ENV, "PYTHONPATH": os.pathsep.join(paths), "PYTHONDONTWRITEBYTECODE": "1"}
        self.outcomes_file = plugin_dir / "outcomes.json"

    def pytest(self, python: Path, args: Sequence[str], extra_env: Optional[Dict[str, str]] = None,
               timeout: Optional[float] = None) -> Tuple[subprocess.CompletedProcess[str], dict, float]:
        self.outcomes_file.unlink(missing_ok=True)
        env = {**self.env, "BENCH_OUTCOMES": str(self.outcomes_file), **(extra_env or {})}
        # testmon reads options the cache provider adds (--lf): it keeps its cache plugin
        no_cache = [] if "--testmon" in args else ["-p", "no:cacheprovider"]
        command = [str(python), "-m", "pytest", "-p", "bench_outcomes", *no_cache, *args, *self.project.test_args]
        started = time.perf_counter()
        try:
            done = run(command, self.root, env, timeout=timeout or self.timeout)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(command, -9, "", "timeout"), {}, time.perf_counter() - started
        elapsed = time.perf_counter() - started
        data = json.loads(self.outcomes_file.read_text()) if self.outcomes_file.exists() else {}
        return done, data, elapsed

    def full(self) -> Tuple[subprocess.CompletedProcess[str], dict, float]:
        return self.pytest(self.bench_python, ["-p", "no:orchestra", "-q", "--timeout", "20",
                                               "--continue-on-collection-errors"])


def mutant_key(mutant: Mutant) -> str:
    return json.dumps([mutant.path, mutant.line, mutant.col, mutant.old, mutant.new])


def load_cache(path: Path, collected: Sequence[str]) -> Dict[str, dict]:
    """The kill matrix and the competitors' selections of an earlier run (same project and seed)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if data.get("format") != CACHE_FORMAT:
        return {}
    if data.get("collected") != list(collected):
        log(f"{path} was measured on another suite: not reused")
        return {}
    return dict(data.get("mutants", {}))


def save_cache(path: Path, collected: Sequence[str], mutants: Dict[str, dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": CACHE_FORMAT, "collected": list(collected), "mutants": mutants}))


def save_sqlite(database: Path, copy: Path) -> None:
    """Copy a SQLite database in WAL mode: checkpoint the log into the main file first."""
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    shutil.copyfile(database, copy)


def restore_sqlite(copy: Path, database: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(copy, database)


def error_files(data: dict) -> List[str]:
    """The files whose collection failed in a run (from the outcomes plugin)."""
    return sorted({nodeid.split("::")[0] for nodeid in data.get("collect_errors", []) if nodeid})


def collected_from_stdout(stdout: str) -> List[str]:
    return [line.strip() for line in stdout.splitlines() if "::" in line and not line.startswith((" ", "<"))]


def killing_tests(baseline: Dict[str, str], collected: Sequence[str], data: dict) -> List[str]:
    """The tests that fail with the mutant and did not fail on the clean tree.

    That is every failed (or errored) test of the mutant's run, including tests whose nodeid
    the mutant changed (a parametrize id built from a mutated constant is a new test, and it
    is judged by its own outcome), plus the clean tests that vanished because their file no
    longer imports. A run that crashed kills every test.
    """
    if not data or data.get("collected") is None:
        return sorted(baseline)
    outcomes = data.get("outcomes", {})
    now = set(data["collected"])
    broken = set(error_files(data))
    killing = {nodeid for nodeid, outcome in outcomes.items()
               if outcome == "failed" and baseline.get(nodeid) != "failed"}
    killing |= {nodeid for nodeid in collected
                if nodeid not in now and baseline.get(nodeid) != "failed" and nodeid.split("::")[0] in broken}
    return sorted(killing)


def tool_versions(bench_python: Path, project_requirement: str) -> Dict[str, str]:
    script = ("import sys, importlib.metadata as m; print(sys.version.split()[0]);"
              "[print(m.version(n)) for n in ('pytest', 'pytest-testmon', 'pytest-picked', 'coverage')]")
    bench = subprocess.run([str(bench_python), "-c", script], capture_output=True, text=True).stdout.split()
    ours = subprocess.run([sys.executable, "-c", "import sys, importlib.metadata as m; print(sys.version.split()[0]);"
                           "print(m.version('pytest')); print(m.version('pytest-orchestra'))"],
                          capture_output=True, text=True).stdout.split()
    here = Path(__file__).resolve().parents[1]
    commit = subprocess.run(["git", "-C", str(here), "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip()
    return {"python": ours[0] if ours else "?", "pytest": ours[1] if len(ours) > 1 else "?",
            "pytest-orchestra": f"{ours[2] if len(ours) > 2 else '?'} ({commit})",
            "bench python": bench[0] if bench else "?", "bench pytest": bench[1] if len(bench) > 1 else "?",
            "pytest-testmon": bench[2] if len(bench) > 2 else "?", "pytest-picked": bench[3] if len(bench) > 3 else "?",
            "coverage": bench[4] if len(bench) > 4 else "?", "project": project_requirement}


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def orchestra_available() -> bool:
    done = subprocess.run([sys.executable, "-m", "pytest", "--help"], capture_output=True, text=True)
    return "--orchestra-changed" in done.stdout and "--orchestra-record-map" in done.stdout


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------

def executed_lines(runner: Runner, work: Path) -> Dict[str, Set[int]]:
    """Lines the clean suite executes, per mutable file (coverage.py, from the bench venv)."""
    data_file = work / "coverage.data"
    sources = ",".join(str(runner.root / p) for p in runner.project.packages)
    env = {**runner.env, "COVERAGE_FILE": str(data_file)}
    rcfile = work / "coveragerc"  # the project's own settings (fail_under, omit, plugins) stay out of it
    rcfile.write_text("[run]\n")
    command = [str(runner.bench_python), "-m", "coverage", "run", f"--rcfile={rcfile}", f"--source={sources}",
               "-m", "pytest", "-q",
               "-p", "no:cacheprovider", "-p", "no:orchestra", *runner.project.test_args]
    run(command, runner.root, env)
    report = work / "coverage.json"
    run([str(runner.bench_python), "-m", "coverage", "json", f"--rcfile={rcfile}", "-q", "-o", str(report)],
        runner.root, env, check=True)
    files = json.loads(report.read_text())["files"]
    result: Dict[str, Set[int]] = {}
    for name, info in files.items():
        path = Path(name)
        rel = (path if not path.is_absolute() else path.relative_to(runner.root)).as_posix()
        if any(fragment in f"/{rel}" for fragment in runner.project.omit):
            continue
        result[rel] = set(info["executed_lines"])
    return result


def benchmark(args: argparse.Namespace) -> Dict[str, object]:
    project = PROJECTS[args.project]
    started = time.time()
    load_start = load_average()
    bench_python = ensure_bench_venv()
    deps = ensure_deps(project, args.project)
    sdist = fetch_sdist(project.requirement)
    with_orchestra = not args.no_orchestra and orchestra_available()
    if not with_orchestra:
        log("pytest-orchestra's selection is not available (or --no-orchestra): its columns stay empty")
    work = Path(tempfile.mkdtemp(prefix="orchestra-selection-mutants-"))
    try:
        plugin_dir = work / "plugin"
        plugin_dir.mkdir()
        (plugin_dir / "bench_outcomes.py").write_text(OUTCOMES_PLUGIN)
        root = unpack(sdist, work / "project")
        runner = Runner(root, project, bench_python, plugin_dir, deps, args.timeout)
        git_init(root, runner.env)
        log(f"{project.requirement} unpacked and committed in {root}")

        done, baseline_data, baseline_seconds = runner.full()
        baseline = baseline_data.get("outcomes", {})
        collected = list(baseline_data.get("collected") or [])
        if not collected:
            raise SystemExit(f"the clean suite collected nothing:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        failing = sorted(n for n, o in baseline.items() if o == "failed")
        log(f"clean suite: {len(collected)} tests in {baseline_seconds:.1f}s, {len(failing)} failing already")
        runner.timeout = max(60.0, baseline_seconds * 8)

        executed = executed_lines(runner, work)
        candidates: Dict[str, List[Mutant]] = {kind: [] for kind in KINDS}
        sources: Dict[str, str] = {}
        for rel, lines in sorted(executed.items()):
            sources[rel] = (root / rel).read_text()
            for kind, found in candidate_mutants(rel, sources[rel], lines, check=False).items():
                candidates[kind].extend(found)
        counts = allocate(args.mutants, args.import_share)
        mutants = choose_mutants(candidates, counts, args.seed, valid=lambda m: is_valid(m, sources[m.path]))
        log("candidates: " + ", ".join(f"{k} {len(v)}" for k, v in candidates.items())
            + f"; chosen: {len(mutants)}")

        # Record once, on the clean commit.
        records_off = ["-o", "orchestra_records=false"]
        if with_orchestra:
            done, _, seconds = runner.pytest(Path(sys.executable), ["-q", "--orchestra-record-map", *records_off],
                                             timeout=args.timeout)
            if done.returncode not in (0, 1):
                raise SystemExit(f"--orchestra-record-map failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
            log(f"orchestra map recorded in {seconds:.1f}s")
        done, _, seconds = runner.pytest(bench_python, ["-q", "-p", "no:orchestra", "--testmon"], timeout=args.timeout)
        testmon_db = work / "testmondata.clean"
        save_sqlite(root / ".testmondata", testmon_db)
        log(f"testmon database recorded in {seconds:.1f}s")
        status = run(["git", "status", "--porcelain"], root, runner.env).stdout.strip()
        if status:
            raise SystemExit(f"recording left the tree dirty:\n{status}")

        results: List[MutantResult] = []
        cache_file = RESULTS_CACHE / f"selection-mutants-{args.project}-seed{args.seed}.json"
        cached = load_cache(cache_file, collected) if args.reuse else {}
        fresh: Dict[str, dict] = dict(cached)
        for number, mutant in enumerate(mutants, 1):
            key = mutant_key(mutant)
            reuse = cached.get(key)
            if reuse is None and args.reuse:
                log(f"{mutant.where}: not in {cache_file}, measured in full")
            original = apply_mutant(root, mutant)
            try:
                if reuse is not None:
                    killing, timed_out, full_seconds = reuse["killing"], reuse["timed_out"], reuse["full_seconds"]
                else:
                    done, data, full_seconds = runner.full()
                    killing = killing_tests(baseline, collected, data)
                    timed_out = done.returncode == -9
                selected: Dict[str, List[str]] = {}
                errors: Dict[str, bool] = {}
                seconds_by_tool: Dict[str, float] = {}
                codes: Dict[str, int] = {}
                broken: Dict[str, List[str]] = {}
                explain = ""
                if with_orchestra:
                    done, sel, seconds = runner.pytest(Path(sys.executable), [
                        "--orchestra-changed", "--collect-only", "-q", *records_off])
                    selected["orchestra"] = (list(sel.get("collected") or []) if sel
                                             else collected_from_stdout(done.stdout))
                    errors["orchestra"] = bool(sel.get("collect_errors")) or done.returncode == 2
                    seconds_by_tool["orchestra"] = seconds
                    codes["orchestra"] = done.returncode
                    broken["orchestra"] = error_files(sel)
                    if killing and not (set(killing) & set(selected["orchestra"])) and not sel.get("collect_errors"):
                        done, _, _ = runner.pytest(Path(sys.executable), [
                            "--orchestra-changed", "--orchestra-explain", "--collect-only", "-q", *records_off])
                        explain = (done.stdout[-1500:] + done.stderr[-500:]).strip()
                else:
                    selected["orchestra"], errors["orchestra"], seconds_by_tool["orchestra"] = [], False, 0.0
                    codes["orchestra"], broken["orchestra"] = 0, []
                competitor_args = {
                    # --testmon-forceselect: testmon turns selection off when -k or -m is given, and
                    # projects put -m in their addopts (packaging: -m "not property")
                    "testmon": ["-p", "no:orchestra", "--testmon", "--testmon-forceselect", "--collect-only", "-q"],
                    "picked": ["-p", "no:orchestra", "--picked=only", "--collect-only", "-q"],
                }
                for tool, tool_args in competitor_args.items():
                    if tool == "picked" and args.skip_picked:
                        selected[tool], errors[tool], seconds_by_tool[tool], codes[tool], broken[tool] = (
                            [], False, 0.0, 0, [])
                        continue
                    if reuse is not None and tool not in args.remeasure:
                        selected[tool] = ([collected[i] for i in reuse["selected"][tool]]
                                          + reuse.get("selected_new", {}).get(tool, []))
                        errors[tool] = reuse["errors"][tool]
                        seconds_by_tool[tool] = reuse["seconds"][tool]
                        codes[tool] = reuse.get("codes", {}).get(tool, 0)
                        broken[tool] = reuse.get("error_files", {}).get(tool, [])
                        continue
                    restore_sqlite(testmon_db, root / ".testmondata")
                    done, sel, seconds = runner.pytest(bench_python, tool_args)
                    selected[tool] = list(sel.get("collected") or [])
                    errors[tool] = bool(sel.get("collect_errors")) or done.returncode == 2
                    seconds_by_tool[tool] = seconds
                    codes[tool] = done.returncode
                    broken[tool] = error_files(sel)
                restore_sqlite(testmon_db, root / ".testmondata")
                index = {nodeid: i for i, nodeid in enumerate(collected)}
                fresh[key] = {"killing": killing, "timed_out": timed_out, "full_seconds": full_seconds,
                              "selected": {t: [index[n] for n in selected[t] if n in index]
                                           for t in ("testmon", "picked")},
                              # tests the mutant renamed (a parametrize id from a mutated constant)
                              "selected_new": {t: [n for n in selected[t] if n not in index]
                                               for t in ("testmon", "picked")},
                              "errors": {t: errors[t] for t in ("testmon", "picked")},
                              "seconds": {t: seconds_by_tool[t] for t in ("testmon", "picked")},
                              "codes": {t: codes[t] for t in ("testmon", "picked")},
                              "error_files": {t: broken[t] for t in ("testmon", "picked")}}
            finally:
                (root / mutant.path).write_text(original)
            result = MutantResult(mutant, killing, timed_out, selected, errors, seconds_by_tool, full_seconds, explain,
                                  codes, broken)
            results.append(result)
            verdict = (" ".join(f"{t}={'caught' if result.caught(t) else 'MISSED'}({len(result.surfaced(t))})"
                                for t in TOOLS if with_orchestra or t != "orchestra")
                       if killing else "not killed")
            log(f"[{number}/{len(mutants)}] {mutant.where} {mutant.kind} {mutant.edit}: "
                f"{len(killing)} killing; {verdict}")
        save_cache(cache_file, collected, fresh)
        table = summarize(results, len(collected))
        return {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "versions": tool_versions(bench_python, project.requirement),
            "seed": args.seed,
            "project": args.project,
            "tests": len(collected),
            "baseline_failing": failing,
            "baseline_seconds": round(baseline_seconds, 2),
            "orchestra_measured": with_orchestra,
            "picked_measured": not args.skip_picked,
            "candidates": {k: len(v) for k, v in candidates.items()},
            "load_average": {"start": load_start, "end": load_average()},
            "elapsed_seconds": round(time.time() - started, 1),
            "targets": {"killing_selected_fraction": TARGET_KILLING_SELECTED,
                        "mean_selected_fraction": TARGET_MEAN_SELECTED},
            "summary": table,
            "mutants": [
                {**asdict(r.mutant), "killing": r.killing, "timed_out": r.killed_by_timeout,
                 "full_seconds": round(r.full_seconds, 2),
                 "selected_counts": {t: len(v) for t, v in r.selected.items()},
                 "surfaced_counts": {t: len(r.surfaced(t)) for t in r.selected},
                 "killing_selected": {t: sorted(set(r.killing) & r.surfaced(t)) for t in r.selected},
                 "collection_error_files": r.error_files,
                 "selection_error": r.selection_error,
                 "selection_exit_codes": r.exit_codes,
                 "selection_seconds": {t: round(s, 2) for t, s in r.selection_seconds.items()},
                 "caught": {t: r.caught(t) for t in TOOLS} if r.killing else None,
                 "orchestra_explain": r.explain}
                for r in results
            ],
        }
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def render(report: Dict[str, object]) -> str:
    out: List[str] = []
    versions = report["versions"]
    out.append(f"command: {report['command']}")
    out.append("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))  # type: ignore[union-attr]
    out.append(f"seed {report['seed']}; {report['tests']} tests in the clean suite ({report['baseline_seconds']}s),"
               f" {len(report['baseline_failing'])} failing before any mutant;"  # type: ignore[arg-type]
               f" load average {report['load_average']['start']} -> {report['load_average']['end']};"  # type: ignore[index]
               f" {report['elapsed_seconds']}s in all")
    mutants = report["mutants"]
    per_kind = ", ".join(f"{kind} {sum(1 for m in mutants if m['kind'] == kind)}" for kind in KINDS)  # type: ignore[union-attr]
    out.append(f"mutants: {len(mutants)} ({per_kind})")  # type: ignore[arg-type]
    summary = report["summary"]
    header = "| kind | mutants | killed | caught | killing tests selected | mean tests selected |"
    for tool in TOOLS:
        if tool == "orchestra" and not report["orchestra_measured"]:
            out.append("\norchestra: not measured (selection not available); run again when it is")
            continue
        if tool == "picked" and not report.get("picked_measured", True):
            out.append("\npicked: not measured (--skip-picked)")
            continue
        out.append(f"\n{tool}")
        out.append(header)
        out.append("|---|---|---|---|---|---|")
        for name in (*KINDS, "import-time", "all"):
            row = summary[tool][name]  # type: ignore[index]
            fraction = row["killing_selected_fraction"]
            out.append(
                f"| {name} | {row['mutants']} | {row['killed']} | {row['caught']}/{row['killed']} | "
                f"{row['killing_selected']}/{row['killing_tests']}"
                f"{f' ({fraction:.1%})' if fraction is not None else ''} | "
                f"{row['mean_selected_fraction']:.1%} |" if row["mean_selected_fraction"] is not None else
                f"| {name} | 0 | | | | |")
    measured = [t for t in TOOLS if (report["orchestra_measured"] or t != "orchestra")
                and (report.get("picked_measured", True) or t != "picked")]
    killed = [m for m in mutants if m["caught"]]
    serious = [t for t in measured if t != "picked"]
    missed = [m for m in killed if any(not m["caught"][t] for t in serious)]
    out.append(f"\nmutants {' or '.join(serious)} missed ({len(missed)}):")
    for m in missed:
        tools = [t for t in serious if not m["caught"][t]]
        crashed = [t for t in tools if m.get("selection_exit_codes", {}).get(t) in (3, 4)]
        out.append(f"  {m['path']}:{m['line']} [{m['kind']}] {m['edit']}: missed by {', '.join(tools)}"
                   + (" (its run crashed: exit 3/4)" if crashed else "")
                   + f"; {len(m['killing'])} killing test(s): {', '.join(m['killing'][:3])}"
                   + (" ..." if len(m["killing"]) > 3 else ""))
        out.append(f"      - {m['old'].rstrip()}")
        out.append(f"      + {m['new'].rstrip()}")
        if m.get("orchestra_explain"):
            out.append(textwrap.indent(m["orchestra_explain"][-600:], "      | "))
    if "picked" in measured:
        picked_missed = [m for m in killed if not m["caught"]["picked"]]
        out.append(f"\npicked missed {len(picked_missed)} of {len(killed)} killed mutants (it selects changed test"
                   " files only; every mutant here is in library code)")
    partial = [m for m in killed if m not in missed and any(
        m["caught"][t] and len(m["killing_selected"][t]) < len(m["killing"]) for t in serious)]
    if partial:
        out.append(f"\ncaught, but only part of the killing tests selected ({len(partial)}):")
        for m in partial:
            parts = [f"{t} {len(m['killing_selected'][t])}/{len(m['killing'])}" for t in serious
                     if m["caught"][t] and len(m["killing_selected"][t]) < len(m["killing"])]
            out.append(f"  {m['path']}:{m['line']} [{m['kind']}] {m['edit']}: {', '.join(parts)}")
    broke = [m for m in killed if any(m.get("collection_error_files", {}).get(t) for t in measured)]
    if broke:
        out.append(f"\nmutants that break collection (their tests count as surfaced by a run that reports the"
                   f" error): {len(broke)}")
    not_killed = [m for m in mutants if not m["killing"]]
    out.append(f"\nnot killed by the full suite ({len(not_killed)}): "
               + ", ".join(f"{m['path']}:{m['line']} [{m['kind']}]" for m in not_killed))
    return "\n".join(out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--project", choices=sorted(PROJECTS), default="toolz", help="the library (default toolz)")
    parser.add_argument("--mutants", type=int, default=60, help="how many mutants (default 60)")
    parser.add_argument("--import-share", type=float, default=0.5,
                        help="share of import-time mutants (default 0.5; the requirement is at least 1/3)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--timeout", type=float, default=600, help="seconds for one pytest run")
    parser.add_argument("--quick", action="store_true", help="10 mutants, a smoke check")
    parser.add_argument("--reuse", action="store_true",
                        help="take the full-suite kill matrix and testmon's and picked's selections from the last"
                             " run with the same project and seed (they do not depend on orchestra): only"
                             " orchestra's selection is measured again")
    parser.add_argument("--remeasure", nargs="*", choices=["testmon", "picked"], default=[],
                        help="with --reuse: measure these competitors again too")
    parser.add_argument("--no-orchestra", action="store_true", help="measure only the competitors")
    parser.add_argument("--skip-picked", action="store_true",
                        help="leave pytest-picked out (it selects changed test files only: it never catches a"
                             " mutant of library code, and costs a quarter of each mutant's time)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    args = parser.parse_args(argv)
    if args.quick:
        args.mutants = min(args.mutants, 10)
    report = benchmark(args)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
