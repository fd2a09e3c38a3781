"""Reviewed labels: after a QA lead labels 10 fingerprints, do later failures carry the reviewed category?

Writes a suite whose failures fall into 15 fingerprints (each raised three
product calls deep by a shared helper, so several tests share one), runs it with pytest-orchestra,
labels 10 of the fingerprints through ``python -m pytest_orchestra triage
label`` — by node id for half, by fingerprint for the other half, each with a
category other than the one triage chose, so only the label can explain the
result — then adds new tests that fail through the same helpers and runs the
suite again, serially and with ``-n 2``. Prints the share of later failures
with a labelled fingerprint that carry the reviewed category (target 100%)
and the share of the others that kept their automatic category.

    .venv/bin/python benchmarks/triage_reviewed_labels.py [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

#: (helper body, automatic category it should get, category a reviewer gives it)
HELPERS = [
    ("raise ConnectionRefusedError(111, 'Connection refused')", "infrastructure", "environment"),
    ("raise KeyError('API_TOKEN_{n}')", "product", "environment"),
    ("import json; json.loads('{{bad {n}')", "data", "test"),
    ("assert {n} == {n} + 1", "product", "flaky"),
    ("raise TimeoutError('waited {n}s for the queue')", "timeout", "infrastructure"),
    ("raise RuntimeError('ledger {n} out of balance')", "product", "data"),
    ("raise ValueError('invalid literal for int() with base 10: \\'x{n}\\'')", "product", "data"),
    ("raise PermissionError(13, 'Permission denied')", "product", "environment"),
    ("raise OSError(28, 'No space left on device')", "infrastructure", "environment"),
    ("raise LookupError('sku-{n} missing')", "product", "data"),
    ("raise ZeroDivisionError('rate {n}')", "product", "test"),
    ("raise AttributeError('cart {n} has no total')", "product", "test"),
    ("raise IndexError('page {n}')", "product", "data"),
    ("raise NotImplementedError('refund {n}')", "product", "test"),
    ("raise UnicodeDecodeError('utf-8', b'\\xff', 0, 1, 'bad byte {n}')", "data", "infrastructure"),
]
LABELLED = 10


def write_suite(root: Path, tests_per_helper: int, suffix: str) -> None:
    (root / "shop").mkdir(exist_ok=True)
    (root / "shop" / "__init__.py").write_text("")
    # Each helper fails its own way, three product calls deep, as real code does: the fingerprint's
    # innermost frames are the product's, so every test failing through a helper shares its fingerprint.
    lines = ["# Product helpers: each fails its own way (one fingerprint each).", ""]
    for index, (body, _auto, _review) in enumerate(HELPERS):
        lines += [f"def helper_{index}():", f"    return _step_{index}()", "",
                  f"def _step_{index}():", f"    return _fail_{index}()", "",
                  f"def _fail_{index}():", f"    {body.format(n=index)}", ""]
    (root / "shop" / "helpers.py").write_text("\n".join(lines) + "\n")
    tests = ["from shop import helpers", ""]
    for index in range(len(HELPERS)):
        for copy in range(tests_per_helper):
            tests += [f"def test_h{index}_{suffix}{copy}():", f"    helpers.helper_{index}()", ""]
    (root / f"test_shop_{suffix}.py").write_text("\n".join(tests) + "\n")


def run(root: Path, *extra: str) -> List[Dict[str, object]]:
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", *extra],
                   cwd=root, capture_output=True, text=True, timeout=600)
    return json.loads((root / ".orchestra" / "reports" / "latest" / "triage.json").read_text())


def label(root: Path, target: str, category: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest_orchestra", "triage", "label", target, category,
                           "--note", "benchmark", "--by", "bench"], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"triage label {target} {category} failed: {done.stderr}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="orchestra-labels-bench-") as work:
        root = Path(work)
        (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
        write_suite(root, 2, "a")
        first = run(root)
        by_helper: Dict[int, Dict[str, object]] = {}
        for entry in first:
            index = int(str(entry["nodeid"]).split("::test_h")[1].split("_")[0])
            by_helper.setdefault(index, entry)
        wanted: Dict[str, str] = {}
        for position, index in enumerate(sorted(by_helper)[:LABELLED]):
            entry, review = by_helper[index], HELPERS[index][2]
            target = str(entry["nodeid"]) if position % 2 == 0 else str(entry["fingerprint"])
            label(root, target, review)
            wanted[str(entry["fingerprint"])] = review
        write_suite(root, 3, "b")  # later failures: new tests through the same helpers
        results = {}
        for name, extra in (("serial", ()), ("-n 2", ("-n", "2"))):
            later = run(root, *extra)
            labelled = [e for e in later if e["fingerprint"] in wanted]
            carried = [e for e in labelled if e["category"] == wanted[str(e["fingerprint"])] and e["rule"] == "reviewed"]
            others = [e for e in later if e["fingerprint"] not in wanted]
            automatic = [e for e in others if e["rule"] != "reviewed"]
            results[name] = {
                "later_failures_with_labelled_fingerprints": len(labelled),
                "carrying_the_reviewed_category": len(carried),
                "share": round(len(carried) / len(labelled), 4) if labelled else 0.0,
                "other_failures": len(others),
                "others_automatic": len(automatic),
            }
    if args.json:
        print(json.dumps({"labelled_fingerprints": len(wanted), "results": results}, indent=2))
    else:
        print(f"{len(wanted)} fingerprints labelled (5 by node id, 5 by fingerprint), each with a category triage had not chosen")
        for name, row in results.items():
            print(f"{name:>7}: {row['carrying_the_reviewed_category']}/{row['later_failures_with_labelled_fingerprints']}"
                  f" later failures with a labelled fingerprint carry the reviewed category ({row['share']:.0%});"
                  f" {row['others_automatic']}/{row['other_failures']} others kept their automatic category")
    return 0 if all(row["share"] == 1.0 and row["others_automatic"] == row["other_failures"] for row in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
