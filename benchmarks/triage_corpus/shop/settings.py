"""Configuration from the environment and config files."""

from __future__ import annotations

import configparser
import os


def api_key() -> str:
    return os.environ["SHOP_API_KEY_NOT_SET"]


def require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


def load_config(path: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    with open(path, encoding="utf-8") as handle:
        parser.read_file(handle)
    return parser
