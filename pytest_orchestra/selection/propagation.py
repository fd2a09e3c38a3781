"""The walk behind :mod:`~pytest_orchestra.selection.reach`: a change's bindings to a fixed point, then to lines.

Seeded with the changed bindings of one file, it follows what each import-time
statement of every analyzed version binds from them (assignments, defaults,
class bodies, imports, star imports, subclasses) until nothing new changes,
marking *wide* the files where a change escapes the names (a decorator, a
call, a registering metaclass). Then, in each version, it picks the lines that
read, call or run what changed, each with the one line why. The rules are told
in :mod:`~pytest_orchestra.selection.reach`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import (
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Set,
    Tuple,
)

from pytest_orchestra.selection.pychange import (
    ADDED,
    EXPORTED,
    REMOVED,
    SIGNATURE,
    VALUE,
    ChangedBinding,
)
from pytest_orchestra.selection.reads import (
    EVERY,
    ClassFacts,
    FileReads,
    Key,
)

_HARMLESS_METHOD_DECORATORS = frozenset({"staticmethod", "classmethod", "property", "abstractmethod",
                                         "abc.abstractmethod", "functools.cached_property", "cached_property"})


@dataclass(frozen=True)
class AnalyzedVersion:
    """One version of one file the change may reach."""

    path: str
    #: The content hash the map's hits describe ("" for the file as it is now).
    digest: str
    reads: FileReads


@dataclass
class Reach:
    #: (path, digest) -> line -> why a test executing it is selected
    lines: Dict[Tuple[str, str], Dict[int, str]] = field(default_factory=dict)
    #: path -> why every test that used the file is selected
    wide: Dict[str, str] = field(default_factory=dict)

    def add(self, version: AnalyzedVersion, lines: Iterable[int], why: str) -> None:
        chosen = self.lines.setdefault((version.path, version.digest), {})
        for line in lines:
            chosen.setdefault(line, why)


@dataclass
class _Changed:
    how: str
    #: "Config.timeout (changed at shop/settings.py:40)"
    why: str


def _from(why: str) -> str:
    """``RATE (changed at a.py:1)`` -> ``RATE, changed at a.py:1``: a link in a chain of reasons."""
    return why[:-1].replace(" (", ", ", 1) if why.endswith(")") and " (" in why else why


class Propagation:
    """One walk: seeded with the changed bindings of ``path``, :meth:`run` returns their :class:`Reach`."""

    def __init__(self, path: str, module: str, versions: List[AnalyzedVersion],
                 facts_of: Callable[[str], Optional[FileReads]]) -> None:
        self.path = path
        self.module = module
        self.versions = versions
        self.facts_of = facts_of
        self.result = Reach()
        self.names: Dict[Key, _Changed] = {}
        #: class key -> why (one of its members changed)
        self.classes: Dict[Key, str] = {}
        #: class key -> the members that changed (read through the class, they select)
        self.members: Dict[Key, Set[str]] = {}
        #: (class key, method) -> why: its callers are selected
        self.methods: Dict[Tuple[Key, str], str] = {}
        #: function key -> why: the tests that ran its body are selected
        self.functions: Dict[Key, str] = {}
        self.path_of = {v.reads.module: v.path for v in versions}
        #: import alias of a class -> the class's facts
        self._aliased: Dict[Key, ClassFacts] = {}
        self._other_modules: Dict[str, Optional[FileReads]] = {}
        self._checked: Set[Key] = set()

    # -- seeds ------------------------------------------------------------------------

    def run(self, bindings: List[ChangedBinding]) -> Reach:
        for binding in bindings:
            self._seed(self.module, self.path, binding)
        while True:
            before = (len(self.names), len(self.classes), len(self.methods), len(self.functions),
                      len(self.result.wide))
            self._subclasses()
            for version in self.versions:
                if version.path not in self.result.wide:
                    self._at_import(version)
            if before == (len(self.names), len(self.classes), len(self.methods), len(self.functions),
                          len(self.result.wide)):
                break
        for version in self.versions:
            if version.path not in self.result.wide:
                self._lines(version)
        return self.result

    def _seed(self, module: str, path: str, binding: ChangedBinding) -> None:
        where = f"changed at {path}:{binding.line}"
        if binding.member is None:
            key = (module, binding.name)
            if key not in self.names:
                self.names[key] = _Changed(binding.how, f"{binding.label} ({where})")
            if binding.how == SIGNATURE:
                self.functions.setdefault(key, f"{binding.label}, whose parameters or defaults changed ({where})")
            return
        cls = (module, binding.name)
        if binding.how == SIGNATURE:
            self.methods.setdefault((cls, binding.member),
                                    f"{binding.label}, whose parameters or defaults changed ({where})")
            return
        self.classes.setdefault(cls, f"{binding.label} ({where})")
        self.members.setdefault(cls, set()).add(binding.member)

    # -- classes ------------------------------------------------------------------------

    def _subclasses(self) -> None:
        """Subclasses of a changed class change with it; a class something may register is wide."""
        for cls in list(self.classes):
            if cls in self._checked:
                continue
            self._checked.add(cls)
            registered = self._registering_base(cls, set())
            if registered:
                self.result.wide.setdefault(self.path_of.get(cls[0], self.path),
                                            f"{registered} (it may register {cls[1]} where no line names it)")
        changed = True
        while changed:
            changed = False
            for version in self.versions:
                for facts in version.reads.classes.values():
                    key = (version.reads.module, facts.name)
                    if key in self.classes:
                        continue
                    for base in facts.bases:
                        if base in self.classes:
                            self.classes[key] = f"{self.classes[base]}, inherited by {facts.name}"
                            self.members.setdefault(key, set()).update(self.members.get(base, ()))
                            changed = True
                            break

    def _registering_base(self, cls: Key, seen: Set[Key]) -> Optional[str]:
        """Why creating class ``cls`` may hand it to a registry (a metaclass, a base's
        ``__init_subclass__``), or None."""
        if cls in seen:
            return None
        seen.add(cls)
        facts = self._class_facts(cls)
        if facts is None:
            return None
        if facts.keywords:
            return f"class {facts.name} has a metaclass or class keywords"
        for base in facts.bases:
            if base is None:
                return f"class {facts.name} has a base that is not a plain name"
            base_facts = self._class_facts(base)
            if base_facts is not None and "__init_subclass__" in base_facts.methods:
                return f"base class {base_facts.name} defines __init_subclass__"
            found = self._registering_base(base, seen)
            if found:
                return found
        return None

    def _class_facts(self, cls: Key) -> Optional[ClassFacts]:
        for version in self.versions:
            if version.reads.module == cls[0]:
                return version.reads.classes.get(cls[1])
        if cls[0] not in self._other_modules:
            self._other_modules[cls[0]] = self.facts_of(cls[0])
        reads = self._other_modules[cls[0]]
        return reads.classes.get(cls[1]) if reads is not None else None

    # -- import time --------------------------------------------------------------------

    def _reads_changed(self, keys: Iterable[Key]) -> Optional[Tuple[Key, str, str]]:
        """(key, how, why) of the first changed thing among ``keys``, classes included."""
        for key in keys:
            if key[1] == EVERY:
                for name, named in self.names.items():
                    if name[0] == key[0]:
                        return name, named.how, named.why
                for cls, why in self.classes.items():
                    if cls[0] == key[0]:
                        return cls, VALUE, why
                continue
            changed = self.names.get(key)
            if changed is not None and changed.how != EXPORTED:
                return key, changed.how, changed.why
            if key in self.classes:
                return key, VALUE, self.classes[key]
        return None

    def _at_import(self, version: AnalyzedVersion) -> None:
        reads = version.reads
        module = reads.module
        for statement in reads.top:
            place = f"{version.path}:{statement.first}"
            if statement.imports:
                self._imports(version, statement.imports, place)
                continue
            found = self._reads_changed(statement.reads)
            if found is None:
                continue
            key, how, why = found
            node = statement.node
            if how == REMOVED:
                self._wide(version, f"reads {key[1]} at import ({place}), which is gone: {why}")
                return
            if statement.owner is not None:
                cls = (module, statement.owner)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    if any(ast.unparse(d) not in _HARMLESS_METHOD_DECORATORS for d in node.decorator_list):
                        self._wide(version, f"a decorator of {statement.owner}.{node.name} reads {key[1]} ({place})")
                        return
                    self.methods.setdefault((cls, node.name), f"{statement.owner}.{node.name}, whose defaults "
                                                               f"read {why} at {place}")
                elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                    self.classes.setdefault(cls, f"{statement.owner}.{'/'.join(sorted(statement.binds))} "
                                                 f"(set at {place} from {_from(why)})")
                    self.members.setdefault(cls, set()).update(statement.binds)
                else:
                    self._wide(version, f"class {statement.owner}'s body reads {key[1]} at import ({place})")
                    return
                continue
            if isinstance(node, ast.ClassDef):
                bases = set(self._base_keys(reads, node.name))
                read = [k for k in statement.reads if self._reads_changed([k]) is not None]
                if all(k in self.classes and k in bases for k in read):
                    continue  # a subclass: it changes with the class
                self._wide(version, f"class {node.name}'s header reads {key[1]} at import ({place})")
                return
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.decorator_list:
                    self._wide(version, f"a decorator or default of {node.name} reads {key[1]} ({place})")
                    return
                own = (module, node.name)
                self.names.setdefault(own, _Changed(SIGNATURE, f"{node.name} (its defaults read {_from(why)} at {place})"))
                self.functions.setdefault(own, f"{node.name}, whose defaults read {why} at {place}")
                continue
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and statement.binds:
                for name in statement.binds:
                    self.names.setdefault((module, name), _Changed(VALUE, f"{name} (set at {place} from {_from(why)})"))
                continue
            self._wide(version, f"reads {key[1]} at import ({place}): {why}")
            return
        if reads.wholesale and any(key[0] == module for key in self.names):
            self._wide(version, f"reads its own namespace wholesale (globals(), vars() or locals()) and "
                                f"{next(c.why for k, c in self.names.items() if k[0] == module)}")

    def _base_keys(self, reads: FileReads, name: str) -> List[Key]:
        facts = reads.classes.get(name)
        return [b for b in facts.bases if b is not None] if facts else []

    def _imports(self, version: AnalyzedVersion, imports: List[Tuple[str, str, str]], place: str) -> None:
        module = version.reads.module
        for base, name, local in imports:
            if name == "*":
                exported = self.names.get((base, "__all__"))
                if exported is not None:
                    # A name the new __all__ lists may not exist: the import itself may fail.
                    self._wide(version, f"star-imports {base} at {place}, whose __all__ changed: {exported.why}")
                    return
                for key, named in list(self.names.items()):
                    if key[0] == base and not key[1].startswith("_"):
                        how = REMOVED if named.how in (REMOVED, EXPORTED, ADDED) else named.how
                        self.names.setdefault((module, key[1]), _Changed(how, f"{key[1]} (star-imported at {place} from "
                                                                              f"{_from(named.why)})"))
                for cls in list(self.classes):
                    if cls[0] == base:
                        self._alias_class(cls, (module, cls[1]))
                continue
            key = (base, name)
            changed = self.names.get(key)
            if changed is not None and changed.how != EXPORTED:
                if changed.how == REMOVED:
                    self._wide(version, f"imports {name} from {base} at {place}, which is gone: {changed.why}")
                    return
                self.names.setdefault((module, local), _Changed(changed.how, changed.why))
            if key in self.classes:
                self._alias_class(key, (module, local))
            for (cls, method), why in list(self.methods.items()):
                if cls == key:
                    self.methods.setdefault(((module, local), method), why)

    def _alias_class(self, cls: Key, alias: Key) -> None:
        self.classes.setdefault(alias, self.classes[cls])
        self.members.setdefault(alias, set()).update(self.members.get(cls, ()))
        facts = self._class_facts(cls)
        if facts is not None:
            self._aliased[alias] = facts

    def _wide(self, version: AnalyzedVersion, why: str) -> None:
        self.result.wide.setdefault(version.path, why)

    # -- lines --------------------------------------------------------------------------

    def _lines(self, version: AnalyzedVersion) -> None:
        reads = version.reads
        module = reads.module
        for key, changed in self.names.items():
            if changed.how == EXPORTED:
                continue
            verb = "calls or reads" if changed.how == SIGNATURE else "reads"
            lines = set(reads.body.get(key, ())) | set(reads.body.get((key[0], EVERY), ()))
            if key[0] in (module, self.module) or key[0] in self._star_sources(reads):
                lines |= reads.strings.get(key[1], set())
            self.result.add(version, sorted(lines), f"{verb} {changed.why}")
        for cls, why in self.classes.items():
            lines = self._class_readers(reads, cls)
            self.result.add(version, sorted(lines), f"uses {cls[1]}: {why}")
            if cls[0] == module:
                facts = reads.classes.get(cls[1])
                for method, (start, end) in (facts.methods.items() if facts else ()):
                    self.result.add(version, range(start, end + 1), f"ran {cls[1]}.{method}: {why}")
        for key, why in self.functions.items():
            span = reads.functions.get(key[1]) if key[0] == module else None
            if span:
                self.result.add(version, range(span[0], span[1] + 1), f"ran {why}")
        for (cls, method), why in self.methods.items():
            facts = reads.classes.get(cls[1]) if cls[0] == module else None
            span = facts.methods.get(method) if facts else None
            if span:
                self.result.add(version, range(span[0], span[1] + 1), f"ran {why}")
            # Calls through the class: ``Config.method`` (receivers resolved to the class).
            lines = set(reads.body.get(cls, ())) & reads.attributes.get(method, set())
            self.result.add(version, sorted(lines), f"calls {why}")

    def _class_readers(self, reads: FileReads, cls: Key) -> Set[int]:
        """Lines that may reach a changed member of ``cls``: those naming the class other than
        to read one of its unchanged data attributes (``Unit.HOURS`` when ``Unit.DAYS`` changed)."""
        facts = self._aliased.get(cls) or self._class_facts(cls)
        unchanged = (facts.attributes - self.members.get(cls, set())) if facts is not None else set()
        lines = set(reads.bare.get(cls, ())) | set(reads.body.get((cls[0], EVERY), ()))
        lines |= {line for line, names in reads.qualified.get(cls, {}).items() if names - unchanged}
        return lines | reads.strings.get(cls[1], set())

    def _star_sources(self, reads: FileReads) -> List[str]:
        return reads.stars
