"""Did a failing test run code that changed since it last passed? (DeFlaker's rule.)

A test that fails although nothing it executed changed since its last pass is
a flake suspect; a test that executed changed lines is not — its failure is
more likely the change's fault, so it is never quarantined. What the test
executed comes from the selection map (which lines of which file versions the
test, its fixtures and its file's collection ran); what changed comes from the
code states that history records per run (see ``codestate``): git's blob id of
each file in the last passing run and now, and line by line where both texts
can be read (git's object store, or the map's copy of a recorded version).

Anything that cannot be known errs towards "ran changed code" — never towards
calling a failure a flake. Without a map, only "nothing changed at all since
the last pass" can be said. Anchors: DeFlaker (Bell et al., ICSE 2018) and
pytest-flakefighters' coverage-based classifier.
"""

from __future__ import annotations

import difflib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import (
    Callable,
    Dict,
    FrozenSet,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
)

from pytest_orchestra.core.codestate import DELETED, CodeState, state_of_run
from pytest_orchestra.core.records import RunRecord, TestRecord

#: Changed places named in a reason, at most.
PLACES_SHOWN = 3


@dataclass(frozen=True)
class Footprint:
    """What one test executed, per the map: rootdir-relative path -> (version hash, lines or None)."""

    files: Mapping[str, Tuple[str, Optional[FrozenSet[int]]]]

    @property
    def paths(self) -> Tuple[str, ...]:
        return tuple(sorted(self.files))


@dataclass(frozen=True)
class ChangeVerdict:
    """The answer for one failing test."""

    #: True: it executed changed code; False: it executed none; None: cannot be known.
    ran_changed_code: Optional[bool]
    reason: str
    #: The run it last passed in, when known.
    last_pass: Optional[str] = None
    #: Changed places it executed (``shop/prices.py:41``), for the report.
    places: Tuple[str, ...] = ()

    @property
    def suspect(self) -> bool:
        """A flake suspect: it failed although it executed no changed code."""
        return self.ran_changed_code is False

    def as_dict(self) -> Dict[str, object]:
        return {"ran_changed_code": self.ran_changed_code, "reason": self.reason,
                "last_pass": self.last_pass, "places": list(self.places)}


