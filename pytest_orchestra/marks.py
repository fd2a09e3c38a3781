"""Cheap reads of the markers pytest keeps on collection nodes.

``Node.iter_markers`` builds the node's whole parent chain and two generators
for every call: a few thousand instructions per item, paid by every test of a
suite that uses none of the plugin's markers. These helpers read
``own_markers`` up the ``parent`` links directly (the same markers, closest
first), and :class:`MarkerSurvey` walks each item and parent once per session.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, Optional


def closest_marker(node: Any, name: str) -> Optional[Any]:
    """``node.get_closest_marker(name)`` without building the parent chain."""
    while node is not None:
        for marker in node.own_markers:
            if marker.name == name:
                return marker
        node = node.parent
    return None


#: Holds the session's :class:`MarkerSurvey` (one per config, so pytester's inner runs get their own).
_SURVEY_KEY: "Any" = None


class MarkerSurvey:
    """The marker names of every collected item, found in one walk that the capabilities share.

    Tagging, environments and ordering each need to know which markers the
    collected items carry; walking every item's markers once per capability
    cost more than the rest of their collection work. The first capability to
    ask, in ``pytest_collection_modifyitems``, surveys the items; later asks
    survey only items not seen yet. ``seen`` is the union of every surveyed
    item's names, so ``"env" in survey.seen`` answers "does any test use
    ``@pytest.mark.env``" at once (a superset after deselection: harmless for a
    guard that then checks each test). ``fixtures`` is the same for fixture names.
    """

    __slots__ = ("names", "seen", "fixtures", "_parents")

    def __init__(self) -> None:
        #: ``id(item)`` -> the names of the markers on the item and its parents.
        self.names: Dict[int, FrozenSet[str]] = {}
        self.seen: set = set()
        self.fixtures: set = set()
        self._parents: Dict[int, FrozenSet[str]] = {}

    def add(self, items: Any) -> "MarkerSurvey":
        names_of = self.names
        parents = self._parents
        seen_fixtures = self.fixtures.update
        empty: FrozenSet[str] = frozenset()
        new_names: set = set()
        for item in items:
            key = id(item)
            if key in names_of:
                continue
            parent = item.parent
            inherited = parents.get(id(parent)) if parent is not None else empty
            if inherited is None:
                inherited = self._inherited(parent)
            own = item.own_markers
            if own:
                names = inherited.union([marker.name for marker in own])
                new_names.update(names)
            else:
                names = inherited
            names_of[key] = names
            fixturenames = getattr(item, "fixturenames", None)
            if fixturenames:
                seen_fixtures(fixturenames)
        self.seen.update(new_names)
        for names in parents.values():
            self.seen.update(names)
        return self

    def _inherited(self, node: Any) -> FrozenSet[str]:
        if node is None:
            return frozenset()
        key = id(node)
        names = self._parents.get(key)
        if names is None:
            names = self._inherited(node.parent).union([marker.name for marker in node.own_markers])
            self._parents[key] = names
        return names

    def of(self, item: Any) -> FrozenSet[str]:
        names = self.names.get(id(item))
        if names is None:
            self.add((item,))
            names = self.names[id(item)]
        return names


def marker_survey(config: Any, items: Any) -> MarkerSurvey:
    """The session's survey, extended to ``items`` (see :class:`MarkerSurvey`)."""
    global _SURVEY_KEY
    if _SURVEY_KEY is None:
        import pytest

        _SURVEY_KEY = pytest.StashKey[MarkerSurvey]()
    survey = config.stash.get(_SURVEY_KEY, None)
    if survey is None:
        survey = config.stash[_SURVEY_KEY] = MarkerSurvey()
    return survey.add(items)
