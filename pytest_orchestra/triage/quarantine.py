"""The quarantine list: tests whose failures fail neither the run nor the gate.

Kept in a YAML file under version control::

    entries:
      - {nodeid: tests/test_cart.py::test_total, reason: "flips on CI", owner: "@alice",
         since: 2026-11-01, expires: 2026-12-01}

Every entry expires (``expires`` may be left out only by hand: then it never
does), so a quarantined test comes back by itself. An entry names one test, a
parametrized family (``test_x`` covers ``test_x[1]``) or a whole module or
class (``tests/test_a.py`` covers ``tests/test_a.py::test_b``). Errors name the
file, the entry index and the key. Pure logic: no pytest import.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.core.files import write_text_atomically
from pytest_orchestra.triage.flaky import FlakinessStats
from pytest_orchestra.triage.specs import QuarantineSpec

KNOWN_KEYS = ("nodeid", "reason", "owner", "since", "expires")


class QuarantineError(OrchestraError, ValueError):
    """The quarantine file is unreadable or malformed; the message says where."""


@dataclass(frozen=True)
class QuarantineEntry:
    nodeid: str
    reason: str
    owner: str | None = None
    since: dt.date | None = None
    expires: dt.date | None = None

    def active(self, today: dt.date) -> bool:
        return self.expires is None or today < self.expires

    def covers(self, nodeid: str) -> bool:
        if nodeid == self.nodeid:
            return True
        return nodeid.startswith(self.nodeid) and nodeid[len(self.nodeid)] in ":["

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"nodeid": self.nodeid, "reason": self.reason}
        if self.owner:
            data["owner"] = self.owner
        if self.since:
            data["since"] = self.since
        if self.expires:
            data["expires"] = self.expires
        return data


def _date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise QuarantineError(f"{where}: expected a date like 2026-12-01, got {value!r}")


def _text(value: Any, where: str, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise QuarantineError(f"{where}: expected a non-empty string, got {value!r}")
    return value.strip()


def _entry(raw: Any, where: str) -> QuarantineEntry:
    if not isinstance(raw, dict):
        raise QuarantineError(f"{where}: expected a mapping with nodeid and reason, got {raw!r}")
    unknown = sorted(str(key) for key in raw if key not in KNOWN_KEYS)
    if unknown:
        raise QuarantineError(f"{where}.{unknown[0]}: unknown key (known: {', '.join(KNOWN_KEYS)})")
    for key in ("nodeid", "reason"):
        if key not in raw:
            raise QuarantineError(f"{where}.{key}: missing")
    entry = QuarantineEntry(
        nodeid=_text(raw["nodeid"], f"{where}.nodeid", required=True) or "",
        reason=_text(raw["reason"], f"{where}.reason", required=True) or "",
        owner=_text(raw.get("owner"), f"{where}.owner", required=False),
        since=_date(raw.get("since"), f"{where}.since"),
        expires=_date(raw.get("expires"), f"{where}.expires"),
    )
    if entry.since and entry.expires and entry.expires < entry.since:
        raise QuarantineError(f"{where}.expires: {entry.expires} is before since ({entry.since})")
    return entry


class QuarantineList:
    """The entries of one quarantine file (empty when the file does not exist)."""

    def __init__(
        self, entries: Sequence[QuarantineEntry] = (), path: Path | None = None, today: dt.date | None = None
    ) -> None:
        self.entries: list[QuarantineEntry] = list(entries)
        self.path = path
        #: The day queries use when they are not given one (the run's day).
        self.today = today or dt.date.today()

    @classmethod
    def load(cls, path: Path, *, today: dt.date | None = None) -> QuarantineList:
        path = Path(path)
        if not path.exists():
            return cls([], path, today)
        import yaml  # only when there is a file: plain startup stays free of PyYAML

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise QuarantineError(f"{path}: cannot read: {error}") from error
        except yaml.YAMLError as error:
            raise QuarantineError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from error
        if data is None:
            return cls([], path, today)
        if not isinstance(data, dict) or not isinstance(data.get("entries", []), list):
            raise QuarantineError(f"{path}: expected a mapping with a list under 'entries'")
        entries = [
            _entry(raw, f"{path}: entries[{index}]")
            for index, raw in enumerate(data.get("entries") or [])
        ]
        return cls(entries, path, today)

    def active_entries(self, today: dt.date | None = None) -> list[QuarantineEntry]:
        day = today or self.today
        return [entry for entry in self.entries if entry.active(day)]

    def expired(self, today: dt.date | None = None) -> list[QuarantineEntry]:
        day = today or self.today
        return [entry for entry in self.entries if not entry.active(day)]

    def entry_for(self, nodeid: str, today: dt.date | None = None) -> QuarantineEntry | None:
        """The active entry covering ``nodeid`` (the most specific one), or None."""
        day = today or self.today
        matches = [e for e in self.entries if e.active(day) and e.covers(nodeid)]
        return max(matches, key=lambda e: len(e.nodeid)) if matches else None

    #: ``qlist.active(nodeid)``: the active entry for a test, or None.
    active = entry_for

    def is_quarantined(self, nodeid: str, today: dt.date | None = None) -> bool:
        return self.entry_for(nodeid, today) is not None

    def add(self, entry: QuarantineEntry) -> None:
        """Add ``entry``, replacing an entry for the same node id."""
        self.entries = [e for e in self.entries if e.nodeid != entry.nodeid]
        self.entries.append(entry)

    def save(self, path: Path | None = None) -> Path:
        """Write the file atomically: readers see the old or the new list, never half."""
        if path is None and self.path is None:
            raise QuarantineError("quarantine list has no file to save to")
        target = Path(path or self.path)  # type: ignore[arg-type]
        target.parent.mkdir(parents=True, exist_ok=True)
        text = "# Managed by pytest-orchestra; edit freely, entries expire by themselves.\n"
        import yaml

        text += yaml.safe_dump(
            {"entries": [entry.to_dict() for entry in self.entries]},
            sort_keys=False,
            default_flow_style=False,
            width=1000,  # one entry's reason on one line
        )
        write_text_atomically(target, text)
        self.path = target
        return target


def auto_quarantine(
    stats: Sequence[FlakinessStats],
    qlist: QuarantineList,
    *,
    today: dt.date,
    spec: QuarantineSpec,
    ran_changed_code: Iterable[str] = (),
) -> list[QuarantineEntry]:
    """Quarantine tests with evidence of flakiness flipping at ``spec.flip_rate`` or more over ``spec.min_runs`` runs.

    Evidence is a pass on retry or a flip between runs of the same code (see
    ``flaky``); the reason says which. A test that ran code changed since its
    last pass (``ran_changed_code``) is never quarantined: its failure may be
    that change's fault. Adds the new entries to ``qlist`` (in memory: the
    caller saves) and returns them. Tests already actively quarantined are
    left alone, so an entry's ``since`` stays the day it was first quarantined.
    """
    changed = set(ran_changed_code)
    added: list[QuarantineEntry] = []
    for stat in stats:
        if not stat.evidence_kinds or stat.nodeid in changed:
            continue
        if stat.runs < spec.min_runs or stat.flips == 0 or stat.flip_rate < spec.flip_rate:
            continue
        if stat.failures == stat.runs:
            continue  # always failing: broken, never quarantined as flaky
        if qlist.is_quarantined(stat.nodeid, today):
            continue
        entry = QuarantineEntry(
            nodeid=stat.nodeid,
            reason=f"auto: flip rate {stat.flip_rate:.0%} over {stat.runs} runs (evidence: {stat.describe_evidence()})",
            owner=None,
            since=today,
            expires=today + dt.timedelta(days=spec.expires_days),
        )
        qlist.add(entry)
        added.append(entry)
    return added
