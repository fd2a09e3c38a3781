"""``python -m pytest_orchestra triage ...``: reviewed labels and the learned model.

- ``triage label NODEID|FINGERPRINT CATEGORY [--note TEXT]`` writes a reviewed
  label (see ``labels``): the category wins for every later failure with that
  fingerprint. A node id is looked up in the newest reports' ``triage.json``,
  then in history, to find its last failure's fingerprint.
- ``triage labels`` lists the reviewed labels; ``triage label ... --remove`` drops one.
- ``triage train`` trains the optional learned model on reviewed labels only
  (and on ``--from FILE.jsonl`` examples that people labelled), never on the
  categories the plugin assigned itself, which would only repeat its mistakes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from pytest_orchestra.core.categories import CATEGORIES
from pytest_orchestra.triage.labels import (
    FINGERPRINT,
    REVIEWABLE,
    LabelsError,
    ReviewedLabel,
    ReviewedLabels,
    now_stamp,
    reviewer,
)
from pytest_orchestra.triage.learned import UNLEARNABLE, LearnedModel
from pytest_orchestra.triage.specs import DEFAULT_LABELS_FILE

DEFAULT_MODEL = Path(".orchestra") / "triage-model.json"


class TrainingDataError(Exception):
    """Labelled examples that cannot be read; ``str()`` is the message for the user."""


class TargetError(Exception):
    """A label's target that cannot be found; ``str()`` is the message for the user."""


# --- where things are ---------------------------------------------------------------------


def _paths(rootdir: Path) -> Tuple[Path, Path, Path]:
    """(labels file, reports root, history database) of the project at ``rootdir``, per its workflow."""
    labels, reports_dir = DEFAULT_LABELS_FILE, ".orchestra"
    try:
        from pytest_orchestra.workflow import load_workflow

        workflow = load_workflow(rootdir)
        reports_dir = workflow.reports.dir
        labels = str((workflow.sections.get("triage") or {}).get("labels") or DEFAULT_LABELS_FILE)
    except Exception:  # noqa: BLE001 - a broken workflow still lets people label: pytest will say what is wrong
        pass
    base = rootdir / reports_dir
    return rootdir / labels, base / "reports", base / "history.db"


