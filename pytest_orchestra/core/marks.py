"""Cheap reads of the markers pytest keeps on collection nodes.

``Node.iter_markers`` builds the node's whole parent chain and two generators
for every call: a few thousand instructions per item, paid by every test of a
suite that uses none of the plugin's markers. These helpers read
``own_markers`` up the ``parent`` links directly (the same markers, closest
first), and :class:`MarkerSurvey` walks each item and parent once per session.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, Optional, Set


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
    """Every marker name on the collected items, found in one walk that the capabilities share.

    Tagging, environments and ordering each need to know which markers the
    collected items carry; walking every item's markers once per capability
    cost more than the rest of their collection work. The first capability to
    ask, in ``pytest_collection_modifyitems``, surveys the items; a later ask
    with the same list of the same length takes the survey as it is. ``seen``
    is the union of every surveyed item's marker names (its own and its
    parents'), so ``"env" in survey.seen`` answers "does any test use
    ``@pytest.mark.env``" at once; after a deselection it is a superset, which
    is harmless for a guard that then checks each test. :meth:`of` gives one
    item's names, computed when first asked for.
    """

    __slots__ = ("seen", "_names", "_parents", "_last")

    def __init__(self) -> None:
        self.seen: Set[str] = set()
        #: ``id(item)`` -> the names of the markers on the item and its parents (asked for).
        self._names: Dict[int, FrozenSet[str]] = {}
        self._parents: Dict[int, FrozenSet[str]] = {}
        self._last: Any = (None, -1)

    def add(self, items: Any) -> "MarkerSurvey":
        if self._last[0] is items and self._last[1] == len(items):
            return self  # the same list, unchanged since: nothing new to see
        self._last = (items, len(items))
        seen_add = self.seen.add
        parents = self._parents
        for item in items:
            own = item.own_markers
            if own:
                for marker in own:
                    seen_add(marker.name)
            parent = item.parent
            if parent is not None and id(parent) not in parents:
                self.seen.update(self.names_above(parent))
        return self

    def names_above(self, node: Any) -> FrozenSet[str]:
        """The marker names on ``node`` (a module, class, package: a node that lives for the
        session) and its parents, cached per node."""
        if node is None:
            return frozenset()
        key = id(node)
        names = self._parents.get(key)
        if names is None:
            names = self.names_above(node.parent).union([marker.name for marker in node.own_markers])
            self._parents[key] = names
        return names

    def of(self, item: Any) -> FrozenSet[str]:
        key = id(item)
        names = self._names.get(key)
        if names is None:
            inherited = self.names_above(item.parent)
            own = item.own_markers
            names = inherited.union([marker.name for marker in own]) if own else inherited
            self._names[key] = names
            self.seen.update(names)
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
    added: MarkerSurvey = survey.add(items)
    return added
