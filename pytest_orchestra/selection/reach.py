"""Where a module-level change can be seen: the lines that read what it changed.

Pure logic over the :class:`~pytest_orchestra.selection.reads.FileReads` of the
changed file and of every file importing it (each recorded version). The
change comes as bindings (``RATE``'s value, ``Config.timeout``, ``parse``'s
defaults). The rules:

* **A top-level name**: the lines that read it, resolved (the module it was
  imported from, ``module.NAME``, star imports, ``getattr(module, "NAME")``).
* **A function's parameters or defaults**: its callers: the tests that executed
  its body, plus the lines that read its name (call sites).
* **A class member** (attribute, method added or removed): the tests that ran
  code of the class or of a subclass, or read the class (or a subclass) by name:
  an instance comes from a line that names the class or from the class's code.
  A method's parameters or defaults: the tests that ran that method, plus calls
  through the class (``Config.m``, ``super().m`` in a subclass).
* **Read at import time** by another module-level statement: what that
  statement binds changes in turn (``LIMIT = RATE * 2``, ``from calc import
  RATE``, a class attribute, a default), and so on to a fixed point. A module-level
  statement that reads it any other way (a call, a loop, a decorator, an
  import of a name that is gone) makes the whole file *wide*: every test that
  used it.

Here the versions are read and analyzed (:func:`reach_files`); the walk that
applies the rules is :mod:`~pytest_orchestra.selection.propagation`.
"""

from __future__ import annotations

from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

from pytest_orchestra.selection.propagation import AnalyzedVersion, Propagation, Reach
from pytest_orchestra.selection.pychange import ChangedBinding
from pytest_orchestra.selection.reads import FileReads, Modules, analyze_reads


def reach_files(path: str, bindings: Iterable[ChangedBinding], versions: Mapping[str, Sequence[str]], *,
                index: Any, recorded: Callable[[str], Optional[str]],
                current: Callable[[str], Optional[str]]) -> Optional[Tuple[Reach, Dict[str, str]]]:
    """:func:`reach` over ``versions`` (file -> the content hashes its hits describe, "" for the
    file as it is): (what it reaches, files whose recorded version cannot be read); None when the
    changed file itself cannot be read or reads its namespace wholesale."""
    modules: Modules = frozenset(index.by_module)
    analyzed: List[AnalyzedVersion] = []
    unreadable: Dict[str, str] = {}
    for file, digests in versions.items():
        for digest in digests:
            source = recorded(digest) if digest else current(file)
            reads = (analyze_reads(source, index.module_of.get(file, ""), index.package_of(file), modules)
                     if source is not None else None)
            if reads is None or (file == path and reads.wholesale):
                if file == path:
                    return None
                unreadable[file] = f"uses {file}, whose recorded version cannot be read"
                continue
            analyzed.append(AnalyzedVersion(file, digest, reads))

    def facts_of(name: str) -> Optional[FileReads]:
        where = index.by_module.get(name)
        text = current(where) if where else None
        return analyze_reads(text, name, index.package_of(where), modules) if text and where else None

    return reach(path, index.module_of[path], bindings, analyzed, facts_of=facts_of), unreadable


def reach(path: str, module: str, bindings: Iterable[ChangedBinding], versions: List[AnalyzedVersion],
          *, facts_of: Callable[[str], Optional[FileReads]]) -> Reach:
    """What the change of ``path`` (module ``module``) reaches in ``versions``."""
    return Propagation(path, module, versions, facts_of).run(list(bindings))

