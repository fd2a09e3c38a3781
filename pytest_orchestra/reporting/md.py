"""Markdown primitives shared by the report writer and the sections capabilities contribute."""

from __future__ import annotations

from typing import List, Sequence


def cell_text(text: str) -> str:
    """Text safe inside a table cell: no pipe splits it, no newline ends the row."""
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def code(text: str) -> str:
    """Inline code that a backtick in the text cannot break out of."""
    return "`" + str(text).replace("`", "'") + "`"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    lines = ["| " + " | ".join(cell_text(h) for h in header) + " |"]
    lines.append("|" + "---|" * len(header))
    for row in rows:
        lines.append("| " + " | ".join(cell_text(c) for c in row) + " |")
    return lines