def _triage_documents(reports_root: Path) -> Iterator[List[Dict[str, Any]]]:
    """``triage.json`` of the newest run first, then of older kept runs."""
    folders = [reports_root / "latest"] + sorted(
        (p for p in reports_root.glob("*") if p.is_dir() and p.name != "latest"), reverse=True
    ) if reports_root.is_dir() else []
    for folder in folders:
        try:
            document = json.loads((folder / "triage.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(document, list):
            yield [entry for entry in document if isinstance(entry, dict)]


def _matches(nodeid: str, target: str) -> bool:
    return nodeid == target or (nodeid.endswith(target) and nodeid[-len(target) - 1] in ":/")


def find_failure(target: str, *, reports_root: Path, history_path: Path, rootdir: Path = Path(".")) -> Dict[str, str]:
    """``fingerprint``, ``nodeid``, ``text`` and ``category`` of the last failure ``target`` names."""
    is_print = bool(FINGERPRINT.match(target))
    candidates: Dict[str, Dict[str, str]] = {}
    for entries in _triage_documents(reports_root):
        for entry in entries:
            nodeid, fingerprint = str(entry.get("nodeid", "")), str(entry.get("fingerprint", ""))
            if (is_print and fingerprint == target) or (not is_print and _matches(nodeid, target)):
                candidates.setdefault(nodeid, {"fingerprint": fingerprint, "nodeid": nodeid,
                                               "text": str(entry.get("text") or ""),
                                               "category": str(entry.get("category") or "")})
        if candidates:
            break
    if is_print:
        return next(iter(candidates.values()), {"fingerprint": target, "nodeid": "", "text": "", "category": ""})
    if len(candidates) > 1:
        names = ", ".join(sorted(candidates)[:5])
        raise TargetError(f"{target!r} names {len(candidates)} failing tests ({names}): give the whole node id")
    if candidates:
        return next(iter(candidates.values()))
    found = _from_history(target, history_path, rootdir)
    if found is None:
        raise TargetError(f"no failure of {target!r} in the kept reports or the history: run it first, "
                          "or label its fingerprint (triage.json, 'fingerprint')")
    return found


def _from_history(nodeid: str, history_path: Path, rootdir: Path) -> Optional[Dict[str, str]]:
    """The node id's last failure in the project's history: the shared database when the workflow or
    ``ORCHESTRA_HISTORY_URL`` names one, else ``history_path``."""
    from pytest_orchestra.history.sources import CommandError, Sources, open_source

    try:
        url = Sources(rootdir).url
    except CommandError:
        url = None
    spec = url.url if url is not None else str(history_path)
    if "://" not in spec and not Path(spec).exists():
        return None
    try:
        store = open_source(spec, timeout=30)
    except CommandError as error:
        raise TargetError(str(error)) from None
    with store:
        for _run, test in store.test_history(nodeid, limit=50):
            if test.failed and test.fingerprint:
                return {"fingerprint": test.fingerprint, "nodeid": test.nodeid,
                        "text": f"phase_{test.phase} {test.message}", "category": test.category or ""}
    return None


# --- label ---------------------------------------------------------------------------------


def label_failure(
    target: str,
    category: str,
    *,
    rootdir: Path = Path("."),
    note: str = "",
    by: Optional[str] = None,
    labels_path: Optional[Path] = None,
) -> Tuple[ReviewedLabel, Optional[ReviewedLabel], Path]:
    """Label the failure ``target`` names (a node id or a fingerprint) as ``category``.

    Returns the new label, the one it replaced (if any) and the file written.
    Raises :class:`TargetError` or ``LabelsError`` with a message for the user.
    """
    if category not in REVIEWABLE:
        raise LabelsError(f"category: expected one of {', '.join(REVIEWABLE)}, got {category!r}")
    default_labels, reports_root, history_path = _paths(Path(rootdir))
    path = labels_path or default_labels
    found = find_failure(target, reports_root=reports_root, history_path=history_path, rootdir=Path(rootdir))
    from pytest_orchestra.core.redaction import Redactor

    redact = Redactor.from_environ().redact
    labels = ReviewedLabels.load(path)
    label = ReviewedLabel(
        fingerprint=found["fingerprint"],
        category=category,
        by=by or reviewer(),
        at=now_stamp(),
        note=redact(note),
        example=found["nodeid"],
        text=redact(found["text"]),
    )
    replaced = labels.add(label)
    return label, replaced, labels.save(path)


def _label(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_orchestra triage label",
        description="Give a failure a reviewed category: it wins for every later failure with its fingerprint.",
    )
    parser.add_argument("target", help="a failing test's node id (or its unique end) or a fingerprint")
    parser.add_argument("category", nargs="?", help=f"one of {', '.join(REVIEWABLE)}")
    parser.add_argument("--note", default="", help="why (shown in reports)")
    parser.add_argument("--by", default=None, help="who reviewed it (default: git user.name)")
    parser.add_argument("--file", type=Path, default=None, help=f"labels file (default: the workflow's, {DEFAULT_LABELS_FILE})")
    parser.add_argument("--remove", action="store_true", help="drop the label of this fingerprint instead")
    args = parser.parse_args(list(argv))
    try:
        if args.remove:
            return _remove(args)
        if not args.category:
            parser.error("the category is required (or --remove)")
        label, replaced, path = label_failure(args.target, args.category, note=args.note, by=args.by,
                                              labels_path=args.file)
    except (TargetError, LabelsError) as error:
        print(f"triage label: {error}", file=sys.stderr)
        return 2
    example = f" ({label.example})" if label.example else ""
    print(f"labelled {label.fingerprint}{example} as {label.category} in {path}")
    if replaced is not None and replaced.category != label.category:
        print(f"  it was {replaced.category} ({replaced.describe()})")
    print(f"  every later failure with fingerprint {label.fingerprint} is {label.category} (rule: reviewed)")
    return 0


def _remove(args: argparse.Namespace) -> int:
    default_labels, reports_root, history_path = _paths(Path("."))
    path = args.file or default_labels
    labels = ReviewedLabels.load(path)
    fingerprint = args.target if FINGERPRINT.match(args.target) else find_failure(
        args.target, reports_root=reports_root, history_path=history_path)["fingerprint"]
    removed = labels.remove(fingerprint)
    if removed is None:
        print(f"triage label: no reviewed label for {fingerprint} in {path}", file=sys.stderr)
        return 1
    labels.save(path)
    print(f"removed the label of {fingerprint} ({removed.category}) from {path}")
    return 0


def _list(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_orchestra triage labels",
                                     description="List the reviewed labels.")
    parser.add_argument("--file", type=Path, default=None)
    args = parser.parse_args(list(argv))
    path = args.file or _paths(Path("."))[0]
    try:
        labels = ReviewedLabels.load(path)
    except LabelsError as error:
        print(f"triage labels: {error}", file=sys.stderr)
        return 2
    if not len(labels):
        print(f"no reviewed labels in {path}")
        return 0
    for label in labels:
        example = f" {label.example}" if label.example else ""
        print(f"{label.fingerprint} {label.category:<14}{example} — {label.describe()}")
    return 0


# --- train ---------------------------------------------------------------------------------


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


def examples_from_labels(path: Path) -> List[tuple[str, str]]:
    """The reviewed labels' examples (a missing file has none)."""
    try:
        return ReviewedLabels.load(path).training_examples()
    except LabelsError as error:
        raise TrainingDataError(str(error)) from None


def train(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_orchestra triage train",
        description="Train the learned failure classifier on reviewed labels (never on its own guesses).",
    )
    parser.add_argument("--from", dest="sources", action="append", type=Path, default=[],
                        metavar="FILE.jsonl", help="more examples labelled by people, one JSON object a line")
    parser.add_argument("--labels", type=Path, default=None,
                        help=f"reviewed labels file (default: the workflow's, {DEFAULT_LABELS_FILE})")
    parser.add_argument("--history", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL, help=f"model file (default {DEFAULT_MODEL})")
    args = parser.parse_args(list(argv))
    if args.history is not None:
        print("triage train: --history is gone: the model trains on reviewed labels only, not on the categories "
              "the plugin gave itself (label failures with: python -m pytest_orchestra triage label NODEID CATEGORY)",
              file=sys.stderr)
        return 2
    labels_path = args.labels or _paths(Path("."))[0]
    examples: list[tuple[str, str]] = []
    try:
        for source in args.sources:
            examples.extend(examples_from_jsonl(source))
        examples.extend(examples_from_labels(labels_path))
    except TrainingDataError as error:
        print(f"triage train: {error}", file=sys.stderr)
        return 2
    model = LearnedModel.train(examples)
    if not model.class_counts:
        learnable = [c for c in CATEGORIES if c not in UNLEARNABLE]
        print(f"triage train: no labelled examples of {', '.join(learnable)} "
              f"(in {labels_path}{' or --from files' if args.sources else ''})", file=sys.stderr)
        return 1
    model.save(args.out)
    counts = ", ".join(f"{name} {count}" for name, count in sorted(model.class_counts.items()))
    print(f"trained on {sum(model.class_counts.values())} reviewed failures ({counts}); saved {args.out}")
    return 0


COMMANDS = {"train": train, "label": _label, "labels": _list}
USAGE = ("usage: python -m pytest_orchestra triage label NODEID|FINGERPRINT CATEGORY [--note TEXT] [--remove]\n"
         "       python -m pytest_orchestra triage labels\n"
         "       python -m pytest_orchestra triage train [--from FILE.jsonl] [--labels FILE] [--out PATH]")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        print(USAGE, file=sys.stderr if args and args[0] not in ("-h", "--help") else sys.stdout)
        return 0 if args and args[0] in ("-h", "--help") else 2
    return COMMANDS[args[0]](args[1:])
