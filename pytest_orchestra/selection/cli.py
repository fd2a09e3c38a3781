"""``python -m pytest_orchestra map ...``: merge maps from CI shards, show what a map holds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from pytest_orchestra.selection.mapstore import MapError, MapStore, merge_maps


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_orchestra map",
                                     description="Work with change-based selection maps (.orchestra/map.db).")
    commands = parser.add_subparsers(dest="command", required=True)
    merge = commands.add_parser("merge", help="Merge maps recorded by CI shards into one.")
    merge.add_argument("maps", nargs="+", type=Path, help="map.db files recorded by shards")
    merge.add_argument("--out", type=Path, required=True, help="the merged map (created or extended)")
    show = commands.add_parser("show", help="Print what a map holds.")
    show.add_argument("map", type=Path, nargs="?", default=Path(".orchestra/map.db"))
    args = parser.parse_args(argv)
    try:
        if args.command == "merge":
            merged = merge_maps(args.out, args.maps)
            print(f"merged {len(args.maps)} maps ({merged} contexts) into {args.out}")
            return 0
        store = MapStore.open_for_reading(args.map)
        try:
            meta = store.meta()
            contexts = store.contexts()
            tests = sum(1 for kind, _ in contexts.values() if kind == "test")
            print(f"{args.map}: {tests} tests, {len(store.versions())} files executed or read, "
                  f"commit {meta.get('commit', 'unknown')}, {meta.get('python')}, recorded in {meta.get('root')}")
        finally:
            store.close()
        return 0
    except MapError as exc:
        print(f"python -m pytest_orchestra map: {exc}", file=sys.stderr)
        return 2
