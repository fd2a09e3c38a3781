"""Rules that ask the checkout: data files a failing frame read, keys the product knows, well-formed data.

Each case raises a real exception from real files in a project made in tmp_path,
takes its evidence as the plugin does, and classifies it with the project index.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any, Callable, Tuple

import pytest

from pytest_orchestra.triage.classifier import Classifier
from pytest_orchestra.triage.exception_evidence import evidence_from_exception
from pytest_orchestra.triage.failure import Failure
from pytest_orchestra.triage.rules.project import ProjectIndex


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    (root / "ledger").mkdir(parents=True)
    (root / "tests" / "data").mkdir(parents=True)
    (root / "ledger" / "__init__.py").write_text("")
    (root / "ledger" / "amounts.py").write_text(
        "from decimal import Decimal\n\n"
        "def parse_amount(text):\n"
        "    return Decimal(text)\n\n"
        "def totals(rows):\n"
        "    return {'total': sum(parse_amount(r['amount']) for r in rows), 'count': len(rows)}\n\n"
        "class LedgerParseError(ValueError):\n"
        "    pass\n\n"
        "def parse_ledger(text):\n"
        "    if not text.startswith('LEDGER'):\n"
        "        raise LedgerParseError('missing LEDGER header')\n"
        "    return text.splitlines()[1:]\n"
    )
    monkeypatch.syspath_prepend(str(root))
    for name in [n for n in sys.modules if n == "ledger" or n.startswith("ledger.")]:
        monkeypatch.delitem(sys.modules, name)
    return root


def run_test(project: Path, source: str, name: str = "test_it") -> Tuple[Failure, Classifier]:
    """Write ``tests/test_case.py`` with ``source``, run its ``name`` and return its failure."""
    test_file = project / "tests" / "test_case.py"
    test_file.write_text(source)
    spec = importlib.util.spec_from_file_location("test_case_mod", test_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    function: Callable[[], Any] = getattr(module, name)
    try:
        function()
    except Exception as exc:  # noqa: BLE001 - the failure under test
        evidence = evidence_from_exception(exc, rootdir=project)
    else:  # pragma: no cover - each case fails
        raise AssertionError("the case did not fail")
    failure = Failure(f"tests/test_case.py::{name}", "call", "failed", evidence, "")
    return failure, Classifier(project=ProjectIndex(project))


def decide(project: Path, source: str) -> Tuple[str, str]:
    failure, classifier = run_test(project, source)
    decision = classifier.classify(failure)
    return decision.category, decision.rule.split(":", 1)[-1]


def test_product_failing_on_a_value_from_a_csv_is_data(project: Path) -> None:
    (project / "tests" / "data" / "rows.csv").write_text("amount\n1.50\ntwo\n")
    source = (
        "import csv, pathlib\nfrom ledger.amounts import totals\n\n"
        "def test_it():\n"
        "    path = pathlib.Path(__file__).parent / 'data' / 'rows.csv'\n"
        "    rows = list(csv.DictReader(path.open()))\n"
        "    assert totals(rows)['total'] == 4\n"
    )
    failure, classifier = run_test(project, source)
    assert failure.evidence is not None and failure.evidence.data_inputs == ("tests/data/rows.csv",)
    decision = classifier.classify(failure)
    assert (decision.category, decision.rule) == ("data", "builtin:value-from-data-file")
    assert "(from tests/data/rows.csv)" in decision.reason


def test_a_data_file_named_on_the_failing_line_counts_too(project: Path) -> None:
    (project / "tests" / "data" / "amount.txt").write_text("12kg\n")
    source = (
        "import pathlib\nfrom ledger.amounts import parse_amount\n\n"
        "def test_it():\n"
        "    assert parse_amount((pathlib.Path(__file__).parent / 'data' / 'amount.txt').read_text().strip())\n"
    )
    assert decide(project, source) == ("data", "value-from-data-file")


def test_the_same_bad_value_written_in_the_test_is_not_the_datas(project: Path) -> None:
    source = "from ledger.amounts import parse_amount\n\ndef test_it():\n    assert parse_amount('12kg')\n"
    assert decide(project, source)[0] == "product"


def test_the_projects_parser_rejecting_a_well_formed_file_is_the_product(project: Path) -> None:
    (project / "tests" / "data" / "book.json").write_text(json.dumps({"ledger": "LEDGER\n1"}))
    (project / "tests" / "data" / "broken.json").write_text('{"ledger": "LEDGER\\n1"')
    good = (
        "import json, pathlib\nfrom ledger.amounts import parse_ledger\n\n"
        "def test_it():\n"
        "    path = pathlib.Path(__file__).parent / 'data' / 'book.json'\n"
        "    assert parse_ledger(json.loads(path.read_text())['ledger'].lower())\n"
    )
    assert decide(project, good) == ("product", "raised-in-product")
    bad = (
        "import json, pathlib\n\n"
        "def test_it():\n"
        "    path = pathlib.Path(__file__).parent / 'data' / 'broken.json'\n"
        "    assert json.loads(path.read_text())\n"
    )
    assert decide(project, bad) == ("data", "decode-error")


def test_a_key_no_product_code_knows_is_a_typo_in_the_test(project: Path) -> None:
    typo = (
        "from ledger.amounts import totals\n\n"
        "def test_it():\n"
        "    assert totals([{'amount': '1'}])['totl'] == 1\n"
    )
    assert decide(project, typo) == ("test", "unknown-key-in-test")
    missing = (
        "from ledger.amounts import totals\n\n"
        "def test_it():\n"
        "    result = totals([{'amount': '1'}])\n"
        "    del result['count']\n"
        "    assert result['count'] == 1\n"
    )
    assert decide(project, missing) == ("product", "raised-in-test")


def test_a_huge_checkout_answers_unknown_rather_than_reading_everything(project: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_orchestra.triage.rules import project as project_module

    monkeypatch.setattr(project_module, "SOURCE_LIMIT", 10)
    assert ProjectIndex(project).mentions("totals") is None
    assert ProjectIndex(project).well_formed("tests/data/none.bin") is None


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("a.json", '{"a": 1}', True), ("a.json", '{"a": ', False),
        ("a.yaml", "a: [1, 2]\n", True), ("a.yaml", "a: [1, 2\n", False),
        ("a.toml", "a = 1\n", True), ("a.toml", "a = \n", False),
        ("a.csv", "a,b\n1,2\n", True), ("a.csv", "a,b\n1,2,3\n", False),
        ("a.xml", "<a/>", True), ("a.xml", "<a>", False),
        ("a.ini", "[s]\nk = v\n", True), ("a.ini", "k = v\n", False),
        ("a.dat", "anything", None),
    ],
)
def test_well_formed_data_by_format(project: Path, name: str, content: str, expected: Any) -> None:
    (project / "tests" / "data" / name).write_text(content)
    assert ProjectIndex(project).well_formed(f"tests/data/{name}") is expected


def test_a_fixture_that_hands_over_a_files_content_still_names_the_file(project: Path) -> None:
    (project / "tests" / "data" / "ledger.txt").write_text("HEADER 2026\n1.50\n2.75\n3.10\n")
    source = (
        "import pathlib\nfrom ledger.amounts import parse_ledger\n\n"
        "def content():\n"
        "    return (pathlib.Path(__file__).parent / 'data' / 'ledger.txt').read_text()\n\n"
        "def test_it():\n"
        "    assert parse_ledger(content())\n"
    )
    failure, classifier = run_test(project, source)
    assert failure.evidence is not None and failure.evidence.data_inputs == ("tests/data/ledger.txt",)
    # The project's own parser rejects a file no reference reader knows: the file is the suspect.
    assert classifier.classify(failure).category == "data"


def test_a_misspelled_key_through_the_products_mapping_is_the_tests(project: Path) -> None:
    (project / "ledger" / "book.py").write_text(
        "class Book:\n"
        "    def __init__(self):\n"
        "        self._items = {'owner': 'qa', 'currency': 'EUR'}\n"
        "    def __getitem__(self, key):\n"
        "        return self._items[key]\n"
        "    def __getattr__(self, name):\n"
        "        if name.startswith('_'):\n"
        "            raise AttributeError(name)\n"
        "        try:\n"
        "            return self._items[name]\n"
        "        except KeyError:\n"
        "            raise AttributeError(f\"'Book' object has no attribute '{name}'\") from None\n"
    )
    key = "from ledger.book import Book\n\ndef test_it():\n    assert Book()['curency'] == 'EUR'\n"
    assert decide(project, key) == ("test", "unknown-key-in-test")
    attribute = "from ledger.book import Book\n\ndef test_it():\n    assert Book().ownr == 'qa'\n"
    assert decide(project, attribute) == ("test", "unknown-attribute-in-test")
    # A key the product knows but no longer has is the product's failure.
    known = ("from ledger.book import Book\n\ndef test_it():\n    book = Book()\n    del book._items['owner']\n"
             "    assert book['owner'] == 'qa'\n")
    assert decide(project, known)[0] == "product"


def test_code_that_read_an_unset_environment_variable_and_choked_on_none(project: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_CURRENCY", raising=False)
    source = (
        "import os\n\n"
        "def test_it():\n"
        "    assert os.environ.get('LEDGER_CURRENCY').upper() == 'EUR'\n"
    )
    assert decide(project, source) == ("environment", "unset-env-var-used")
