"""Reviewed labels: the file, its errors, and ``triage label`` finding a failure's fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pytest_orchestra.core.records import RunRecord, TestRecord
from pytest_orchestra.triage import cli, label_failure
from pytest_orchestra.triage.classifier import Classifier
from pytest_orchestra.triage.failure import Failure, FailureEvidence, Frame
from pytest_orchestra.triage.fingerprint import fingerprint
from pytest_orchestra.triage.labels import LabelsError, ReviewedLabel, ReviewedLabels

PRINT = "3f2a9c1d0b7e"


def label(fingerprint: str = PRINT, category: str = "infrastructure", **extra: str) -> ReviewedLabel:
    return ReviewedLabel(fingerprint=fingerprint, category=category, by="alice", at="2026-12-06T10:15:00Z", **extra)


def test_labels_round_trip_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / ".orchestra" / "triage-labels.yaml"
    labels = ReviewedLabels([label(note="staging db restarts at 10:00", example="t.py::x", text="phase_call boom")])
    labels.add(label("aaaaaaaaaaaa", "data"))
    labels.save(path)

    loaded = ReviewedLabels.load(path)

    assert [entry.fingerprint for entry in loaded] == [PRINT, "aaaaaaaaaaaa"]  # by time, then fingerprint
    assert loaded.get(PRINT) == label(note="staging db restarts at 10:00", example="t.py::x", text="phase_call boom")
    assert loaded.get(PRINT).describe() == "reviewed by alice on 2026-12-06: staging db restarts at 10:00"
    assert path.read_text().startswith("# Reviewed failure categories")
    assert ReviewedLabels.load(tmp_path / "missing.yaml").get(PRINT) is None


@pytest.mark.parametrize(
    "content, message",
    [
        ("labels: {}", "expected a mapping with a list under 'labels'"),
        ("labels:\n  - {fingerprint: 3f2a9c1d0b7e}", r"labels\[0\]\.category: missing"),
        ("labels:\n  - {fingerprint: 3f2a9c1d0b7e, category: prodcut}", r"labels\[0\]\.category: expected one of product"),
        ("labels:\n  - {fingerprint: 3f2a, category: product}", r"labels\[0\]\.fingerprint: expected 12 hex digits"),
        ("labels:\n  - {fingerprint: 3f2a9c1d0b7e, category: product, colour: red}", r"labels\[0\]\.colour: unknown key"),
        ("labels: [", "not valid YAML"),
    ],
)
def test_a_malformed_labels_file_names_the_entry_and_key(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "labels.yaml"
    path.write_text(content)
    with pytest.raises(LabelsError, match=f"{path}: {message}" if "YAML" not in message else message):
        ReviewedLabels.load(path)


def test_unknown_is_not_a_reviewed_category() -> None:
    with pytest.raises(LabelsError, match="expected one of"):
        ReviewedLabels().add(label(category="unknown"))


def test_a_reviewed_label_wins_over_every_rule() -> None:
    failure = Failure("t.py::test_x", "call", "failed",
                      FailureEvidence("builtins.AssertionError", ("builtins.AssertionError",), "assert 1 == 2",
                                      (Frame("t.py", 3, "test_x", "test"),)), "")
    print_id = fingerprint(failure)
    classifier = Classifier(labels=ReviewedLabels([label(print_id, "infrastructure", note="the 10:00 restart")]))

    decision = classifier.classify(failure, print_id)

    assert (decision.category, decision.rule, decision.reviewed) == ("infrastructure", "reviewed", True)
    assert decision.reason == "reviewed by alice on 2026-12-06: the 10:00 restart"
    assert classifier.classify(failure).category == "product"  # without its fingerprint: the rules decide


def write_triage(root: Path, entries: list) -> None:
    latest = root / ".orchestra" / "reports" / "latest"
    latest.mkdir(parents=True)
    (latest / "triage.json").write_text(json.dumps(entries))


def test_label_by_node_id_finds_the_fingerprint_in_the_latest_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCHESTRA_REVIEWER", "qa-lead")
    write_triage(tmp_path, [
        {"nodeid": "tests/test_orders.py::test_checkout", "fingerprint": PRINT, "category": "product",
         "text": "phase_call OperationalError server closed the connection"},
        {"nodeid": "tests/test_orders.py::test_refund", "fingerprint": "bbbbbbbbbbbb", "category": "product"},
    ])

    assert cli.main(["label", "test_checkout", "infrastructure", "--note", "db restarts"]) == 0

    out = capsys.readouterr().out
    assert f"labelled {PRINT} (tests/test_orders.py::test_checkout) as infrastructure" in out
    saved = yaml.safe_load((tmp_path / ".orchestra" / "triage-labels.yaml").read_text())["labels"]
    assert saved[0]["fingerprint"] == PRINT and saved[0]["by"] == "qa-lead" and saved[0]["note"] == "db restarts"
    assert saved[0]["text"] == "phase_call OperationalError server closed the connection"
    assert cli.main(["labels"]) == 0
    assert f"{PRINT} infrastructure" in capsys.readouterr().out


def test_label_by_fingerprint_and_replacing_a_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["label", PRINT, "data", "--by", "bob"]) == 0
    assert cli.main(["label", PRINT, "environment", "--by", "carol"]) == 0
    assert "it was data (reviewed by bob" in capsys.readouterr().out
    assert ReviewedLabels.load(tmp_path / ".orchestra" / "triage-labels.yaml").get(PRINT).category == "environment"
    assert cli.main(["label", PRINT, "--remove"]) == 0
    assert ReviewedLabels.load(tmp_path / ".orchestra" / "triage-labels.yaml").get(PRINT) is None
    assert cli.main(["label", PRINT, "--remove"]) == 1


def test_label_targets_that_cannot_be_found_or_are_ambiguous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write_triage(tmp_path, [
        {"nodeid": "tests/a/test_x.py::test_same", "fingerprint": "aaaaaaaaaaaa"},
        {"nodeid": "tests/b/test_x.py::test_same", "fingerprint": "bbbbbbbbbbbb"},
    ])
    assert cli.main(["label", "test_same", "product"]) == 2
    assert "names 2 failing tests (tests/a/test_x.py::test_same, tests/b/test_x.py::test_same)" in capsys.readouterr().err
    assert cli.main(["label", "tests/test_none.py::test_gone", "product"]) == 2
    assert "no failure of 'tests/test_none.py::test_gone'" in capsys.readouterr().err
    assert cli.main(["label", "tests/a/test_x.py::test_same", "prodcut"]) == 2
    assert "category: expected one of product" in capsys.readouterr().err


def test_label_by_node_id_falls_back_to_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_orchestra.history import HistoryStore

    monkeypatch.chdir(tmp_path)
    with HistoryStore.open(tmp_path / ".orchestra" / "history.db") as store:
        store.begin_run(RunRecord(run_id="r1", started=1.0))
        store.add_tests("r1", [TestRecord("t.py::test_x", "failed", message="KeyError: 'API_KEY'",
                                          category="product", fingerprint=PRINT)])

    made, replaced, path = label_failure("t.py::test_x", "environment", rootdir=tmp_path, by="dana")

    assert (made.fingerprint, made.example, made.text, replaced) == (PRINT, "t.py::test_x",
                                                                     "phase_call KeyError: 'API_KEY'", None)
    assert path == tmp_path / ".orchestra" / "triage-labels.yaml"


def test_a_secret_in_a_note_or_failure_text_is_never_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHOP_API_TOKEN", "s3cr3t-value-123")
    write_triage(tmp_path, [{"nodeid": "t.py::test_x", "fingerprint": PRINT, "text": "auth s3cr3t-value-123 refused"}])
    label_failure("t.py::test_x", "infrastructure", rootdir=tmp_path, note="token s3cr3t-value-123 expired", by="x")
    assert "s3cr3t-value-123" not in (tmp_path / ".orchestra" / "triage-labels.yaml").read_text()
