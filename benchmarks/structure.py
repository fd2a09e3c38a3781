"""The shape of the package, measured from its code: what the redesign issue's figures are.

Reads every module of ``pytest_orchestra/`` with ``ast`` (nothing is imported)
and prints:

- import edges between top-level rooms (a subpackage, or a top-level module),
  every ``import``/``from`` statement counted, those inside functions (lazy
  imports) included;
- cycles between rooms (strongly connected components of that graph);
- modules over 400 lines;
- for each capability name, the modules outside its own package that name it
  (a string or an import of it);
- for each capability, the places that wire it in: modules outside its
  package that reach its pytest wiring (``plugin``, ``options``,
  ``registration``, ``cli``, its workflow section's node) by import or by
  ``"module:name"`` string, i.e. the places a newcomer must visit to add one.

    .venv/bin/python benchmarks/structure.py [--package pytest_orchestra] [--json]
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent
LONG_MODULE = 400
CAPABILITIES = ("selection", "environments", "data", "ordering", "triage", "plans", "runners", "matrix")


def room_of(module: str, package: str) -> str:
    """``pytest_orchestra.triage.rules.data`` -> ``triage``; ``pytest_orchestra.core.records`` -> ``records``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == package else parts[0]


def module_name(path: Path, base: Path) -> str:
    relative = path.relative_to(base).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(tree: ast.AST, module: str, is_package: bool) -> List[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append(target)
            found.extend(f"{target}.{alias.name}" for alias in node.names)
    return found


def strongly_connected(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Tarjan's algorithm; components of more than one room are cycles."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    result: List[List[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [component for component in result if len(component) > 1]


def measure(package: str) -> Dict[str, object]:
    base = ROOT
    source = base / package
    modules: Dict[str, Tuple[Path, ast.AST]] = {}
    for path in sorted(source.rglob("*.py")):
        name = module_name(path, base)
        modules[name] = (path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    edges: Dict[Tuple[str, str], int] = defaultdict(int)
    graph: Dict[str, Set[str]] = defaultdict(set)
    known_rooms = {room_of(name, package) for name in modules}
    for name, (path, tree) in modules.items():
        room = room_of(name, package)
        graph[room]
        for target in imports_of(tree, name, path.name == "__init__.py"):
            if not target.startswith(package + "."):
                continue
            other = room_of(target, package)
            if other != room and other in known_rooms:
                edges[(room, other)] += 1
                graph[room].add(other)
    long_modules = sorted(
        ((module_name(path, base), len(path.read_text(encoding="utf-8").splitlines())) for path, _ in modules.values()),
        key=lambda item: -item[1],
    )
    named: Dict[str, List[str]] = {}
    for capability in CAPABILITIES:
        places = []
        for name, (path, _tree) in modules.items():
            if room_of(name, package) == capability:
                continue
            text = path.read_text(encoding="utf-8")
            if f"{package}.{capability}" in text or f'"{capability}"' in text or f"'{capability}'" in text:
                places.append(name)
        named[capability] = sorted(places)
    wiring = {}
    for capability in CAPABILITIES:
        pattern = re.compile(
            rf"{package}\.{capability}\.(plugin|options|registration|cli|__main__)\b"
            rf"|{package}\.{capability}\.config[.:]\w*section_node"
            rf"|from {package}\.{capability} import (plugin|options|cli)\b"
        )
        wiring[capability] = sorted(
            name for name, (path, _tree) in modules.items()
            if room_of(name, package) != capability and pattern.search(path.read_text(encoding="utf-8"))
        )
    return {
        "rooms": sorted(known_rooms),
        "room_edges": len(graph and [pair for pair in edges]),
        "import_statements_between_rooms": sum(edges.values()),
        "edges": {f"{a} -> {b}": n for (a, b), n in sorted(edges.items())},
        "cycles": strongly_connected(graph),
        "modules_over_400_lines": [(name, lines) for name, lines in long_modules if lines > LONG_MODULE],
        "places_naming_each_capability": named,
        "places_wiring_each_capability": wiring,
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", default="pytest_orchestra")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.package)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"rooms: {len(result['rooms'])}; arrows between rooms: {result['room_edges']} "  # type: ignore[arg-type]
          f"({result['import_statements_between_rooms']} import statements, lazy ones included)")
    cycles = result["cycles"]
    print(f"cycles between rooms: {len(cycles)}")  # type: ignore[arg-type]
    for cycle in cycles:  # type: ignore[attr-defined]
        print("  " + " <-> ".join(cycle))
    long_ones = result["modules_over_400_lines"]
    print(f"modules over {LONG_MODULE} lines: {len(long_ones)}")  # type: ignore[arg-type]
    for name, lines in long_ones:  # type: ignore[attr-defined]
        print(f"  {lines:5d}  {name}")
    print("places outside its package that name a capability:")
    for capability, places in result["places_naming_each_capability"].items():  # type: ignore[attr-defined]
        print(f"  {capability:<13} {len(places):3d}  {', '.join(p.split('.', 1)[-1] for p in places)}")
    print("places outside its package that wire a capability in (its plugin, options, section, command):")
    for capability, places in result["places_wiring_each_capability"].items():  # type: ignore[attr-defined]
        print(f"  {capability:<13} {len(places):3d}  {', '.join(p.split('.', 1)[-1] for p in places)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
