"""The root of every error the plugin raises for input a user can fix.

A capability raises an :class:`OrchestraError` (or a subclass of its own) whose
``str()`` is one line naming the file, key, option or marker at fault; the
entry point turns it into pytest's usage error in one place (``plugin.py``),
wherever in pytest's hooks it was raised. Errors that must also keep a
built-in meaning derive from both (``class PlanError(OrchestraError, ValueError)``).
"""

from __future__ import annotations


class OrchestraError(Exception):
    """Bad input: a malformed workflow, an unknown reference, a bad option value..."""
