"""``python -m pytest_orchestra history COMMAND``: move, export, chart and report run history.

``push``    upload a local history.db into a shared database (idempotent)
``export``  write runs as JSON Lines for other tools
``trends``  pass rate, failures, flaky, wall time over the last N runs (text, Markdown, SVG)
``report``  report.md and summary.json of a run or a whole run group, read back from history
``status``  where the history is, its schema version, its runs, and what waits in the spool

A SOURCE is a ``postgresql://`` URL or a history.db path; by default the one
the plugin would use here (``ORCHESTRA_HISTORY_URL``, else the workflow's
``history.url``, else ``<reports.dir>/history.db``). Passwords are never printed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from pytest_orchestra.core.redaction import Redactor
from pytest_orchestra.history.location import mask_url, parse_history_url
from pytest_orchestra.history.sources import CommandError, Sources, open_source


def _push(args: argparse.Namespace, sources: Sources) -> int:
    from pytest_orchestra.history.spool import Spool
    from pytest_orchestra.history.transfer import push

    destination_spec = args.to or (sources.url.url if sources.url is not None else None)
    if destination_spec is None:
        raise CommandError("history push: name the database with --to URL (or set history.url or "
                           "ORCHESTRA_HISTORY_URL)")
    with open_source(args.source or str(sources.local), timeout=args.timeout) as source, \
            open_source(destination_spec, timeout=args.timeout, create=True, what="--to") as destination:
        result = push(source, destination)
        shown = destination.location
        if destination_spec.split("://", 1)[0].lower().startswith("postgres"):
            identity = parse_history_url(destination_spec, "--to").identity
            spool = Spool(sources.base_dir / "history-spool")
            waiting = spool.pending(identity)
            for run_id, state in destination.known_runs(waiting).items():
                if state == source.known_runs([run_id]).get(run_id):
                    spool.done(run_id)
    print(f"history push: {result.pushed} runs ({result.tests} tests) pushed to {shown}; "
          f"{result.already} already there" + (f"; {result.running} still running, left for a later push"
                                                  if result.running else ""))
    if result.failed is not None:
        print(f"history push: stopped: {mask_url(result.failed)}; push again to send the rest", file=sys.stderr)
        return 1
    return 0


def _export(args: argparse.Namespace, sources: Sources) -> int:
    from pytest_orchestra.history.transfer import export

    redactor = Redactor.from_environ()
    with open_source(args.source or sources.default(), timeout=args.timeout) as store:
        runs = list(reversed(store.runs(branch=args.branch, limit=args.limit)))
        if args.out in (None, "-"):
            count = export(store, sys.stdout, runs, with_tests=not args.no_tests, redact=redactor.redact)
        else:
            with open(args.out, "w", encoding="utf-8") as out:
                count = export(store, out, runs, with_tests=not args.no_tests, redact=redactor.redact)
    if args.out not in (None, "-"):
        print(f"history export: {count} runs -> {args.out}")
    return 0


def _trends(args: argparse.Namespace, sources: Sources) -> int:
    from pytest_orchestra.history.render import markdown_section, svg_chart, text_lines
    from pytest_orchestra.history.trends import compute_trends

    branch = None if args.all_branches else (args.branch or _current_branch())
    with open_source(args.source or sources.default(), timeout=args.timeout) as store:
        trends = compute_trends(store, branch=branch, plan=args.plan, runs=args.runs)
    redactor = Redactor.from_environ()
    for line in text_lines(trends):
        print(redactor.redact(line))
    if args.svg:
        Path(args.svg).write_text(redactor.redact(svg_chart(trends)), encoding="utf-8")
    if args.markdown:
        svg_link = os.path.relpath(args.svg, Path(args.markdown).parent) if args.svg else None
        text = "\n".join(markdown_section(trends.as_dict(), svg=svg_link)) + "\n"
        Path(args.markdown).write_text(redactor.redact(text), encoding="utf-8")
    return 0


def _status(args: argparse.Namespace, sources: Sources) -> int:
    from pytest_orchestra.history.spool import Spool

    with open_source(args.source or sources.default(), timeout=args.timeout) as store:
        runs = store.runs()
        newest = f", newest {runs[0].run_id}" if runs else ""
        print(f"history: {store.location}: schema version {store.schema_version()}, {len(runs)} runs{newest}")
    if sources.url is not None:
        waiting = Spool(sources.base_dir / "history-spool").pending(sources.url.identity)
        print(f"spool: {len(waiting)} runs in {sources.local} wait for {sources.url.shown}")
    return 0


def _current_branch() -> Optional[str]:
    from pytest_orchestra.core.runinfo import git_state

    return git_state(Path.cwd()).branch


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pytest_orchestra history",
                                     description="Move, export, chart and report run history.")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--from", dest="source", metavar="SOURCE",
                         help="postgresql:// URL or history.db path (default: the one the plugin uses here)")
        sub.add_argument("--timeout", type=float, default=60.0, help="seconds per database call (default 60)")
        return sub

    push = command("push", "Upload a local history.db into a shared database; runs already there are skipped.")
    push.add_argument("--to", metavar="URL", help="the database (default: history.url or ORCHESTRA_HISTORY_URL)")
    export = command("export", "Write runs (oldest first) as JSON Lines: one run, with its tests, a line.")
    export.add_argument("--out", metavar="FILE", help="file to write (default: standard output)")
    export.add_argument("--branch", help="only runs of this branch")
    export.add_argument("--limit", type=int, help="only the newest N runs")
    export.add_argument("--no-tests", action="store_true", help="leave each run's tests out")
    trends = command("trends", "Pass rate, failures by category, flaky, quarantined and wall time over recent runs.")
    trends.add_argument("--branch", help="the branch (default: the current git branch)")
    trends.add_argument("--all-branches", action="store_true", help="runs of every branch")
    trends.add_argument("--plan", help="only runs of this workflow plan")
    trends.add_argument("--runs", type=int, default=20, help="logical runs to show (default 20)")
    trends.add_argument("--markdown", metavar="FILE", help="also write the Markdown section (Mermaid charts)")
    trends.add_argument("--svg", metavar="FILE", help="also write the chart as SVG")
    report = command("report", "Write report.md and summary.json of a run or run group from history.")
    report.add_argument("run", help="a run id, or a run group's id (a CI pipeline: every shard's latest attempt)")
    report.add_argument("--out", metavar="DIR", help="folder to write (default: <reports.dir>/reports/<RUN>)")
    report.add_argument("--gate", nargs="?", const="", default=None, metavar="RULES",
                        help="evaluate the quality gate over the whole run: exit 6 when it fails")
    command("status", "Where the history is, its schema version and runs, and the spool.")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    handlers = {"push": _push, "export": _export, "trends": _trends, "status": _status}
    try:
        sources = Sources(Path.cwd())
        if args.command == "report":
            from pytest_orchestra.history.cli_report import report

            return report(args, sources)
        return handlers[args.command](args, sources)
    except CommandError as error:
        print(f"python -m pytest_orchestra history {args.command}: {mask_url(str(error))}", file=sys.stderr)
        return 2
