"""Exports that need optional third-party libraries."""

from __future__ import annotations


def export_pdf(rows: list[str]) -> bytes:
    import reportlab_not_installed  # an optional dependency

    return reportlab_not_installed.render(rows)
