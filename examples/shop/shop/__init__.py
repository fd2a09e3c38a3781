"""A small multi-app shop (auth, billing, inventory) used to demonstrate pytest-orchestra."""

from __future__ import annotations

__version__ = "1.4.0"
