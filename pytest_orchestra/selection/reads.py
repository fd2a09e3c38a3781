"""What each line of a Python file reads, resolved to the module that defines it.

Pure logic on one source text. A read is keyed ``(module, name)``: the
top-level name ``name`` of the project module ``module`` (``shop.calc``,
``RATE``). It is resolved where Python's own rules make it certain:

* a global name read in a function or at module level: the file's own binding,
  the module it was imported from (``from shop.calc import RATE as R``), or
  every module it star-imports (``from shop.calc import *``);
* ``alias.NAME`` where ``alias`` is bound to a module (``import shop.calc as c``,
  ``from shop import calc``, ``shop.calc.RATE``).

A parameter or local variable of the same name is not a read of the global.
``obj.NAME`` on anything else is not resolved here: class members are reached
through the class (:mod:`~pytest_orchestra.selection.reach`). Strings are kept
apart (``getattr(module, "RATE")``), and so are lines that read a module's
namespace wholesale (``vars(m)``, ``m.__dict__``, ``getattr(m, name)``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Literal, Optional, Sequence, Set, Tuple, Union

from pytest_orchestra.selection.imports import absolute_name

Key = Tuple[str, str]
#: The key of "every name of the module": a wholesale read.
EVERY = "*"

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
           ast.GeneratorExp)


#: The dotted names of the project's modules (the import graph's index).
Modules = FrozenSet[str]


@dataclass
class TopStatement:
    """One statement run at import (module level, or inside a module-level if/try/with)."""

    first: int
    last: int
    node: ast.stmt
    #: Names it binds in the module (in its class, for a class member).
    binds: Set[str] = field(default_factory=set)
    #: What it reads, resolved.
    reads: Set[Key] = field(default_factory=set)
    #: The class whose body holds it (None at module level).
    owner: Optional[str] = None
    #: ``from BASE import NAME as LOCAL``: (BASE, NAME, LOCAL); NAME ``*`` for a star import.
    imports: List[Tuple[str, str, str]] = field(default_factory=list)


@dataclass
class ClassFacts:
    name: str
    line: int
    #: Base classes, resolved; None for a base that is not a plain (dotted) name.
    bases: List[Optional[Key]]
    decorators: List[str]
    keywords: List[str]
    #: method name -> (first, last) line of its body
    methods: Dict[str, Tuple[int, int]]
    #: Names its body assigns (class attributes, enum members).
    attributes: Set[str] = field(default_factory=set)


@dataclass
class FileReads:
    module: str
    #: key -> lines inside function bodies that read it
    body: Dict[Key, Set[int]] = field(default_factory=dict)
    #: lines (anywhere) holding a string constant -> the string
    strings: Dict[str, Set[int]] = field(default_factory=dict)
    #: key -> lines of the wholesale reads of a module's namespace (key ``(module, EVERY)``)
    top: List[TopStatement] = field(default_factory=list)
    classes: Dict[str, ClassFacts] = field(default_factory=dict)
    #: top-level function name -> (first, last) line of its body
    functions: Dict[str, Tuple[int, int]] = field(default_factory=dict)
    #: star-imported modules
    stars: List[str] = field(default_factory=list)
    #: The file reads its own namespace wholesale (``globals()``, ``vars()``, ``locals()``).
    wholesale: bool = False
    #: lines mentioning an attribute name (any receiver) -> the name, for method call sites
    attributes: Dict[str, Set[int]] = field(default_factory=dict)
    #: key -> lines (in function bodies) that read it other than as ``KEY.attribute``
    bare: Dict[Key, Set[int]] = field(default_factory=dict)
    #: key -> line -> the attributes read through it there (``Config.timeout``)
    qualified: Dict[Key, Dict[int, Set[str]]] = field(default_factory=dict)

    def body_lines(self, keys: Set[Key]) -> Dict[int, Key]:
        found: Dict[int, Key] = {}
        for key in keys:
            for line in self.body.get(key, ()):
                found.setdefault(line, key)
            for line in self.body.get((key[0], EVERY), ()):
                found.setdefault(line, key)
        return found


def analyze_reads(source: str, module: str, package: str, modules: Modules) -> Optional[FileReads]:
    """The reads of one file; None when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    return _Analyzer(module, package, modules).run(tree)


