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
    names = changed_names(old_tree, new_tree) if module_level else None
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
    return PythonChange(tuple(line_changes), tuple(module_level), frozenset(fixtures), names)


# --- module level -------------------------------------------------------------------


def _skeleton(node: object) -> str:
    """``ast.dump`` of ``node`` with every function body left out (headers kept), without copying."""
    if isinstance(node, _FUNCTIONS):
        header = [node.name, _skeleton(node.args), _skeleton(node.decorator_list), _skeleton(node.returns)]
        return f"{type(node).__name__}({', '.join(header)}, body=...)"
    if isinstance(node, ast.AST):
        fields = ", ".join(f"{name}={_skeleton(value)}" for name, value in ast.iter_fields(node))
        return f"{type(node).__name__}({fields})"
    if isinstance(node, list):
        return "[" + ", ".join(_skeleton(item) for item in node) + "]"
    return repr(node)


def _module_level_differences(old_tree: ast.Module, new_tree: ast.Module) -> List[str]:
    old_dumps = [_skeleton(stmt) for stmt in old_tree.body]
    new_dumps = [_skeleton(stmt) for stmt in new_tree.body]
    if old_dumps == new_dumps:
        return []
    differences: List[str] = []
    matcher = difflib.SequenceMatcher(a=old_dumps, b=new_dumps, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i1 < i2:
            for stmt in old_tree.body[i1:i2]:
                differences.append(f"line {_first_line(stmt)}: {_describe(stmt)} changed")
        else:
            for stmt in new_tree.body[j1:j2]:
                differences.append(f"new line {_first_line(stmt)}: {_describe(stmt)} added")
    return differences


def _first_line(stmt: ast.stmt) -> int:
    decorators = getattr(stmt, "decorator_list", None) or []
    return min([stmt.lineno] + [d.lineno for d in decorators])


def _describe(stmt: ast.stmt) -> str:
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return "import"
    if isinstance(stmt, ast.ClassDef):
        return f"class {stmt.name} (body, bases, decorators or a method's signature)"
    if isinstance(stmt, _FUNCTIONS):
        return f"def {stmt.name} (signature, defaults or decorators)"
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        names = ", ".join(ast.unparse(target) for target in targets)
        return f"module-level assignment to {names}"
    return "module-level statement"


# --- the names a module-level change binds -------------------------------------------


class _Wide(Exception):
    """The change may reach users through more than the names it binds."""


def changed_names(old_tree: ast.Module, new_tree: ast.Module) -> Optional[FrozenSet[str]]:
    """Names whose readers are the only users a module-level change can affect, or None."""
    try:
        return frozenset(_differing_names(old_tree.body, new_tree.body, class_body=False))
    except _Wide:
        return None


def _differing_names(old: Sequence[ast.stmt], new: Sequence[ast.stmt], *, class_body: bool) -> Set[str]:
    old_dumps = [_skeleton(stmt) for stmt in old]
    new_dumps = [_skeleton(stmt) for stmt in new]
    names: Set[str] = set()
    matcher = difflib.SequenceMatcher(a=old_dumps, b=new_dumps, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            for a, b in zip(old[i1:i2], new[j1:j2]):
                exported = _all_change(a, b)
                names |= exported if exported is not None else _pair_names(a, b)
            continue
        for stmt in list(old[i1:i2]) + list(new[j1:j2]):
            names |= _statement_names(stmt)
    if any(name.startswith("__") and name.endswith("__") and name != "__all__" for name in names):
        raise _Wide()
    return names


def _all_change(a: ast.stmt, b: ast.stmt) -> Optional[Set[str]]:
    """``__all__`` edited as a literal list of names: it reaches readers of ``__all__`` and of
    the names that came or went (what ``import *`` now binds or no longer binds)."""
    values = []
    for stmt in (a, b):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and stmt.targets[0].id == "__all__" and isinstance(stmt.value, (ast.List, ast.Tuple))
                and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in stmt.value.elts)):
            return None
        values.append({e.value for e in stmt.value.elts})  # type: ignore[attr-defined]
    return {"__all__"} | (values[0] ^ values[1])