class GitObjects:
    """Blob ids and texts from the repository's object store, through one ``git cat-file`` each way."""

    def __init__(self, repo_root: Path) -> None:
        self.repo_root = repo_root
        self._ids: Dict[str, Optional[str]] = {}
        self._texts: Dict[str, Optional[str]] = {}
        self._check: Optional[subprocess.Popen[bytes]] = None
        self._cat: Optional[subprocess.Popen[bytes]] = None

    def _process(self, batch: str) -> Optional[subprocess.Popen[bytes]]:
        try:
            return subprocess.Popen(["git", "cat-file", f"--batch{batch}"], cwd=self.repo_root,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError:
            return None

    def blob_at(self, commit: str, repo_path: str) -> Optional[str]:
        """The blob id of ``repo_path`` at ``commit``; ``""`` when absent there; None when unknown."""
        key = f"{commit}:{repo_path}"
        if key not in self._ids:
            if self._check is None:
                self._check = self._process("-check")
            self._ids[key] = self._ask_id(key)
        return self._ids[key]

    def _ask_id(self, key: str) -> Optional[str]:
        process = self._check
        if process is None or process.stdin is None or process.stdout is None or "\n" in key:
            return None
        try:
            process.stdin.write(key.encode("utf-8", "surrogateescape") + b"\n")
            process.stdin.flush()
            answer = process.stdout.readline().decode("utf-8", "replace").split()
        except OSError:
            return None
        if len(answer) >= 2 and answer[-1] == "missing":
            commit = key.split(":", 1)[0]
            return "" if self._has_commit(commit) else None
        return answer[0] if len(answer) == 3 and answer[1] == "blob" else None

    def _has_commit(self, commit: str) -> bool:
        return self._ask_id_raw(f"{commit}^{{commit}}")

    def _ask_id_raw(self, spec: str) -> bool:
        process = self._check
        if process is None or process.stdin is None or process.stdout is None:
            return False
        try:
            process.stdin.write(spec.encode() + b"\n")
            process.stdin.flush()
            return not process.stdout.readline().decode("utf-8", "replace").rstrip().endswith("missing")
        except OSError:
            return False

    def text(self, blob: str) -> Optional[str]:
        if blob not in self._texts:
            self._texts[blob] = self._ask_text(blob)
        return self._texts[blob]

    def _ask_text(self, blob: str) -> Optional[str]:
        if self._cat is None:
            self._cat = self._process("")
        process = self._cat
        if process is None or process.stdin is None or process.stdout is None:
            return None
        try:
            process.stdin.write(blob.encode() + b"\n")
            process.stdin.flush()
            header = process.stdout.readline().decode("utf-8", "replace").split()
            if len(header) != 3 or header[1] != "blob":
                return None
            content = process.stdout.read(int(header[2]) + 1)[:-1]
        except (OSError, ValueError):
            return None
        return content.decode("utf-8", "replace")

    def close(self) -> None:
        for process in (self._check, self._cat):
            if process is not None:
                try:
                    if process.stdin is not None:
                        process.stdin.close()
                    process.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    process.kill()
        self._check = self._cat = None


class ChangedCode:
    """Answers :meth:`verdict` for failing tests of one run (one instance per run)."""

    def __init__(
        self,
        *,
        now: Optional[CodeState],
        objects: Optional[GitObjects],
        prefix: str = "",
        footprint_of: Callable[[str], Optional[Footprint]] = lambda nodeid: None,
        map_source: Callable[[str], Optional[str]] = lambda digest: None,
        rootdir: Optional[Path] = None,
    ) -> None:
        self.now = now
        self.objects = objects
        #: The rootdir relative to the repository root (map paths are rootdir-relative).
        self.prefix = prefix.strip("/")
        self.footprint_of = footprint_of
        self.map_source = map_source
        self.rootdir = rootdir

    # -- versions ------------------------------------------------------------------------

    def _repo_path(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def blob(self, state: CodeState, path: str) -> Optional[str]:
        """The blob id of rootdir-relative ``path`` in ``state``; ``""`` for absent; None when unknown."""
        kind, value = state.version_of(self._repo_path(path))
        if kind == "blob":
            if value.startswith("stat:"):
                return None  # not hashed (a huge tree): unknown
            return value if value != DELETED else ""
        return self.objects.blob_at(value, self._repo_path(path)) if self.objects is not None else None

    def _text(self, blob: str, path: str) -> Optional[str]:
        text = self.map_source(blob)
        if text is None and self.objects is not None:
            text = self.objects.text(blob)
        if text is None and self.rootdir is not None:
            from pytest_orchestra.core.codestate import blob_id

            try:
                raw = (self.rootdir / path).read_bytes()
            except OSError:
                return None
            if blob_id(raw) == blob:
                text = raw.decode("utf-8", "replace")
        return text

    def state_for_test(self, state: Optional[CodeState], footprint: Optional[Footprint]) -> Optional[str]:
        """The code a test saw in ``state``: its files' blob ids when the map knows the test, else the run's."""
        if state is None:
            return None
        if footprint is None or not footprint.files:
            return state.key
        versions = []
        for path in footprint.paths:
            blob = self.blob(state, path)
            if blob is None:
                return None  # unknown: compared with no other run
            versions.append(f"{path}={blob}")
        return "files:" + "|".join(versions)

    # -- the verdict -----------------------------------------------------------------------

    def verdict(self, nodeid: str, history: Sequence[Tuple[RunRecord, TestRecord]],
                current_run: Optional[str] = None) -> ChangeVerdict:
        """Whether the failing test ``nodeid`` ran code that changed since its last pass.

        ``history`` holds the test's rows, newest first (``HistoryStore.test_history``).
        """
        if self.now is None:
            return ChangeVerdict(None, "the code this run tested is unknown (no git repository or git failed)")
        last = _last_pass(history, current_run)
        if last is None:
            return ChangeVerdict(None, "no earlier pass of this test with a recorded code state")
        run, state = last
        if state.key == self.now.key:
            return ChangeVerdict(False, f"no code changed since the last pass (run {run.run_id})", run.run_id)
        footprint = self.footprint_of(nodeid)
        if footprint is None or not footprint.files:
            return ChangeVerdict(
                None, f"the code changed since the last pass (run {run.run_id}); without a map for this test, "
                "whether it ran the change is unknown", run.run_id)
        changed_files = 0
        places: List[str] = []
        unknown: List[str] = []
        for path in footprint.paths:
            then, now = self.blob(state, path), self.blob(self.now, path)
            if then is None or now is None:
                unknown.append(path)
                continue
            if then == now:
                continue
            changed_files += 1
            place = self._executed_change(path, then, now, footprint.files[path])
            if place is not None:
                places.append(place)
        if places:
            shown = ", ".join(places[:PLACES_SHOWN]) + (f" and {len(places) - PLACES_SHOWN} more" if len(places) > PLACES_SHOWN else "")
            return ChangeVerdict(True, f"executed {shown}, changed since the last pass (run {run.run_id})",
                                 run.run_id, tuple(places))
        if unknown:
            return ChangeVerdict(True, f"executed {unknown[0]}, whose version at the last pass (run {run.run_id}) "
                                 "cannot be read: taken as changed", run.run_id, (unknown[0],))
        if changed_files:
            return ChangeVerdict(False, f"executed none of the changed lines of {changed_files} file(s) it uses "
                                 f"since the last pass (run {run.run_id}): a flake suspect", run.run_id)
        return ChangeVerdict(False, f"executed none of the code changed since the last pass (run {run.run_id}): "
                             "a flake suspect", run.run_id)

    def _executed_change(self, path: str, then: str, now: str,
                         recorded: Tuple[str, Optional[FrozenSet[int]]]) -> Optional[str]:
        """``path:line`` of a changed line the test executed; the file alone when lines cannot tell."""
        version, lines = recorded
        if lines is None or not then or not now:
            return path  # a data file read, or a file added or deleted: the whole file is the change
        old_text, new_text = self._text(then, path), self._text(now, path)
        if old_text is None or new_text is None or version not in (then, now):
            return path
        old_changed, new_changed = changed_lines(old_text, new_text)
        changed = new_changed if version == now else old_changed
        hit = sorted(lines & changed)
        if hit:
            return f"{path}:{hit[0]}"
        return None


def _last_pass(history: Sequence[Tuple[RunRecord, TestRecord]],
               current_run: Optional[str]) -> Optional[Tuple[RunRecord, CodeState]]:
    for run, test in history:  # newest first
        if run.run_id == current_run or test.outcome != "passed":
            continue
        state = state_of_run(run.commit, run.code_state, run.code_changes)
        if state is not None:
            return run, state
    return None


def changed_lines(old: str, new: str) -> Tuple[Set[int], Set[int]]:
    """1-based line numbers that differ: replaced or deleted lines of ``old``; replaced or added of ``new``.

    A pure insertion also marks the new lines' neighbours on the old side, so a
    test that ran the line before or after an inserted block counts as running it.
    """
    old_lines, new_lines = old.splitlines(), new.splitlines()
    old_changed: Set[int] = set()
    new_changed: Set[int] = set()
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        old_changed.update(range(i1 + 1, i2 + 1))
        new_changed.update(range(j1 + 1, j2 + 1))
        if tag == "insert":
            old_changed.update({i1, i1 + 1} - {0})
        if tag == "delete":
            new_changed.update({j1, j1 + 1} - {0})
    return old_changed, new_changed


class MapFootprints:
    """Footprints of tests in the selection map (``.orchestra/map.db``), read on demand.

    Raises ``MapError`` (from ``selection.mapstore``) when the map cannot be read.
    """

    def __init__(self, map_path: Path) -> None:
        from pytest_orchestra.selection.mapstore import MapStore

        self.store = MapStore.open_for_reading(map_path)
        self._contexts = self.store.contexts()
        self._fixtures = [name for name in self._contexts if name.startswith("fixture ")]
        self._found: Dict[str, Optional[Footprint]] = {}

    def footprint(self, nodeid: str) -> Optional[Footprint]:
        """What ``nodeid`` executed (with its fixtures and its file's collection); None if never recorded."""
        if nodeid not in self._found:
            self._found[nodeid] = self._read(nodeid)
        return self._found[nodeid]

    def _read(self, nodeid: str) -> Optional[Footprint]:
        known = self._contexts.get(nodeid)
        if known is None:
            return None
        _kind, fixtures = known
        names = [nodeid, f"collect {nodeid.split('::', 1)[0]}"]
        for name in self._fixtures:
            argname, _, baseid = name[len("fixture "):].partition(" @ ")
            if argname in fixtures and (not baseid or nodeid.startswith(baseid)):
                names.append(name)
        files: Dict[str, Tuple[str, Optional[FrozenSet[int]]]] = {}
        for hit in self.store.hits_of(names):
            previous = files.get(hit.path)
            lines = hit.lines
            if previous is not None and previous[0] == hit.hash and previous[1] is not None and lines is not None:
                lines = previous[1] | lines
            files[hit.path] = (hit.hash, lines)
        return Footprint(files)

    def source(self, digest: str) -> Optional[str]:
        return self.store.source(digest)

    def close(self) -> None:
        self.store.close()
