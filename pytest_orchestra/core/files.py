"""Writing a file so that a reader sees the old content or the new, never half of either."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomically(path: Path, text: str, *, make_parents: bool = False) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename.

    A failure leaves the old file (if any) and no temporary file behind.
    """
    write_bytes_atomically(path, text.encode("utf-8"), make_parents=make_parents)


def write_bytes_atomically(path: Path, data: bytes, *, make_parents: bool = False) -> None:
    """:func:`write_text_atomically` for bytes."""
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
