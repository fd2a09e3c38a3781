"""Cheap reads of the markers pytest keeps on collection nodes.

``Node.iter_markers`` builds the node's whole parent chain and two generators
for every call: a few thousand instructions per item, paid by every test of a
suite that uses none of the plugin's markers. These helpers read
``own_markers`` up the ``parent`` links directly (the same markers, closest
first), and :class:`MarkerNames` walks each parent once per pass over the items.
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


class MarkerNames:
    """The names of every marker on an item or its parents, for one pass over many items.

    Parents are cached by identity for the life of this object, so make one per
    pass (a collection hook), not one per session: markers added to a parent
    later would not be seen.
    """

    __slots__ = ("_parents",)

    def __init__(self) -> None:
        self._parents: Dict[int, FrozenSet[str]] = {}

    def of(self, item: Any) -> FrozenSet[str]:
        inherited = self._inherited(item.parent)
        own = item.own_markers
        if not own:
            return inherited
        return inherited.union([marker.name for marker in own])

    def _inherited(self, node: Any) -> FrozenSet[str]:
        if node is None:
            return frozenset()
        key = id(node)
        names = self._parents.get(key)
        if names is None:
            names = self._inherited(node.parent).union([marker.name for marker in node.own_markers])
            self._parents[key] = names
        return names
