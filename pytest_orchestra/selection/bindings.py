"""The bindings a module-level change touches, from two syntax trees.

A change that only binds names (a constant, a class attribute, a method, a
function's parameters or defaults, ``__all__``) reaches its users through those
names, and :mod:`~pytest_orchestra.selection.reach` follows them. Anything else
(an import, a call, a decorator, a dunder, a class's bases) may reach users
without naming anything: :class:`Wide` says why, in one line.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass
from typing import List, Optional, Sequence, Set, Union

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)

#: How a binding changed: its value, a function's parameters or defaults, gone, new, or
#: (for a name ``__all__`` lists) whether ``import *`` binds it.
VALUE, SIGNATURE, REMOVED, ADDED, EXPORTED = "value", "signature", "removed", "added", "exported"


@dataclass(frozen=True)
class ChangedBinding:
    """One top-level name (or one member of a top-level class) a module-level change touches."""

    name: str
    #: The class member (``timeout`` of ``Config``), or None for the top-level name itself.
    member: Optional[str]
    how: str
    #: Where, in the recorded version (the new version's line for an added binding).
    line: int

    @property
    def label(self) -> str:
        return f"{self.name}.{self.member}" if self.member else self.name



def skeleton(node: object) -> str:
    """``ast.dump`` of ``node`` with every function body left out (headers kept), without copying."""
    if isinstance(node, _FUNCTIONS):
        header = [node.name, skeleton(node.args), skeleton(node.decorator_list), skeleton(node.returns)]
        return f"{type(node).__name__}({', '.join(header)}, body=...)"
    if isinstance(node, ast.AST):
        fields = ", ".join(f"{name}={skeleton(value)}" for name, value in ast.iter_fields(node))
        return f"{type(node).__name__}({fields})"
    if isinstance(node, list):
        return "[" + ", ".join(skeleton(item) for item in node) + "]"
    return repr(node)


def first_line(stmt: ast.stmt) -> int:
    decorators: List[ast.expr] = getattr(stmt, "decorator_list", None) or []
    return min([stmt.lineno] + [d.lineno for d in decorators])


def describe(stmt: ast.stmt) -> str:
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



class Wide(Exception):
    """The change may reach users through more than the names it binds."""


#: Class decorators that do not hand the class to anything else (no registry).
PLAIN_CLASS_DECORATORS = frozenset({
    "dataclass", "dataclasses.dataclass", "total_ordering", "functools.total_ordering", "final", "typing.final",
    "attr.s", "attr.attrs", "attrs.define", "attr.define", "attrs.frozen", "attr.frozen", "define", "frozen",
    "unique", "enum.unique",
})


def _decorator_name(node: ast.expr) -> str:
    return ast.unparse(node.func if isinstance(node, ast.Call) else node)


def changed_bindings(old: Sequence[ast.stmt], new: Sequence[ast.stmt]) -> List[ChangedBinding]:
    """The bindings a module-level change touches; raises :class:`Wide` (with why) when it may
    reach users without going through a name."""
    # Bindings of changed pairs, and lists of them for statements added or removed whole.
    found: List[Union[ChangedBinding, List[ChangedBinding]]] = []
    old_dumps = [skeleton(stmt) for stmt in old]
    new_dumps = [skeleton(stmt) for stmt in new]
    matcher = difflib.SequenceMatcher(a=old_dumps, b=new_dumps, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            for a, b in zip(old[i1:i2], new[j1:j2]):
                found.extend(_changed_pair(a, b))
            continue
        found.extend(_whole(stmt, REMOVED, stmt.lineno) for stmt in old[i1:i2] if not _inert(stmt))
        found.extend(_whole(stmt, ADDED, stmt.lineno) for stmt in new[j1:j2] if not _inert(stmt))
    return [b for group in found for b in (group if isinstance(group, list) else [group])]


def _inert(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Pass) or (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str))


def _whole(stmt: ast.stmt, how: str, line: int, owner: Optional[str] = None) -> List[ChangedBinding]:
    """A top-level (or class-level, with ``owner``) statement added or removed as a whole."""
    decorators = getattr(stmt, "decorator_list", []) or []
    if isinstance(stmt, _FUNCTIONS) or isinstance(stmt, ast.ClassDef):
        plain = PLAIN_CLASS_DECORATORS if isinstance(stmt, ast.ClassDef) else {"staticmethod", "classmethod",
                                                                              "property"}
        if any(_decorator_name(d) not in plain for d in decorators):
            raise Wide(f"decorated {stmt.name} {how} (a decorator may register it where no line names it)")
        names = [stmt.name]
    else:
        names = sorted(_assigned_names(stmt))
    return [_binding(name, how, line, owner) for name in names]


def _binding(name: str, how: str, line: int, owner: Optional[str] = None) -> ChangedBinding:
    if name.startswith("__") and name.endswith("__") and name != "__all__":
        verb = {VALUE: "changed", SIGNATURE: "changed its parameters"}.get(how, how)
        raise Wide(f"{owner + '.' if owner else ''}{name} {verb} (a dunder: Python itself reads it)")
    return ChangedBinding(owner, name, how, line) if owner else ChangedBinding(name, None, how, line)


def _assigned_names(stmt: ast.stmt) -> Set[str]:
    targets: List[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    else:
        raise Wide("not a plain binding: anything may follow")
    names: Set[str] = set()
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif not isinstance(node, (ast.Tuple, ast.List, ast.Starred, ast.Store, ast.Load)):
                raise Wide(f"line {stmt.lineno}: assignment to {ast.unparse(target)} (not a name of this module)")
    return names


def _changed_pair(a: ast.stmt, b: ast.stmt, owner: Optional[str] = None) -> List[ChangedBinding]:
    line = first_line(a)
    if isinstance(a, ast.ClassDef) and isinstance(b, ast.ClassDef) and a.name == b.name and owner is None:
        if _class_header(a) != _class_header(b):
            raise Wide(f"line {line}: class {a.name}'s bases, keywords or decorators changed")
        if any(_decorator_name(d) not in PLAIN_CLASS_DECORATORS for d in a.decorator_list) or a.keywords:
            raise Wide(f"line {line}: class {a.name} is decorated or has a metaclass (it may be registered "
                        "where no line names it)")
        members: List[ChangedBinding] = []
        old_dumps = [skeleton(stmt) for stmt in a.body]
        new_dumps = [skeleton(stmt) for stmt in b.body]
        matcher = difflib.SequenceMatcher(a=old_dumps, b=new_dumps, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            if tag == "replace" and i2 - i1 == j2 - j1:
                for x, y in zip(a.body[i1:i2], b.body[j1:j2]):
                    members.extend(_changed_pair(x, y, owner=a.name))
                continue
            for stmt in a.body[i1:i2]:
                members.extend([] if _inert(stmt) else _whole(stmt, REMOVED, stmt.lineno, a.name))
            for stmt in b.body[j1:j2]:
                members.extend([] if _inert(stmt) else _whole(stmt, ADDED, stmt.lineno, a.name))
        return members
    if isinstance(a, _FUNCTIONS) and isinstance(b, _FUNCTIONS) and a.name == b.name:
        if skeleton(ast.Module(body=a.decorator_list, type_ignores=[])) != skeleton(  # type: ignore[arg-type]
                ast.Module(body=b.decorator_list, type_ignores=[])) and not _harmless_decorators(a, b):  # type: ignore[arg-type]
            raise Wide(f"line {line}: the decorators of {a.name} changed")
        if owner is not None and a.name.startswith("__") and a.name.endswith("__"):
            # A dunder method's parameters or defaults: still reached only by calling it.
            return [ChangedBinding(owner, a.name, SIGNATURE, a.lineno)]
        return [_binding(a.name, SIGNATURE, a.lineno, owner)]
    if isinstance(a, (*_FUNCTIONS, ast.ClassDef)) or isinstance(b, (*_FUNCTIONS, ast.ClassDef)):
        return _whole(a, REMOVED, a.lineno, owner) + _whole(b, ADDED, b.lineno, owner)
    exported = _all_change(a, b)
    if exported is not None and owner is None:
        return [ChangedBinding("__all__", None, VALUE, line)] + [
            ChangedBinding(name, None, EXPORTED, line) for name in sorted(exported - {"__all__"})]
    if _inert(a) and _inert(b):
        return []
    names = _assigned_names(a) | _assigned_names(b)
    return [_binding(name, VALUE, line, owner) for name in sorted(names)]


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
