"""``python -m pytest_orchestra data COMMAND``: generate, validate, edges, cache.

SCHEMA is a YAML/JSON schema file, a workflow file with ``datasets:`` (pick
one with ``--dataset``), or a dataset name from the workflow at the current
directory (orchestra.yaml or [tool.orchestra]). Exit status: 0 ok, 1
violations found, 2 bad input (unreadable path, unknown dataset...).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from .errors import DataError
from .formats import FORMATS
from .schema import Schema
from .schema_sources import load_schema_file, resolve


def _schema(text: str, dataset: Optional[str]) -> Schema:
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml", ".json", ".toml") and path.exists():
        if path.suffix.lower() == ".toml":
            from pytest_orchestra.workflow import load_workflow

            workflow = load_workflow(path.parent, path)
            datasets = workflow.sections.get("datasets") or {}
            name = dataset or (next(iter(datasets)) if len(datasets) == 1 else None)
            return resolve(name or "", datasets=datasets)
        return load_schema_file(path, dataset)
    from pytest_orchestra.workflow import WorkflowError, load_workflow

    try:
        workflow = load_workflow(Path.cwd(), None)
    except WorkflowError as error:
        raise DataError(str(error)) from None
    return resolve(dataset or text, datasets=workflow.sections.get("datasets") or {})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pytest_orchestra data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    gen = commands.add_parser("generate", help="write a dataset to files (streamed, bounded memory)")
    gen.add_argument("schema")
    gen.add_argument("out_dir", type=Path)
    amount = gen.add_mutually_exclusive_group()
    amount.add_argument("--size", help="target size, e.g. 500MB or 1GB")
    amount.add_argument("--rows", type=int, help="rows of the first table (others in proportion)")
    gen.add_argument("--format", default="csv", choices=FORMATS)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--profile")
    gen.add_argument("--dataset", help="the dataset to use when SCHEMA holds several")
    gen.add_argument("--no-progress", action="store_true")

    val = commands.add_parser("validate", help="list every violation of data files against a schema")
    val.add_argument("path", type=Path)
    val.add_argument("--schema", help="schema (default: the folder's orchestra-data.json manifest)")
    val.add_argument("--dataset")
    val.add_argument("--format", choices=FORMATS)
    val.add_argument("--limit", type=int, default=None, help="keep at most N violations")
    val.add_argument("--show", type=int, default=20, help="print at most N violations (default 20)")
    val.add_argument("--json", action="store_true", help="print the report as JSON")

    edges = commands.add_parser("edges", help="edge-case coverage per column of a generated dataset")
    edges.add_argument("schema")
    edges.add_argument("--dataset")
    edges.add_argument("--profile", default="edge")
    edges.add_argument("--rows", type=int)
    edges.add_argument("--seed", type=int, default=0)

    cache = commands.add_parser("cache", help="list, prune or clear generated datasets in .orchestra/data")
    cache.add_argument("action", choices=("list", "prune", "clear"), nargs="?", default="list")
    cache.add_argument("--dir", type=Path, default=Path(".orchestra/data"))
    cache.add_argument("--max-size", default=None, help="prune: size cap, e.g. 2GB")
    cache.add_argument("--older-than-days", type=float, default=None, help="prune: also drop entries unused this long")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        return COMMANDS[args.command](args)
    except DataError as error:
        print(f"python -m pytest_orchestra data {args.command}: {error}", file=sys.stderr)
        return 2


def _generate(args: argparse.Namespace) -> int:
    from .bulk import generate

    schema = _schema(args.schema, args.dataset)
    result = generate(schema, args.out_dir, size=args.size, rows=args.rows, format=args.format, seed=args.seed,
                      profile=args.profile, progress=False if args.no_progress else None)
    counts = ", ".join(f"{name} {count:,}" for name, count in result.rows.items())
    print(f"wrote {result.bytes / 1e6:,.1f} MB to {result.out_dir} in {result.seconds:.1f}s ({counts} rows; seed {result.seed})")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from .validation import validate

    schema = _schema(args.schema, args.dataset) if args.schema else None
    report = validate(args.path, schema, format=args.format, limit=args.limit)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        print(report.summary())
        for violation in report.violations[: args.show]:
            print(f"  {violation}")
        if len(report.violations) > args.show:
            print(f"  ... {len(report.violations) - args.show} more (--show N, --json)")
    return 0 if report.ok else 1


def _edges(args: argparse.Namespace) -> int:
    from .edges import edge_coverage
    from .sampling import sample

    schema = _schema(args.schema, args.dataset)
    dataset = sample(schema, seed=args.seed, rows=args.rows, profile=args.profile)
    coverage = edge_coverage(dataset, schema)
    print(coverage.format())
    return 0 if coverage.complete else 1


def _cache(args: argparse.Namespace) -> int:
    from .cache import DataCache

    cache = DataCache(args.dir, max_bytes=None)
    if args.action == "clear":
        print(f"removed {cache.clear()} cached dataset(s) from {args.dir}")
    elif args.action == "prune":
        removed = cache.prune(args.max_size, older_than_days=args.older_than_days)
        print(f"removed {len(removed)} cached dataset(s) from {args.dir}")
    else:
        entries = cache.entries()
        for entry in entries:
            print(f"{entry.bytes / 1e6:10,.1f} MB  {entry.path.name}")
        print(f"{len(entries)} cached dataset(s), {sum(e.bytes for e in entries) / 1e6:,.1f} MB in {args.dir}")
    return 0


COMMANDS = {"generate": _generate, "validate": _validate, "edges": _edges, "cache": _cache}
