"""Test data end to end: the dataset marker and fixtures, xdist, @given, setup validation, PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Iterator, List

import numpy  # noqa: F401 - imported once here: in-process pytester runs must not re-import C extensions
import pytest
import yaml

try:
    import pyarrow  # noqa: F401
    import pyarrow.compute  # noqa: F401
    import pyarrow.csv  # noqa: F401
    import pyarrow.parquet  # noqa: F401
except ImportError:  # pragma: no cover
    pass

WORKFLOW = """
datasets:
  shop:
    tables:
      customers:
        rows: 20
        columns:
          id: {type: int, unique: true}
          email: {type: email, unique: true}
          created: {type: date}
      orders:
        columns:
          id: {type: int, unique: true}
          customer_id: {type: int, foreign_key: customers.id}
          total: {type: decimal, min: 0, max: 10000}
          status: {type: choices, choices: [new, paid, shipped]}
"""

DIGESTS = """
import hashlib, json, os
import pytest

def record(request, dataset):
    digest = hashlib.sha256(json.dumps(dataset.tables, sort_keys=True, default=str).encode()).hexdigest()
    out = os.path.join(os.environ["DIGEST_DIR"], request.node.name + ".txt")
    with open(out, "w") as handle:
        handle.write(digest)

@pytest.mark.parametrize("n", range(6))
def test_shop(request, orchestra_dataset, n):
    ids = {c["id"] for c in orchestra_dataset["customers"]}
    assert all(o["customer_id"] in ids for o in orchestra_dataset["orders"])
    record(request, orchestra_dataset)

@pytest.mark.dataset("shop", rows=3, profile="edge")
def test_edge(request, orchestra_dataset):
    from pytest_orchestra.data import edge_coverage
    assert edge_coverage(orchestra_dataset).complete
    assert len(orchestra_dataset["customers"]) >= 3
    record(request, orchestra_dataset)

@pytest.mark.dataset("shop", seed=42)
def test_pinned(request, orchestra_dataset):
    assert orchestra_dataset.seed == 42
    record(request, orchestra_dataset)
"""


def digests(path: Path) -> dict:
    return {p.stem: p.read_text() for p in sorted(path.glob("*.txt"))}


def test_datasets_are_deterministic_per_test_and_the_same_across_workers(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makefile(".yaml", orchestra=WORKFLOW)
    pytester.makepyfile(test_data=DIGESTS)
    runs: List[dict] = []
    for args in ([], ["-n", "2"], ["--orchestra-data-seed=7"]):
        out = pytester.mkdir(f"digests{len(runs)}")
        monkeypatch.setenv("DIGEST_DIR", str(out))
        result = pytester.runpytest(*args)
        result.assert_outcomes(passed=8)
        runs.append(digests(out))
    serial, xdist, reseeded = runs
    assert serial == xdist
    assert len(set(serial.values())) == 8  # every test its own dataset
    assert reseeded != serial and reseeded["test_pinned"] == serial["test_pinned"]


def test_random_run_seed_is_shared_by_workers_and_printed(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra=WORKFLOW)
    pytester.makepyfile(test_seed="""
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_fails(orchestra_dataset, n):
            assert not orchestra_dataset["orders"]
    """)
    result = pytester.runpytest("-n", "2", "--orchestra-data-seed=random")
    result.assert_outcomes(failed=4)
    header = [line for line in result.outlines if line.startswith("orchestra data: run seed")]
    assert len(header) == 1
    seed = header[0].split()[4]
    sections = [line for line in result.outlines if "--orchestra-data-seed=" in line and "dataset shop" in line]
    assert len(sections) == 4 and all(f"--orchestra-data-seed={seed}" in line for line in sections)
    result.stdout.fnmatch_lines(["*- orchestra data -*", "dataset shop (profile default) seed * run seed *"])
    again = pytester.runpytest(f"--orchestra-data-seed={seed}")
    again.assert_outcomes(failed=4)
    assert sorted(line for line in again.outlines if "dataset shop" in line) == sorted(sections)
    bad = pytester.runpytest("--orchestra-data-seed=soon")
    bad.stderr.fnmatch_lines(["*--orchestra-data-seed: expected an integer or 'random', got 'soon'*"])


GIVEN = """
from hypothesis import given, settings
from pytest_orchestra.data import strategy

