"""What a change to one Python file touches: lines inside function bodies, or the module.

Pure logic on two source texts (the version a map describes and the current one):

* A change inside a function body is *line level*: the old lines it replaced or
  deleted, widened to whole statements (a tracer reports a statement by its
  first line), or, for lines added without replacing any, the whole enclosing
  function (its "block": every test that ran it may take the new path).
* Anything else that changed is *module level*: imports, constants, class
  bodies, decorators, default arguments, signatures, functions added or removed.
  It runs at import time, so every test that used the module is affected.
* Comments, blank lines and formatting that leave the syntax tree alone change
  nothing.
"""

from __future__ import annotations

import ast
import difflib
import io
import tokenize
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterator, List, Optional, Sequence, Set, Tuple

from pytest_orchestra.selection.bindings import (
    ADDED,
    EXPORTED,
    REMOVED,
    SIGNATURE,
    VALUE,
    ChangedBinding,
    Wide,
    changed_bindings,
    describe,
    first_line,
    skeleton,
)

__all__ = ["ADDED", "EXPORTED", "REMOVED", "SIGNATURE", "VALUE", "ChangedBinding", "LineChange", "PythonChange",
           "analyze_change"]

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class LineChange:
    """Old line numbers whose execution by a test makes the test affected."""

    #: The function the change is in (``Box.area``), for explanations.
    function: str
    #: Old lines, widened to whole statements (or the whole function for insertions).
    lines: FrozenSet[int]
    #: The first changed old line, for explanations.
    first_line: int
    #: Lines were only added: ``lines`` is the whole enclosing function.
    inserted: bool = False


@dataclass(frozen=True)
class PythonChange:
    """Everything one file's change touches, in the old version's line numbers."""

    line_changes: Tuple[LineChange, ...] = ()
    #: One line per module-level difference (``line 3: module-level statement``); empty when none.
    module_level: Tuple[str, ...] = ()
    #: Names of fixtures (``@pytest.fixture``) whose body changed.
    fixtures: FrozenSet[str] = frozenset()
    #: The names a module-level change binds, when its effect reaches users only through them
    #: (constants, plain class attributes and methods, undecorated functions' signatures);
    #: ``None`` when it may reach anything (imports, arbitrary statements, decorators, dunders).
    names: Optional[FrozenSet[str]] = None
    #: The same, binding by binding (None when ``names`` is None).
    bindings: Optional[Tuple[ChangedBinding, ...]] = None
    #: Why the change may reach anything, when it may (one line).
    wide_reason: Optional[str] = None

    @property
    def is_module_level(self) -> bool:
        return bool(self.module_level)

    @property
    def is_empty(self) -> bool:
        return not self.line_changes and not self.module_level


@dataclass
class _Function:
    qualname: str
    node: ast.AST
    body_dump: str
    #: Old/new line numbers of the body (first body statement to the end).
    body_start: int
    body_end: int
    def_line: int
    fixture: Optional[str] = None
    statements: List[Tuple[int, int]] = field(default_factory=list)


def analyze_change(old_source: str, new_source: str) -> PythonChange:
    """Compare two versions of one Python file (see the module docstring)."""
    try:
        old_tree = ast.parse(old_source)
    except (SyntaxError, ValueError):
        return PythonChange(module_level=("the recorded version does not parse",))
    try:
        new_tree = ast.parse(new_source)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        return PythonChange(module_level=(f"does not parse{where}: {type(exc).__name__}",))

    module_level = _module_level_differences(old_tree, new_tree)
    bindings: Optional[Tuple[ChangedBinding, ...]] = None
    wide_reason = None
    if module_level:
        try:
            bindings = tuple(dict.fromkeys(changed_bindings(old_tree.body, new_tree.body)))
        except Wide as exc:
            wide_reason = str(exc) or None
    names = frozenset(b.member or b.name for b in bindings) if bindings is not None else None
    old_functions = _functions(old_tree)
    new_functions = _functions(new_tree)
    old_lines = old_source.splitlines()
    new_lines = new_source.splitlines()
    statement_spans = _statement_spans(old_tree)
    line_changes: List[LineChange] = []
    fixtures: Set[str] = set()
    for qualname, old in old_functions.items():
        new = new_functions.get(qualname)
        if new is None or new.body_dump == old.body_dump:
            continue
        change = _line_change(old, new, old_lines, new_lines, statement_spans)
        line_changes.append(change)
        if old.fixture:
            fixtures.add(old.fixture)
    return PythonChange(tuple(line_changes), tuple(module_level), frozenset(fixtures), names, bindings, wide_reason)


# --- module level -------------------------------------------------------------------


