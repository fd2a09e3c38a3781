"""Where a history command reads and writes: this folder's history, or a store named by URL or path.

Shared by the ``python -m pytest_orchestra history`` and ``triage`` commands.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, List, Optional

from pytest_orchestra.history.location import (
    HistoryUrl,
    HistoryUrlError,
    configured_url,
    parse_history_url,
)


class CommandError(Exception):
    """One line for the user; exit status 2."""


class Sources:
    """What this folder's workflow and environment say about history."""

    def __init__(self, root: Path) -> None:
        from pytest_orchestra.workflow import WorkflowError, load_workflow

        try:
            workflow = load_workflow(root)
        except WorkflowError as error:
            raise CommandError(str(error)) from None
        # Relative to the folder the command runs in, as the user would type it.
        self.base_dir = Path(workflow.reports.dir) if root == Path.cwd() else root / workflow.reports.dir
        self.local = self.base_dir / "history.db"
        section = workflow.sections.get("history") or {}
        try:
            self.url: Optional[HistoryUrl] = configured_url(section.get("url"), os.environ)
        except HistoryUrlError as error:
            raise CommandError(str(error)) from None

    def default(self) -> str:
        return self.url.url if self.url is not None else str(self.local)


def open_source(spec: str, *, timeout: float, create: bool = False, what: str = "--from") -> Any:
    """A store for ``spec`` (a URL or a path); :class:`CommandError` when it cannot be used."""
    if spec.split("://", 1)[0].lower() in ("postgresql", "postgres"):
        try:
            url = parse_history_url(spec, what)
        except HistoryUrlError as error:
            raise CommandError(str(error)) from None
        from pytest_orchestra.history.factory import unavailable_line
        from pytest_orchestra.history.postgres import (
            HistoryUnavailable,
            PostgresHistoryStore,
        )

        def failed(reason: str) -> None:
            sys.stderr.write(f"history: {url.shown} failed ({reason})\n")

        try:
            return PostgresHistoryStore.open(url, timeout=timeout, on_failure=failed)
        except HistoryUnavailable as error:
            raise CommandError(unavailable_line(url, error)) from None
    path = Path(spec)
    if not create and not path.is_file():
        raise CommandError(f"{what}: {path} does not exist")
    from pytest_orchestra.history.store import HistoryStore

    messages: List[str] = []
    store = HistoryStore.open(path, warn=messages.append)
    if messages:
        raise CommandError(messages[0].replace("orchestra: ", "", 1))
    return store