@settings(max_examples=25, deadline=None)
@given(dataset=strategy("shop"))
def test_orders_load_with_foreign_keys(orchestra_data, dataset):
    db = orchestra_data.load(dataset)
    assert db.execute("PRAGMA foreign_keys").fetchone() == (1,)
    joined = db.execute("SELECT count(*) FROM orders JOIN customers ON customers.id = orders.customer_id").fetchone()
    assert joined == (len(dataset["orders"]),)
    assert orchestra_data.validate(dataset).ok

def test_session_helpers(orchestra_data):
    assert orchestra_data.schema("shop").table_names == ("customers", "orders")
    assert orchestra_data.sample("shop", rows=4)["customers"][0]["id"] == 1
    assert orchestra_data.strategy("shop") is not None
    assert orchestra_data.cache.root.parts[-2:] == (".orchestra", "data")
    assert orchestra_data.cache.entries() == []
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_given_with_the_session_fixture_has_no_health_check_error(pytester: pytest.Pytester, workers: List[str]) -> None:
    pytester.makefile(".yaml", orchestra=WORKFLOW)
    pytester.makepyfile(test_given=GIVEN)
    result = pytester.runpytest(*workers)
    result.assert_outcomes(passed=2)
    assert "HealthCheck" not in result.stdout.str() and "FailedHealthCheck" not in result.stdout.str()


CORRUPT = """
import pytest

@pytest.mark.dataset("shop", path="data/shop")
def test_reads_files(orchestra_dataset):
    assert orchestra_dataset["orders"]

@pytest.mark.dataset("shop", path="data/shop")
def test_uses_files(orchestra_dataset_files):
    assert orchestra_dataset_files.is_dir()

@pytest.mark.dataset("shop", rows=30, validate=True)
def test_generated_and_checked(orchestra_dataset, orchestra_dataset_files):
    assert (orchestra_dataset_files.out_dir / "orders.csv").is_file()
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_corrupt_files_fail_in_setup_with_category_data(pytester: pytest.Pytester, workers: List[str]) -> None:
    from pytest_orchestra.data import generate

    pytester.makefile(".yaml", orchestra=WORKFLOW)
    folder = pytester.path / "data" / "shop"
    generate(yaml.safe_load(WORKFLOW)["datasets"]["shop"], folder, seed=1, progress=False)
    lines = (folder / "orders.csv").read_text().splitlines(keepends=True)
    fields = lines[3].split(",")
    fields[1] = "424242"
    lines[3] = ",".join(fields)
    (folder / "orders.csv").write_text("".join(lines))
    pytester.makepyfile(test_files=CORRUPT)
    result = pytester.runpytest(*workers)
    result.assert_outcomes(errors=2, passed=1)
    result.stdout.fnmatch_lines(["*DataError: dataset shop: orders, row 3, column customer_id: orphan_foreign_key*"])
    triage = json.loads((pytester.path / ".orchestra/reports/latest/triage.json").read_text())
    assert {r["nodeid"].split("::")[-1]: r["category"] for r in triage} == {"test_reads_files": "data", "test_uses_files": "data"}
    assert all("orders, row 3, column customer_id" in r["reason"] for r in triage)
    assert list((pytester.path / ".orchestra" / "data").iterdir())  # the generated files are cached


def test_unknown_marker_arguments_and_ambiguous_datasets(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra=WORKFLOW + "  other:\n    tables:\n      t:\n        columns:\n          id: int\n")
    pytester.makepyfile(test_bad="""
        import pytest

        def test_which(orchestra_dataset):
            pass

        @pytest.mark.dataset("shop", colour="red")
        def test_colour(orchestra_dataset):
            pass
    """)
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines([
        "*say which dataset with @pytest.mark.dataset(name) (datasets: other, shop)*",
        "*unknown argument 'colour'*",
    ])


def test_bad_datasets_section_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", orchestra="datasets:\n  shop:\n    tables:\n      o:\n        columns:\n          c: {type: int, foreign_key: x.id}\n")
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*datasets.shop.tables.o.columns.c: foreign key 'x.id' names an unknown table*"])


def test_datasets_load_into_a_sqlite_environment(pytester: pytest.Pytester, runtime_dir: Path) -> None:
    pytester.makefile(".yaml", orchestra=WORKFLOW + "environments:\n  lite: {provider: sqlite, isolate: test}\n")
    pytester.makepyfile(test_lite="""
        import sqlite3, pytest
        from pytest_orchestra.data import DataError, load

        @pytest.mark.env("lite")
        def test_load(orchestra_env, orchestra_dataset):
            assert load(orchestra_dataset, orchestra_env["lite"]) == {"customers": 20, "orders": 60}
            orphan = {**orchestra_dataset["orders"][0], "id": 10**6, "customer_id": 424242}
            broken = {"customers": [], "orders": [orphan]}
            with pytest.raises(DataError, match="FOREIGN KEY constraint failed"):
                load(broken, orchestra_env["lite"].dsn, schema="shop")
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