def _pair_names(a: ast.stmt, b: ast.stmt) -> Set[str]:
    if isinstance(a, ast.ClassDef) and isinstance(b, ast.ClassDef) and a.name == b.name:
        if _class_header(a) != _class_header(b):
            raise _Wide()
        members = _differing_names(a.body, b.body, class_body=True)
        # Decorated or derived classes (dataclasses, enums, named tuples, models) turn their
        # attributes into behaviour no line reads by name: their users read the class.
        return members | ({a.name} if _class_header(a) != "plain" else set())
    if isinstance(a, _FUNCTIONS) and isinstance(b, _FUNCTIONS) and a.name == b.name:
        if ast.dump(ast.Module(body=a.decorator_list, type_ignores=[])) != ast.dump(  # type: ignore[arg-type]
            ast.Module(body=b.decorator_list, type_ignores=[])  # type: ignore[arg-type]
        ) and not _harmless_decorators(a, b):
            raise _Wide()
        return {a.name}
    return _statement_names(a) | _statement_names(b)


def _harmless_decorators(a: ast.AST, b: ast.AST) -> bool:
    """staticmethod / classmethod / property change how a name is called, not what reads it."""
    plain = {"staticmethod", "classmethod", "property"}
    texts = {ast.unparse(d) for d in getattr(a, "decorator_list", [])} ^ {
        ast.unparse(d) for d in getattr(b, "decorator_list", [])
    }
    return texts <= plain


def _class_header(node: ast.ClassDef) -> str:
    if not node.decorator_list and not node.keywords and all(
        isinstance(base, ast.Name) and base.id == "object" for base in node.bases
    ):
        return "plain"
    return ast.dump(ast.Module(body=[*node.decorator_list, *node.bases, *node.keywords], type_ignores=[]))  # type: ignore[list-item]


def _statement_names(stmt: ast.stmt) -> Set[str]:
    if isinstance(stmt, _FUNCTIONS):
        if stmt.decorator_list and not _harmless_decorators(stmt, ast.FunctionDef(decorator_list=[])):
            raise _Wide()  # a decorator may register the function where no line names it
        return {stmt.name}
    if isinstance(stmt, ast.ClassDef):
        if _class_header(stmt) != "plain" and stmt.decorator_list:
            raise _Wide()
        return {stmt.name}
    targets: List[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    elif isinstance(stmt, ast.Pass) or (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
    ):
        return set()  # a docstring: doctests of the file are selected with it
    else:
        raise _Wide()  # imports, calls, loops, conditionals: anything may follow
    names: Set[str] = set()
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif not isinstance(node, (ast.Tuple, ast.List, ast.Starred, ast.Store, ast.Load)):
                raise _Wide()  # obj.attr = ..., table[key] = ...: not a name of this module
    return names


def reader_lines(source: str, names: FrozenSet[str]) -> Optional[Tuple[Set[int], Set[int]]]:
    """(lines inside function bodies, lines run at import) where ``source`` reads one of ``names``.

    A read is a name, an attribute, an imported alias or a string equal to one of them
    (``getattr(module, "NAME")``). None when the source does not parse or reaches its
    module's namespace wholesale (``globals()``, ``vars()``, ``locals()``).
    """
    if not any(name in source for name in names) and not ("__all__" in names and "*" in source):
        return set(), set()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    function_lines: Set[int] = set()
    bodies = sorted((f.body_start, f.body_end) for f in _functions(tree).values())
    module_lines: Set[int] = set()
    # ``X += 1`` reads X; ``X = 1`` only binds it, and ``from m import X`` copies it: the
    # copy's readers are found by the same name in the importing file.
    augmented = {id(n.target) for n in ast.walk(tree) if isinstance(n, ast.AugAssign)}
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store) and id(node) not in augmented:
                continue
            name = node.id
            if name in ("globals", "vars", "locals"):
                return None
        elif isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.alias):
            # ``from m import *`` binds here what ``m.__all__`` lists, at import time: it reads
            # ``__all__`` (a name it lists that no longer exists breaks the import). Other names
            # it copies are found by the same name search where they are read.
            if node.name != "*" or "__all__" not in names:
                continue
            name = "__all__"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            name = node.value
        if name not in names:
            continue
        line = getattr(node, "lineno", None)
        if line is None:
            continue
        if any(start <= line <= end for start, end in bodies):
            function_lines.add(line)
        else:
            module_lines.add(line)
    return function_lines, module_lines


def function_body_lines(source: str, names: FrozenSet[str]) -> Set[int]:
    """Body lines of the functions and methods called one of ``names``."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    lines: Set[int] = set()
    for qualname, function in _functions(tree).items():
        if qualname.rsplit(".", 1)[-1].split("#", 1)[0] in names:
            lines.update(range(function.body_start, function.body_end + 1))
    return lines


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
                    body_dump=_skeleton(node.body),
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
        if isinstance(body, list) and body and isinstance(body[0], ast.AST):
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
