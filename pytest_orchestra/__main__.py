"""``python -m pytest_orchestra COMMAND ...``: the plugin's command-line tools.

A capability with a command names it in its row of
:mod:`pytest_orchestra.capabilities` as ``(name, "module:function")``; the
function takes the remaining arguments and returns an exit status. Modules are
imported only when their command runs.
"""

from __future__ import annotations

import importlib
import sys
from typing import Callable, Dict, List, Optional

from pytest_orchestra.capabilities import commands

COMMANDS: Dict[str, str] = dict(commands())


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        names = ", ".join(sorted(COMMANDS))
        print(f"usage: python -m pytest_orchestra COMMAND [ARGS...]\ncommands: {names}")
        return 0 if args else 2
    name, rest = args[0], args[1:]
    target = COMMANDS.get(name)
    if target is None:
        print(f"python -m pytest_orchestra: unknown command {name!r} (commands: {', '.join(sorted(COMMANDS))})", file=sys.stderr)
        return 2
    module_name, function_name = target.split(":")
    command: Callable[[List[str]], int] = getattr(importlib.import_module(module_name), function_name)
    return int(command(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