# --- PostgreSQL through the environments capability ------------------------------------------

try:
    from pytest_orchestra.environments.pgserver import candidate_dirs

    HAS_POSTGRES = any((d / "initdb").is_file() for d in candidate_dirs(None))
    WHY = "PostgreSQL server binaries (initdb) not installed"
except ImportError:  # pragma: no cover - before the environments capability lands
    HAS_POSTGRES = False
    WHY = "pytest_orchestra.environments is not available"


@pytest.fixture
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="orchestra-data-test-", dir="/tmp"))
    path.chmod(0o711)
    monkeypatch.setenv("PYTEST_ORCHESTRA_RUNTIME_DIR", str(path))
    yield path
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if str(path) in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    os.kill(int(entry.name), signal.SIGKILL)
            except OSError:
                continue
    shutil.rmtree(path, ignore_errors=True)


POSTGRES = """
import psycopg, pytest
from pytest_orchestra.data import generate, load, validate

@pytest.mark.env("db")
@pytest.mark.dataset("shop", profile="edge")
def test_copy_into_postgres(orchestra_env, orchestra_dataset, tmp_path):
    counts = load(orchestra_dataset, orchestra_env["db"])
    assert counts == {"customers": 20, "orders": 60}
    with psycopg.connect(orchestra_env["db"].dsn) as conn:
        assert conn.execute("SELECT count(*) FROM orders JOIN customers ON customers.id = orders.customer_id").fetchone() == (60,)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("INSERT INTO orders (id, customer_id, total, status) VALUES (99999, 424242, 1, 'new')")

@pytest.mark.env("db")
@pytest.mark.dataset("shop")
def test_an_orphan_is_refused_by_postgres(orchestra_env, orchestra_dataset):
    from pytest_orchestra.data import DataError
    broken = {name: [dict(row) for row in rows] for name, rows in orchestra_dataset.items()}
    broken["orders"][0]["customer_id"] = 424242
    with pytest.raises(DataError, match="loading into PostgreSQL failed: .*foreign key constraint"):
        load(broken, orchestra_env["db"].dsn, schema="shop")

@pytest.mark.env("db")
def test_copy_bulk_files(orchestra_env, tmp_path):
    generate("shop", tmp_path / "bulk", rows=2000, seed=3, progress=False)
    assert load(tmp_path / "bulk", orchestra_env["db"].dsn) == {"customers": 2000, "orders": 6000}
"""


@pytest.mark.skipif(not HAS_POSTGRES, reason=WHY)
def test_datasets_load_into_postgres_with_copy_and_enforced_keys(pytester: pytest.Pytester, runtime_dir: Path) -> None:
    pytester.makefile(".yaml", orchestra=WORKFLOW + "environments:\n  db: {provider: postgres, isolate: test}\n")
    pytester.makepyfile(test_pg=POSTGRES)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=3)


def test_the_data_example_passes(pytester: pytest.Pytester) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "data"
    for name in ("orchestra.yaml", "pytest.ini", "test_shop_data.py"):
        shutil.copy(example / name, pytester.path / name)
    result = pytester.runpytest("-n", "2", "-W", "error::pytest.PytestRemovedIn10Warning")
    result.assert_outcomes(passed=3)
