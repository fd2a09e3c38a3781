"""The static import graph: which project files import which, directly or not.

Used where the map has no lines for a file (a new module, one no test
executed, one deleted): the tests whose files import it, directly or through
other modules, are the ones it can affect. Module names follow the package
layout: a file's name starts at the first folder up that has no
``__init__.py`` (so ``src/`` layouts and rootdir-relative test folders work).
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

_IMPORT_LINE = re.compile(r"^[ \t]*(?:from[ \t]+(?P<base>\.*[\w.]*)[ \t]+import[ \t]+(?P<names>.*)|import[ \t]+(?P<modules>.*))$")


def imported_names(source: str) -> Tuple[str, ...]:
    """Modules ``source`` imports; relative ones keep their dots (``..x.y``), for :class:`ImportGraph`.

    Read line by line, not parsed: the map records it for every file of the project, and a
    parse costs ten times more. An import-looking line inside a string counts too: for the
    import graph, a module too many is only a test too many.
    """
    names: List[str] = []
    lines = source.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if "import" not in line:
            continue
        found = _IMPORT_LINE.match(line.split("#", 1)[0].rstrip())
        if found is None:
            continue
        rest = found.group("names") if found.group("base") is not None else found.group("modules")
        # Continuations: parentheses and backslashes.
        while (rest.count("(") > rest.count(")") or rest.endswith("\\")) and index < len(lines):
            rest = rest.rstrip("\\") + " " + lines[index].split("#", 1)[0].strip()
            index += 1
        rest, _, tail = rest.partition(";")
        if tail.strip():
            lines.insert(index, tail)  # ``import a; import b``
        parts = [part.strip() for part in rest.strip("() \t").split(",")]
        words = [part.split()[0] for part in parts if part and part.split()[0].replace(".", "").replace("_", "").isalnum()]
        base = found.group("base")
        if base is None:
            names.extend(words)
            continue
        if base:
            names.append(base)
        joiner = "" if base.endswith(".") or not base else "."
        names.extend(f"{base}{joiner}{word}" for word in words if word != "*")
    return tuple(dict.fromkeys(names))


def absolute_name(name: str, package: str) -> Optional[str]:
    """``name`` as an absolute module name, for a file in ``package``."""
    level = len(name) - len(name.lstrip("."))
    if not level:
        return name
    parts = package.split(".") if package else []
    keep = len(parts) - (level - 1)
    if keep < 0:
        return None
    rest = name[level:]
    return ".".join(parts[:keep] + ([rest] if rest else [])) or None


class ModuleIndex:
    """Module name ↔ file, for the Python files of a project listing."""

    def __init__(self, paths: Iterable[str]) -> None:
        python = sorted(p for p in paths if p.endswith(".py"))
        folders_with_init = {p.rsplit("/", 1)[0] if "/" in p else "" for p in python if p.endswith("__init__.py")}
        self.by_module: Dict[str, str] = {}
        self.module_of: Dict[str, str] = {}
        for path in python:
            name = _module_name(path, folders_with_init)
            self.module_of[path] = name
            self.by_module.setdefault(name, path)

    def package_of(self, path: str) -> str:
        name = self.module_of.get(path, "")
        return name if path.endswith("__init__.py") else name.rpartition(".")[0]

    def files_for(self, module: str) -> List[str]:
        """Files that run when ``module`` is imported: it and its parent packages."""
        found = []
        parts = module.split(".")
        for end in range(len(parts), 0, -1):
            path = self.by_module.get(".".join(parts[:end]))
            if path is not None:
                found.append(path)
        return found


def _module_name(path: str, folders_with_init: Set[str]) -> str:
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    folders = path.split("/")[:-1]
    start = len(folders)
    while start > 0 and "/".join(folders[:start]) in folders_with_init:
        start -= 1
    return ".".join(parts[start:]) or parts[-1] if parts else ""


class ImportGraph:
    """Edges file → files it imports (with their packages), and the reverse closure."""

    def __init__(self, index: ModuleIndex, imports: Mapping[str, Sequence[str]]) -> None:
        self.index = index
        self.importers: Dict[str, Set[str]] = {}
        for path, names in imports.items():
            package = index.package_of(path)
            for written in names:
                name = absolute_name(written, package)
                if name is None:
                    continue
                for target in index.files_for(name):
                    if target != path:
                        self.importers.setdefault(target, set()).add(path)
        # Importing a module runs its packages' __init__ too.
        for path, name in index.module_of.items():
            for parent in index.files_for(name)[1:]:
                self.importers.setdefault(parent, set()).add(path)

    def importers_of(self, paths: Iterable[str], *, limit: Optional[int] = None) -> Set[str]:
        """Every file that imports one of ``paths``, directly or transitively."""
        seen: Set[str] = set()
        stack = list(paths)
        while stack:
            current = stack.pop()
            for importer in self.importers.get(current, ()):
                if importer not in seen:
                    seen.add(importer)
                    stack.append(importer)
            if limit is not None and len(seen) > limit:
                break
        return seen
