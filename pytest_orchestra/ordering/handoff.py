"""``orchestra_handoff``: values published by upstream tests for downstream tests.

One store per process. With xdist, every value is also written to the run's
shared folder, so a consumer on another worker finds it too. A consumer whose
value is missing gets :class:`HandoffError` naming the producer it required
and what became of it.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from pytest_orchestra.core.files import write_bytes_atomically

_MISSING: Any = object()


class HandoffError(LookupError):
    """A value a test asked for was never handed off."""


class HandoffStore:
    def __init__(self, shared_dir: Optional[Path] = None) -> None:
        self.values: Dict[str, Tuple[Any, str]] = {}
        self.folder = shared_dir / "handoff" if shared_dir else None

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / (hashlib.sha1(key.encode("utf-8")).hexdigest() + ".pickle")

    def put(self, key: str, value: Any, producer: str) -> None:
        self.values[key] = (value, producer)
        if self.folder is None:
            return
        try:
            data = pickle.dumps((key, value, producer))
        except Exception:  # an unpicklable value stays in this process
            return
        write_bytes_atomically(self._path(key), data, make_parents=True)

    def lookup(self, key: str) -> Optional[Tuple[Any, str]]:
        if key in self.values:
            return self.values[key]
        if self.folder is None:
            return None
        try:
            stored_key, value, producer = pickle.loads(self._path(key).read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, ValueError):
            return None
        return (value, producer) if stored_key == key else None


class Handoff:
    """The fixture's value: ``put`` publishes as this test, ``get`` reads what upstream put."""

    def __init__(
        self,
        store: HandoffStore,
        nodeid: str,
        producers: Sequence[str],
        state_of: Callable[[str], Optional[str]],
    ) -> None:
        self._store = store
        self._nodeid = nodeid
        self._producers = tuple(producers)
        self._state_of = state_of

    def put(self, key: str, value: Any) -> None:
        self._store.put(key, value, self._nodeid)

    def __contains__(self, key: str) -> bool:
        return self._store.lookup(key) is not None

    def producer(self, key: str) -> Optional[str]:
        found = self._store.lookup(key)
        return found[1] if found else None

    def get(self, key: str, default: Any = _MISSING) -> Any:
        found = self._store.lookup(key)
        if found is not None:
            return found[0]
        if default is not _MISSING:
            return default
        raise HandoffError(self._explain(key))

    def _explain(self, key: str) -> str:
        head = f"orchestra_handoff: no value for {key!r} in {self._nodeid}"
        if not self._producers:
            return (
                f"{head}: no test put it before this one; declare its producer with"
                " @pytest.mark.requires(...) so it runs first, in the same process"
            )
        states = []
        for producer in self._producers:
            state = self._state_of(producer)
            if state is None:
                states.append(f"{producer} did not run")
            elif state == "passed":
                states.append(f"{producer} passed without putting it")
            elif state == "deselected":
                states.append(f"{producer} was deselected")
            else:
                states.append(f"{producer} {'errored' if state == 'error' else state}")
        return f"{head}: its producer " + "; ".join(states)