def _module_level_differences(old_tree: ast.Module, new_tree: ast.Module) -> List[str]:
    old_dumps = [skeleton(stmt) for stmt in old_tree.body]
    new_dumps = [skeleton(stmt) for stmt in new_tree.body]
    if old_dumps == new_dumps:
        return []
    differences: List[str] = []
    matcher = difflib.SequenceMatcher(a=old_dumps, b=new_dumps, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i1 < i2:
            for stmt in old_tree.body[i1:i2]:
                differences.append(f"line {first_line(stmt)}: {describe(stmt)} changed")
        else:
            for stmt in new_tree.body[j1:j2]:
                differences.append(f"new line {first_line(stmt)}: {describe(stmt)} added")
    return differences


# --- functions ----------------------------------------------------------------------


def _fixture_name(node: ast.AST) -> Optional[str]:
    for decorator in getattr(node, "decorator_list", []):
        text = ast.unparse(decorator)
        if "fixture" not in text:
            continue
        if isinstance(decorator, ast.Call):
            for keyword in decorator.keywords:
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                    return str(keyword.value.value)
        return str(getattr(node, "name", ""))
    return None


def _functions(tree: ast.Module) -> Dict[str, _Function]:
    """Every function at any depth, by a qualified name unique within the file."""
    found: Dict[str, _Function] = {}

    def walk(nodes: Sequence[ast.AST], prefix: str) -> None:
        for node in nodes:
            if isinstance(node, _FUNCTIONS):
                base = f"{prefix}{node.name}"
                name, n = base, 1
                while name in found:  # a redefinition: keep both, in order
                    n += 1
                    name = f"{base}#{n}"
                found[name] = _Function(
                    qualname=name,
                    node=node,
                    body_dump=skeleton(node.body),
                    body_start=node.body[0].lineno,
                    body_end=node.end_lineno or node.body[-1].lineno,
                    def_line=node.lineno,
                    fixture=_fixture_name(node),
                )
                walk(node.body, f"{name}.<locals>.")
            elif isinstance(node, ast.ClassDef):
                walk(node.body, f"{prefix}{node.name}.")
            else:
                # Functions defined under if/try/with at module or class level.
                for child_field in ("body", "orelse", "finalbody", "handlers"):
                    children = getattr(node, child_field, None)
                    if isinstance(children, list):
                        walk(children, prefix)

    walk(tree.body, "")
    return found


def _statement_spans(tree: ast.AST) -> List[Tuple[int, int]]:
    """(first, last) line of every statement, compound ones by their header only.

    Sorted by size, so the first span containing a line is the innermost one.
    """
    spans: List[Tuple[int, int]] = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.stmt, ast.ExceptHandler)):
            continue
        start = node.lineno
        end = node.end_lineno or start
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            header_end = max(start, body[0].lineno - 1)
            spans.append((start, header_end))
            # The whole compound statement, for lines between clauses (``else:``).
            spans.append((start, end))
        else:
            spans.append((start, end))
    spans.sort(key=lambda span: (span[1] - span[0], span[0]))
    return spans


def _widen(line: int, spans: Sequence[Tuple[int, int]]) -> range:
    for start, end in spans:
        if start <= line <= end:
            return range(start, end + 1)
    return range(line, line + 1)


def _line_change(
    old: _Function,
    new: _Function,
    old_lines: Sequence[str],
    new_lines: Sequence[str],
    spans: Sequence[Tuple[int, int]],
) -> LineChange:
    old_body = _normalized(old_lines, old.body_start, old.body_end)
    new_body = _normalized(new_lines, new.body_start, new.body_end)
    # The body only: the ``def`` line itself runs at import, not when a test calls the function.
    whole = frozenset(range(old.body_start, old.body_end + 1))
    changed: Set[int] = set()
    inserted = False
    matcher = difflib.SequenceMatcher(
        a=[text for _, text in old_body], b=[text for _, text in new_body], autojunk=False
    )
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "insert":
            inserted = True
            continue
        for line, _ in old_body[i1:i2]:
            changed.update(_widen(line, spans))
    if inserted or not changed:
        # Added lines (or a change the line view cannot place): the enclosing block.
        first = min(changed) if changed else old.body_start
        return LineChange(old.qualname, whole, first, inserted=True)
    return LineChange(old.qualname, frozenset(changed), min(changed))


def _normalized(lines: Sequence[str], start: int, end: int) -> List[Tuple[int, str]]:
    """(line number, text without comments and spacing) of the non-blank lines start..end."""
    text = "\n".join(lines[start - 1 : end]) + "\n"
    try:
        rows: Dict[int, List[str]] = {}
        for token in _tokens(text):
            if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                              tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            for row in range(token.start[0], token.end[0] + 1):
                rows.setdefault(row, [])
            rows[token.start[0]].append(token.string)
        return [(start + row - 1, " ".join(parts)) for row, parts in sorted(rows.items()) if parts]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return [(start + i, line.strip()) for i, line in enumerate(lines[start - 1 : end]) if line.strip()]


def _tokens(text: str) -> Iterator[tokenize.TokenInfo]:
    # Function bodies are indented: dedent through tokenize's own error tolerance.
    import textwrap

    return tokenize.generate_tokens(io.StringIO(textwrap.dedent(text)).readline)
