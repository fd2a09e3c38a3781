"""Regenerate the shipped JSON Schema: ``python -m pytest_orchestra.workflow``.

``--check`` only compares and exits 1 when the shipped file is stale (for CI).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from .sections import workflow_json_schema

SCHEMA_FILE = Path(__file__).with_name("workflow.schema.json")


def render_schema() -> str:
    return json.dumps(workflow_json_schema(), indent=2) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_orchestra.workflow", description=__doc__)
    parser.add_argument("--output", type=Path, default=SCHEMA_FILE, help="where to write the schema")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    args = parser.parse_args(argv)
    text = render_schema()
    current = args.output.read_text(encoding="utf-8") if args.output.is_file() else None
    if args.check:
        if current != text:
            print(f"{args.output} is out of date; run: python -m pytest_orchestra.workflow")
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


def print_schema(argv: Sequence[str] = ()) -> int:
    """``python -m pytest_orchestra schema``: the workflow's JSON Schema on stdout."""
    sys.stdout.write(render_schema())
    return 0


if __name__ == "__main__":  # pragma: no cover - the module entry point
    sys.exit(main())
