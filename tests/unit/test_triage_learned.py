"""The optional learned model and the ``triage train`` command."""

from __future__ import annotations

import json

import pytest

from pytest_orchestra.triage import cli
from pytest_orchestra.triage.failure import Failure, FailureEvidence, Frame, failure_text
from pytest_orchestra.triage.labels import ReviewedLabel, ReviewedLabels
from pytest_orchestra.triage.learned import LearnedModel, load_model, tokens

EXAMPLES = [
    ("StripeCardDeclined: card 4242 declined by gateway", "product"),
    ("StripeCardDeclined: card 1111 declined by gateway", "product"),
    ("VaultSealedError: vault sealed, secrets unavailable", "environment"),
    ("VaultSealedError: vault sealed again", "environment"),
    ("order 12 was flaky", "flaky"),
]


def test_tokens_are_normalized_words():
    assert tokens("Port 5432 on 10.0.0.1 refused at /tmp/x/y.py") == ["port", "<num>", "on", "<ip>", "refused", "at", "<path>"]


def test_train_and_predict():
    model = LearnedModel.train(EXAMPLES)
    assert set(model.class_counts) == {"product", "environment"}  # flaky is never learned
    category, confidence = model.predict_text("StripeCardDeclined: card 9999 declined")
    assert category == "product" and 0.5 < confidence <= 0.85
    assert model.predict_text("VaultSealedError sealed")[0] == "environment"


def test_no_prediction_for_unseen_words_or_empty_model():
    assert LearnedModel.train(EXAMPLES).predict_text("completely different words") is None
    assert LearnedModel().predict_text("vault sealed") is None


def test_predict_reads_the_failure_evidence():
    model = LearnedModel.train(EXAMPLES)
    ev = FailureEvidence("vault.VaultSealedError", ("vault.VaultSealedError",), "vault sealed",
                         (Frame("shop/vault.py", 3, "open_vault", "product"),),
                         (FailureEvidence("builtins.OSError", ("builtins.OSError",), "sealed", ()),))
    failure = Failure("t.py::x", "setup", "error", ev, "")
    text = failure_text(failure)
    assert "phase_setup" in text and "kind_product open_vault" in text and "builtins OSError sealed" in text
    assert model.predict(failure)[0] == "environment"
    assert failure_text(Failure("t.py::x", "call", "failed", None, "E   boom")) == "phase_call E   boom"


def test_save_and_load_round_trip(tmp_path):
    model = LearnedModel.train(EXAMPLES)
    path = tmp_path / "nested" / "triage-model.json"
    model.save(path)
    loaded = load_model(path)
    assert loaded == model
    assert json.loads(path.read_text())["format"] == "pytest-orchestra/triage-model"


@pytest.mark.parametrize("content", [None, "not json", '{"format": "other", "version": 1}', "[1, 2]"])
def test_load_model_returns_none_for_missing_or_bad_files(tmp_path, content):
    path = tmp_path / "model.json"
    if content is not None:
        path.write_text(content)
    assert load_model(path) is None


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n\n")
    return path


def test_cli_trains_from_jsonl(tmp_path, capsys):
    source = write_jsonl(tmp_path / "labels.jsonl", [
        {"message": text, "category": category} for text, category in EXAMPLES
    ] + [{"longrepr": "E  VaultSealedError", "exception_type": "vault.VaultSealedError", "category": "environment"}])
    out = tmp_path / "model.json"
    assert cli.main(["train", "--from", str(source), "--labels", str(tmp_path / "none.yaml"), "--out", str(out)]) == 0
    assert "trained on 5 reviewed failures (environment 3, product 2)" in capsys.readouterr().out
    assert load_model(out).class_counts == {"product": 2, "environment": 3}


def write_labels(path, rows):
    labels = ReviewedLabels([
        ReviewedLabel(fingerprint=f"{n:012x}", category=category, by="qa", at="2026-12-06T10:00:00Z", text=text)
        for n, (text, category) in enumerate(rows)
    ])
    labels.save(path)
    return path


def test_cli_trains_on_reviewed_labels_only(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_labels(tmp_path / ".orchestra" / "triage-labels.yaml", [
        ("phase_call KeyError 'API_KEY' environ getitem", "environment"),
        ("phase_call AssertionError assert 1 == 2", "product"),
        ("", "product"),  # a label without the failure's text teaches nothing
    ])
    # A history full of the plugin's own categories is not read at all.
    (tmp_path / ".orchestra" / "history.db").write_text("not even a database")
    assert cli.main(["train"]) == 0
    assert "trained on 2 reviewed failures (environment 1, product 1)" in capsys.readouterr().out
    assert load_model(tmp_path / ".orchestra" / "triage-model.json").class_counts == {"environment": 1, "product": 1}


def test_cli_refuses_the_old_history_option(tmp_path, capsys):
    assert cli.main(["train", "--history", str(tmp_path / "history.db")]) == 2
    assert "trains on reviewed labels only" in capsys.readouterr().err


@pytest.mark.parametrize(
    "lines, message",
    [
        (['{"message": "x", "category": "prodcut"}'],
         "labels.jsonl:1: category: expected one of product, test, infrastructure, environment, timeout, data,"
         " flaky, dependency, unknown, got 'prodcut'"),
        (["", "{not json"], "labels.jsonl:2: not JSON: Expecting property name enclosed in double quotes"),
        (["[1]"], "labels.jsonl:1: expected an object"),
        (['{"category": "product"}'], "labels.jsonl:1: needs 'message' or 'longrepr'"),
    ],
)
def test_cli_reports_bad_training_data(tmp_path, capsys, lines, message):
    source = tmp_path / "labels.jsonl"
    source.write_text("\n".join(lines))
    assert cli.main(["train", "--from", str(source), "--out", str(tmp_path / "m.json")]) == 2
    assert capsys.readouterr().err.strip() == f"triage train: {source.parent}/{message}"


def test_cli_reports_missing_sources(tmp_path, capsys):
    assert cli.main(["train", "--from", str(tmp_path / "nope.jsonl")]) == 2
    assert "nope.jsonl: cannot read: No such file or directory" in capsys.readouterr().err
    broken = tmp_path / "labels.yaml"
    broken.write_text("labels:\n  - {fingerprint: zz, category: product}\n")
    assert cli.main(["train", "--labels", str(broken)]) == 2
    assert "labels.yaml: labels[0].fingerprint: expected 12 hex digits, got 'zz'" in capsys.readouterr().err


def test_cli_refuses_to_save_an_empty_model(tmp_path, capsys):
    source = write_jsonl(tmp_path / "labels.jsonl", [{"message": "x", "category": "flaky"}])
    assert cli.main(["train", "--from", str(source), "--labels", str(tmp_path / "none.yaml"),
                     "--out", str(tmp_path / "m.json")]) == 1
    assert "no labelled examples of product, test" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


def test_cli_usage(capsys):
    assert cli.main(["--help"]) == 0
    assert "triage train" in capsys.readouterr().out
    assert cli.main([]) == 2
    assert cli.main(["explain"]) == 2
    assert "usage:" in capsys.readouterr().err
