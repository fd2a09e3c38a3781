"""``python -m pytest_orchestra triage train``: train the optional learned model.

Labelled examples come from a JSONL file (one ``{"message": ..., "category":
...}`` or ``{"longrepr": ..., "category": ...}`` object a line, optionally
with ``exception_type``) and/or from the categorized failures of the history
database. The model is saved as JSON, by default ``.orchestra/triage-model.json``,
where the plugin looks for it.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import Iterator, Sequence

from pytest_orchestra.triage.config import CATEGORIES
from pytest_orchestra.triage.learned import UNLEARNABLE, LearnedModel

DEFAULT_MODEL = Path(".orchestra") / "triage-model.json"
DEFAULT_HISTORY = Path(".orchestra") / "history.db"


class TrainingDataError(Exception):
    """Labelled examples that cannot be read; ``str()`` is the message for the user."""


def examples_from_jsonl(path: Path) -> Iterator[tuple[str, str]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise TrainingDataError(f"{path}: cannot read: {error.strerror or error}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise TrainingDataError(f"{path}:{number}: not JSON: {error.msg}") from None
        if not isinstance(row, dict):
            raise TrainingDataError(f"{path}:{number}: expected an object")
        category = row.get("category")
        if category not in CATEGORIES:
            raise TrainingDataError(
                f"{path}:{number}: category: expected one of {', '.join(CATEGORIES)}, got {category!r}"
            )
        text = " ".join(
            str(row[key]) for key in ("exception_type", "message", "longrepr") if row.get(key)
        )
        if not text:
            raise TrainingDataError(f"{path}:{number}: needs 'message' or 'longrepr'")
        yield text, category


def examples_from_history(path: Path) -> Iterator[tuple[str, str]]:
    """Categorized failures of the history database (read-only)."""
    if not path.exists():
        raise TrainingDataError(f"{path}: no history database")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = connection.execute(
                "SELECT phase, message, category FROM tests"
                " WHERE category IS NOT NULL AND outcome IN ('failed', 'error')"
            ).fetchall()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise TrainingDataError(f"{path}: cannot read history: {error}") from None
    for phase, message, category in rows:
        if category in CATEGORIES and message:
            yield f"phase_{phase} {message}", category


def train(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_orchestra triage train",
        description="Train the learned failure classifier from labelled failures.",
    )
    parser.add_argument("--from", dest="sources", action="append", type=Path, default=[],
                        metavar="FILE.jsonl", help="labelled examples, one JSON object a line")
    parser.add_argument("--history", type=Path, default=None, metavar="DB",
                        help=f"use categorized failures of a history database (default {DEFAULT_HISTORY} when no --from)")
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL, help=f"model file (default {DEFAULT_MODEL})")
    args = parser.parse_args(list(argv))
    history = args.history if args.history is not None or args.sources else DEFAULT_HISTORY
    examples: list[tuple[str, str]] = []
    try:
        for source in args.sources:
            examples.extend(examples_from_jsonl(source))
        if history is not None:
            examples.extend(examples_from_history(history))
    except TrainingDataError as error:
        print(f"triage train: {error}", file=sys.stderr)
        return 2
    model = LearnedModel.train(examples)
    if not model.class_counts:
        learnable = [c for c in CATEGORIES if c not in UNLEARNABLE]
        print(f"triage train: no labelled examples of {', '.join(learnable)}", file=sys.stderr)
        return 1
    model.save(args.out)
    counts = ", ".join(f"{name} {count}" for name, count in sorted(model.class_counts.items()))
    print(f"trained on {sum(model.class_counts.values())} failures ({counts}); saved {args.out}")
    return 0


COMMANDS = {"train": train}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        print("usage: python -m pytest_orchestra triage train [--from FILE.jsonl] [--history DB] [--out PATH]",
              file=sys.stderr if args and args[0] not in ("-h", "--help") else sys.stdout)
        return 0 if args and args[0] in ("-h", "--help") else 2
    return COMMANDS[args[0]](args[1:])
