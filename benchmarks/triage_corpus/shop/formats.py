"""Readers for the file formats the shop imports."""

from __future__ import annotations

import base64
import csv
import gzip
import json
import pickle
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def load_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle, strict=True))


def load_xml(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def load_gzip(path: Path) -> bytes:
    with gzip.open(path) as handle:
        return handle.read()


def load_zip(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def load_pickle(path: Path) -> Any:
    return pickle.loads(path.read_bytes())


def load_token(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
