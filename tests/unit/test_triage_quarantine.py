"""The quarantine file: loading, errors that say where, expiry, atomic saves, auto entries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from pytest_orchestra.triage.flaky import FlakinessStats
from pytest_orchestra.triage.quarantine import (
    QuarantineEntry,
    QuarantineError,
    QuarantineList,
    auto_quarantine,
)
from pytest_orchestra.triage.specs import QuarantineSpec

TODAY = dt.date(2026, 11, 20)

FILE = """\
entries:
  - nodeid: tests/test_cart.py::test_total
    reason: flips on CI
    owner: "@alice"
    since: 2026-11-01
    expires: 2026-12-01
  - {nodeid: tests/test_old.py::test_gone, reason: expired, since: 2026-10-01, expires: 2026-11-01}
  - {nodeid: tests/test_param.py::test_x, reason: family, expires: "2026-12-24"}
  - {nodeid: tests/test_module.py, reason: whole module}
"""


@pytest.fixture
def qfile(tmp_path: Path) -> Path:
    path = tmp_path / ".orchestra" / "quarantine.yaml"
    path.parent.mkdir()
    path.write_text(FILE)
    return path


def test_active_entries_quarantine_their_tests(qfile: Path) -> None:
    qlist = QuarantineList.load(qfile)
    entry = qlist.entry_for("tests/test_cart.py::test_total", TODAY)
    assert entry == QuarantineEntry(
        "tests/test_cart.py::test_total", "flips on CI", "@alice", dt.date(2026, 11, 1), dt.date(2026, 12, 1)
    )
    assert qlist.is_quarantined("tests/test_param.py::test_x[3]", TODAY)
    assert qlist.is_quarantined("tests/test_module.py::TestA::test_b", TODAY)
    assert not qlist.is_quarantined("tests/test_param.py::test_xy", TODAY)
    assert not qlist.is_quarantined("tests/test_cart.py::test_other", TODAY)


def test_expired_entries_are_inactive(qfile: Path) -> None:
    qlist = QuarantineList.load(qfile)
    assert not qlist.is_quarantined("tests/test_old.py::test_gone", TODAY)
    assert [e.nodeid for e in qlist.expired(TODAY)] == ["tests/test_old.py::test_gone"]
    assert len(qlist.active_entries(TODAY)) == 3
    # The day of expiry is the first day the test counts again.
    assert not qlist.is_quarantined("tests/test_cart.py::test_total", dt.date(2026, 12, 1))


def test_load_remembers_the_day_for_queries(qfile: Path) -> None:
    qlist = QuarantineList.load(qfile, today=TODAY)
    assert qlist.active("tests/test_cart.py::test_total").reason == "flips on CI"  # type: ignore[union-attr]
    assert qlist.active("tests/test_old.py::test_gone") is None
    assert QuarantineList.load(qfile, today=dt.date(2027, 1, 1)).active_entries() == [
        e for e in qlist.entries if e.expires is None
    ]


def test_missing_or_empty_file_is_an_empty_list(tmp_path: Path) -> None:
    assert QuarantineList.load(tmp_path / "nope.yaml").entries == []
    (tmp_path / "empty.yaml").write_text("")
    assert QuarantineList.load(tmp_path / "empty.yaml").entries == []


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("entries:\n  - {nodeid: a, reason: r}\n  - {nodeid: b}\n", "entries[1].reason: missing"),
        ("entries:\n  - {nodeid: a, reason: r, expires: soon}\n", "entries[0].expires: expected a date"),
        ("entries:\n  - {nodeid: a, reason: r, colour: red}\n", "entries[0].colour: unknown key"),
        ("entries:\n  - {nodeid: '', reason: r}\n", "entries[0].nodeid: expected a non-empty string"),
        ("entries:\n  - {nodeid: a, reason: r, owner: 3}\n", "entries[0].owner: expected a non-empty string"),
        ("entries:\n  - just-a-string\n", "entries[0]: expected a mapping"),
        ("entries:\n  - {nodeid: a, reason: r, since: 2026-12-02, expires: 2026-12-01}\n",
         "entries[0].expires: 2026-12-01 is before since"),
        ("- a list\n", "expected a mapping with a list under 'entries'"),
        ("entries: [unclosed\n", "not valid YAML"),
    ],
)
def test_errors_name_file_entry_and_key(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "quarantine.yaml"
    path.write_text(text)
    with pytest.raises(QuarantineError) as error:
        QuarantineList.load(path)
    assert str(path) in str(error.value)
    assert where in str(error.value)


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "quarantine.yaml"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(QuarantineError, match="cannot read"):
        QuarantineList.load(path)


def test_add_replaces_and_save_round_trips_atomically(qfile: Path) -> None:
    qlist = QuarantineList.load(qfile)
    qlist.add(QuarantineEntry("tests/test_cart.py::test_total", "still flips", None, TODAY, dt.date(2026, 12, 4)))
    qlist.add(QuarantineEntry("tests/test_new.py::test_n", "new", "@bob", TODAY, None))
    qlist.save()
    assert [p.name for p in qfile.parent.iterdir()] == ["quarantine.yaml"]  # no temp file left
    again = QuarantineList.load(qfile)
    assert again.entries == qlist.entries
    assert again.entry_for("tests/test_cart.py::test_total", TODAY).reason == "still flips"  # type: ignore[union-attr]
    assert "# Managed by pytest-orchestra" in qfile.read_text()


def test_save_creates_directories_and_needs_a_path(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "q.yaml"
    saved = QuarantineList([QuarantineEntry("t::x", "r")]).save(target)
    assert saved == target
    assert yaml.safe_load(target.read_text()) == {"entries": [{"nodeid": "t::x", "reason": "r"}]}
    with pytest.raises(QuarantineError, match="no file"):
        QuarantineList().save()


def test_failed_save_leaves_the_old_file_and_no_temp(qfile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = qfile.read_text()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("pytest_orchestra.core.files.os.replace", broken_replace)
    qlist = QuarantineList.load(qfile)
    qlist.add(QuarantineEntry("x::y", "r"))
    with pytest.raises(OSError):
        qlist.save()
    assert qfile.read_text() == before
    assert [p.name for p in qfile.parent.iterdir()] == ["quarantine.yaml"]


def stats(nodeid: str, runs: int, failures: int, flips: int, comparisons: int) -> FlakinessStats:
    return FlakinessStats(nodeid, runs, failures, flips, comparisons, 0, flips > 0, "")


def test_auto_quarantine_adds_flipping_tests_with_expiry(qfile: Path) -> None:
    qlist = QuarantineList.load(qfile)
    spec = QuarantineSpec(auto=True, flip_rate=0.3, min_runs=5, expires_days=14)
    added = auto_quarantine(
        [
            stats("tests/test_a.py::test_flips", 10, 4, 4, 10),  # 40% over 10 runs
            stats("tests/test_a.py::test_rarely", 10, 1, 2, 10),  # 20%: under the bar
            stats("tests/test_a.py::test_young", 4, 2, 3, 3),  # too few runs
            stats("tests/test_a.py::test_broken", 6, 6, 0, 5),  # always fails
            stats("tests/test_cart.py::test_total", 10, 5, 5, 9),  # already quarantined
        ],
        qlist,
        today=TODAY,
        spec=spec,
    )
    assert added == [
        QuarantineEntry(
            "tests/test_a.py::test_flips",
            "auto: flip rate 40% over 10 runs (evidence: 4 flips between runs of the same code)",
            None, TODAY, dt.date(2026, 12, 4),
        )
    ]
    assert qlist.is_quarantined("tests/test_a.py::test_flips", TODAY)
    assert qlist.entry_for("tests/test_cart.py::test_total", TODAY).reason == "flips on CI"  # type: ignore[union-attr]


def test_auto_quarantine_skips_stats_that_fail_every_run_even_with_retry_flips() -> None:
    qlist = QuarantineList()
    added = auto_quarantine(
        [stats("t::broken", 5, 5, 3, 5)], qlist, today=TODAY, spec=QuarantineSpec(flip_rate=0.3, min_runs=5)
    )
    assert added == [] and qlist.entries == []


def test_auto_quarantine_says_which_evidence_and_never_takes_a_test_that_ran_changed_code() -> None:
    qlist = QuarantineList()
    spec = QuarantineSpec(flip_rate=0.3, min_runs=2)
    retried = FlakinessStats("t::retried", 2, 1, 1, 2, 1, True, "")
    changed = FlakinessStats("t::changed", 4, 2, 3, 4, 1, True, "")
    unflaky = FlakinessStats("t::no-evidence", 4, 2, 3, 4, 0, False, "")
    added = auto_quarantine([retried, changed, unflaky], qlist, today=TODAY, spec=spec,
                            ran_changed_code=["t::changed"])
    assert [(e.nodeid, e.reason) for e in added] == [
        ("t::retried", "auto: flip rate 50% over 2 runs (evidence: passed on retry 1x)")
    ]
