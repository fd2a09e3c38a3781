"""The test data's command-line option and ini keys."""

from __future__ import annotations

from typing import Any


def addoption(group: Any, parser: Any) -> None:
    group.addoption(
        "--orchestra-data-seed",
        metavar="SEED",
        default=None,
        help="Run seed of generated test data: an integer, or 'random' (default: ini orchestra_data_seed, 0). "
        "Each test's dataset is seeded from it and the test's nodeid.",
    )
    parser.addini("orchestra_data_seed", default="0", help="Default run seed of generated test data.")
    parser.addini("orchestra_data_cache_size", default="2GB", help="Size cap of the generated-data cache (.orchestra/data).")
