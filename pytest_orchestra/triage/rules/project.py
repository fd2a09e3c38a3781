"""What only the checkout can tell the rules, read on the first failure that asks.

- Whether the product's code mentions a name at all: a ``KeyError: 'totl'``
  raised by a test line is a typo in the test when no product code ever
  mentions ``totl``, and the product's missing key when it does.
- Whether a data file the failing code read is well-formed: when the
  project's own parser fails on a JSON file that ``json`` reads fine, the
  parser is at fault, not the data.
- Which data files of the test tree hold a value a conversion choked on.

Every answer is cached for the run; sizes are capped so a huge checkout costs
a bounded read, after which the index answers "unknown" (None) or False.
"""

from __future__ import annotations

import configparser
import csv
import io
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from functools import cached_property
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional

from pytest_orchestra.triage.datainputs import (
    SKIPPED_FOLDERS,
    in_test_tree,
    test_tree_files,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: Most bytes of product source read for the vocabulary; most bytes of one data file checked.
SOURCE_LIMIT = 40 * 1024 * 1024
DATA_FILE_LIMIT = 8 * 1024 * 1024
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[^\s'\"]{1,60}(?=['\"])")


class ProjectIndex:
    """Facts about the checkout at ``rootdir`` that rules may ask for."""

    def __init__(self, rootdir: Path) -> None:
        self.rootdir = rootdir

    @cached_property
    def packages(self) -> FrozenSet[str]:
        """Top-level packages and modules the project defines."""
        from pytest_orchestra.triage.frames import project_packages

        return project_packages(self.rootdir)

    @cached_property
    def _product_vocabulary(self) -> Optional[FrozenSet[str]]:
        words: set[str] = set()
        read = 0
        for directory, dirs, files in os.walk(self.rootdir):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_FOLDERS and not d.startswith(".")
                             and d not in ("site-packages", "build", "dist"))
            base = Path(directory)
            for name in files:
                if not name.endswith(".py"):
                    continue
                path = base / name
                relative = path.relative_to(self.rootdir).as_posix()
                if in_test_tree(relative) or name == "conftest.py" or name.startswith("test_"):
                    continue
                try:
                    text = path.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                read += len(text)
                if read > SOURCE_LIMIT:
                    return None
                words.update(TOKEN.findall(text))
                words.update(_string_contents(text))
        return frozenset(words)

    def mentions(self, word: str) -> Optional[bool]:
        """Whether the product's code (not the tests) mentions ``word``; None when unknown."""
        vocabulary = self._product_vocabulary
        if vocabulary is None or not vocabulary:
            return None
        return word in vocabulary

    def data_files_with(self, value: str) -> List[str]:
        """Data files of the test tree whose text contains ``value``."""
        if len(value) < 2:
            return []
        found = []
        for paths in test_tree_files(self.rootdir).values():
            for relative in paths:
                text = self._data_text(relative)
                if text is not None and value in text:
                    found.append(relative)
        return sorted(found)

    def well_formed(self, relative: str) -> Optional[bool]:
        """Whether a data file parses with the reference reader of its format; None when unknown."""
        suffix = Path(relative).suffix.lower()
        reader = _READERS.get(suffix)
        if reader is None:
            return None
        raw = self._data_bytes(relative)
        if raw is None:
            return None
        try:
            reader(raw)
        except Exception:  # noqa: BLE001 - any failure of the reference reader means malformed
            return False
        return True

    # -- cached reads ----------------------------------------------------------------------

    @cached_property
    def _bytes(self) -> Dict[str, Optional[bytes]]:
        return {}

    def _data_bytes(self, relative: str) -> Optional[bytes]:
        if relative not in self._bytes:
            path = self.rootdir / relative
            try:
                self._bytes[relative] = path.read_bytes() if path.stat().st_size <= DATA_FILE_LIMIT else None
            except OSError:
                self._bytes[relative] = None
        return self._bytes[relative]

    def _data_text(self, relative: str) -> Optional[str]:
        raw = self._data_bytes(relative)
        return None if raw is None else raw.decode("utf-8", errors="replace")


def _string_contents(text: str) -> List[str]:
    return re.findall(r"""['"]([^'"\n]{1,80})['"]""", text)


def _yaml(raw: bytes) -> None:
    import yaml

    list(yaml.safe_load_all(raw))


def _csv(raw: bytes) -> None:
    text = raw.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text), strict=True))
    widths = {len(row) for row in rows if row}
    if len(widths) > 1:
        raise ValueError("rows of different widths")


def _ini(raw: bytes) -> None:
    configparser.ConfigParser().read_string(raw.decode("utf-8"))


def _archive(raw: bytes) -> None:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        if archive.testzip() is not None:
            raise ValueError("a member is corrupt")


_READERS = {
    ".zip": _archive,
    ".egg": _archive,
    ".whl": _archive,
    ".json": lambda raw: json.loads(raw.decode("utf-8")),
    ".toml": lambda raw: tomllib.loads(raw.decode("utf-8")),
    ".yaml": _yaml,
    ".yml": _yaml,
    ".csv": _csv,
    ".xml": lambda raw: ET.fromstring(raw),
    ".ini": _ini,
    ".cfg": _ini,
}