class _Analyzer:
    def __init__(self, module: str, package: str, modules: Modules) -> None:
        self.module = module
        self.package = package
        self.modules = modules
        self.result = FileReads(module)
        #: local name -> ("module", dotted) or ("member", (module, name))
        self.aliases: Dict[str, Union[Tuple[Literal["module"], str], Tuple[Literal["member"], Key]]] = {}
        #: names bound at top level of this file
        self.own: Set[str] = set()
        self._statements: Dict[int, TopStatement] = {}
        #: ids of the names read as ``NAME.attribute``
        self._receivers: Set[int] = set()

    # -- bindings -------------------------------------------------------------------

    def _imports(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = ("module", alias.name)
                    else:
                        root = alias.name.split(".", 1)[0]
                        self.aliases.setdefault(root, ("module", root))
            elif isinstance(node, ast.ImportFrom):
                base = absolute_name("." * node.level + (node.module or ""), self.package)
                if base is None:
                    continue
                for alias in node.names:
                    if alias.name == "*":
                        self.result.stars.append(base)
                        continue
                    local = alias.asname or alias.name
                    dotted = f"{base}.{alias.name}"
                    if dotted in self.modules:
                        self.aliases[local] = ("module", dotted)
                    else:
                        self.aliases[local] = ("member", (base, alias.name))
        for node in tree.body:
            self.own |= _bound_names(node)

    def _global(self, name: str) -> List[Key]:
        """What a global read of ``name`` in this file reads."""
        # Always this module's own global first: a name added to it later shadows an import,
        # a star import or a builtin of the same name.
        keys: List[Key] = [(self.module, name)]
        alias = self.aliases.get(name)
        if alias is not None and alias[0] == "member":
            keys.append(alias[1])
        if alias is None:
            keys.extend((star, name) for star in self.result.stars)
        return keys

    def _module_of(self, node: ast.expr) -> Optional[str]:
        """The project module an expression names (``calc``, ``shop.calc``), if any."""
        if isinstance(node, ast.Name):
            alias = self.aliases.get(node.id)
            if alias is not None and alias[0] == "module":
                return str(alias[1])
            if alias is not None and alias[0] == "member":
                base, name = alias[1]
                dotted = f"{base}.{name}"
                return dotted if dotted in self.modules else None
            return None
        if isinstance(node, ast.Attribute):
            parent = self._module_of(node.value)
            if parent is not None and f"{parent}.{node.attr}" in self.modules:
                return f"{parent}.{node.attr}"
        return None

    # -- walking --------------------------------------------------------------------

    def run(self, tree: ast.Module) -> FileReads:
        self._imports(tree)
        self._top(tree.body)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.result.functions[node.name] = _body_span(node)
            elif isinstance(node, ast.ClassDef):
                self.result.classes[node.name] = self._class(node)
        self._walk(tree, frozenset(), in_body=False, top=None)
        return self.result

    def _add(self, node: ast.stmt, first: int, last: int, binds: Set[str], owner: Optional[str] = None) -> None:
        statement = TopStatement(first, last, node, binds, owner=owner)
        if isinstance(node, ast.ImportFrom):
            base = absolute_name("." * node.level + (node.module or ""), self.package)
            if base is not None:
                statement.imports = [(base, a.name, a.asname or a.name) for a in node.names]
        self.result.top.append(statement)
        self._statements[id(node)] = statement

    def _top(self, body: Sequence[ast.stmt], owner: Optional[str] = None) -> None:
        for node in body:
            decorators = getattr(node, "decorator_list", None) or []
            first = min([node.lineno] + [d.lineno for d in decorators])
            if isinstance(node, (ast.If, ast.Try, ast.With)) and owner is None:
                # The condition (or context) runs at import; so do the statements inside.
                self._add(node, node.lineno, node.lineno, set())
                for child in ("body", "orelse", "finalbody"):
                    self._top(getattr(node, child, []) or [])
                for handler in getattr(node, "handlers", []) or []:
                    self._top(handler.body)
            elif isinstance(node, ast.ClassDef) and owner is None:
                header_end = node.body[0].lineno - 1 if node.body else node.lineno
                self._add(node, first, max(node.lineno, header_end), {node.name})
                self._top(node.body, owner=node.name)
            elif owner is not None:
                binds = {node.name} if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    else _bound_names(node)
                self._add(node, first, node.end_lineno or node.lineno, binds, owner)
            else:
                self._add(node, first, node.end_lineno or node.lineno, _bound_names(node))

    def _class(self, node: ast.ClassDef) -> ClassFacts:
        bases: List[Optional[Key]] = []
        for base in node.bases:
            bases.append(self._resolve_value(base))
        methods = {item.name: _body_span(item) for item in node.body
                   if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
        attributes: Set[str] = set()
        for item in node.body:
            if isinstance(item, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                attributes |= _bound_names(item)
        return ClassFacts(node.name, node.lineno, bases, [ast.unparse(d) for d in node.decorator_list],
                          [ast.unparse(k) for k in node.keywords], methods, attributes)

    def _resolve_value(self, node: ast.expr) -> Optional[Key]:
        if isinstance(node, ast.Name):
            alias = self.aliases.get(node.id)
            if alias is not None and alias[0] == "member":
                return alias[1]
            if node.id in self.own:
                return (self.module, node.id)
            if self.result.stars:
                return (self.result.stars[0], node.id)
            return ("builtins", node.id)
        if isinstance(node, ast.Attribute):
            module = self._module_of(node.value)
            if module is not None:
                return (module, node.attr)
            dotted = _dotted(node)
            return ("external", dotted) if dotted else None
        return None

    def _walk(self, node: ast.AST, local: FrozenSet[str], *, in_body: bool, top: Optional[TopStatement]) -> None:
        if isinstance(node, ast.stmt) and not in_body:
            top = self._statement_at(node) or top
        if isinstance(node, _SCOPES):
            # Defaults and decorators run in the enclosing scope, the body in its own.
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                for outer in [*node.args.defaults, *[d for d in node.args.kw_defaults if d],
                              *getattr(node, "decorator_list", [])]:
                    self._walk(outer, local, in_body=in_body, top=top)
                inner = local | _locals_of(node)
                body: Sequence[ast.AST] = node.body if isinstance(node.body, list) else [node.body]
                for child in body:
                    self._walk(child, inner, in_body=True, top=top)
                return
            inner = local | _comprehension_targets(node)
            for child in ast.iter_child_nodes(node):
                self._walk(child, inner, in_body=in_body, top=top)
            return
        line = getattr(node, "lineno", None)
        keys: List[Key] = []
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store) and node.id not in local:
            if node.id in ("globals", "vars", "locals") and "globals" not in local:
                self.result.wholesale = True
            keys = self._global(node.id)
        elif isinstance(node, ast.Attribute):
            module = self._module_of(node.value)
            if module is not None:
                keys = [(module, EVERY if node.attr == "__dict__" else node.attr)]
            if line is not None:
                self.result.attributes.setdefault(node.attr, set()).add(line)
                receiver = node.value
                if isinstance(receiver, ast.Name) and receiver.id not in local and in_body:
                    self._receivers.add(id(receiver))
                    for key in self._global(receiver.id):
                        self.result.qualified.setdefault(key, {}).setdefault(line, set()).add(node.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "vars",
                                                                                                 "hasattr", "dir"):
            target = self._module_of(node.args[0]) if node.args else None
            named = (len(node.args) > 1 and isinstance(node.args[1], ast.Constant))
            if target is not None and not named:
                keys = [(target, EVERY)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and line is not None:
            if len(node.value) < 80 and node.value.isidentifier():
                self.result.strings.setdefault(node.value, set()).add(line)
        if keys and line is not None:
            if in_body:
                bare = isinstance(node, ast.Name) and id(node) not in self._receivers
                for key in keys:
                    self.result.body.setdefault(key, set()).add(line)
                    if bare:
                        self.result.bare.setdefault(key, set()).add(line)
            elif top is not None:
                top.reads.update(keys)
        for child in ast.iter_child_nodes(node):
            self._walk(child, local, in_body=in_body, top=top)

    def _statement_at(self, node: ast.stmt) -> Optional[TopStatement]:
        return self._statements.get(id(node))


def _body_span(node: ast.AST) -> Tuple[int, int]:
    body = node.body  # type: ignore[attr-defined]
    return body[0].lineno, node.end_lineno or body[-1].lineno  # type: ignore[attr-defined]


def _dotted(node: ast.expr) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        parent = _dotted(node.value)
        return f"{parent}.{node.attr}" if parent else None
    return None


def _bound_names(node: ast.stmt) -> Set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".", 1)[0] for a in node.names if a.name != "*"}
    targets: List[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        targets = [node.target]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
    names: Set[str] = set()
    for target in targets:
        names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def _locals_of(node: ast.AST) -> FrozenSet[str]:
    """Parameters and names a function assigns, less those it declares global or nonlocal."""
    args = node.args  # type: ignore[attr-defined]
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    if isinstance(node, ast.Lambda):
        return frozenset(names)
    declared: Set[str] = set()
    stack: List[ast.AST] = list(node.body)  # type: ignore[attr-defined]
    while stack:
        child = stack.pop()
        if isinstance(child, (ast.Global, ast.Nonlocal)):
            declared.update(child.names)
        elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.add(child.id)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(child.name)
            stack.extend(getattr(child, "decorator_list", []))
            continue  # its body is another scope
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".", 1)[0] for a in child.names)
        elif isinstance(child, _SCOPES):
            continue
        stack.extend(ast.iter_child_nodes(child))
    return frozenset(names - declared)


def _comprehension_targets(node: ast.AST) -> FrozenSet[str]:
    names: Set[str] = set()
    for generator in getattr(node, "generators", []):
        names |= {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)}
    return frozenset(names)
