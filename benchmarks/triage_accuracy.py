"""Accuracy of failure triage on a corpus of tests that really fail.

Runs ``benchmarks/triage_corpus`` with pytest in a subprocess and compares
each failure's category with the ``expect_category`` label of its test (or
the ``# expect_category:`` comment of a module that fails to collect).

    python benchmarks/triage_accuracy.py              # stand-alone triage (conftest plugin)
    python benchmarks/triage_accuracy.py --plugin     # pytest-orchestra's own wiring

The stand-alone mode classifies with the same Classifier through a small
plugin inside the corpus, so accuracy can be measured without the
pytest-orchestra plugin; ``--plugin`` runs the corpus with the plugin active
(``--orchestra-reruns 1``) and reads ``.orchestra/reports/latest/triage.json``.
Exit status 1 when a target is missed (accuracy >= 95%, unknown <= 5%, no
deterministic failure labelled flaky).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "triage_corpus"
ACCURACY_TARGET = 0.95
UNKNOWN_TARGET = 0.05


def run_corpus(plugin: bool, workdir: Path) -> tuple[dict[str, str], list[dict[str, Any]], float]:
    expect_file = workdir / "expect.json"
    out_file = workdir / "triage.json"
    env = {
        **os.environ,
        "ORCHESTRA_CORPUS_EXPECT": str(expect_file),
        "ORCHESTRA_CORPUS_STATE": str(workdir / "state"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"]
    if plugin:
        command += ["--orchestra-reruns", "1"]
    else:
        env["ORCHESTRA_TRIAGE_STANDALONE"] = "1"
        env["ORCHESTRA_TRIAGE_OUT"] = str(out_file)
        command += ["-p", "no:orchestra"]
    started = time.monotonic()
    run = subprocess.run(command, cwd=CORPUS, env=env, capture_output=True, text=True)
    if run.returncode not in (0, 1):  # 1: tests failed, as they should
        sys.stderr.write(run.stdout[-3000:] + run.stderr[-3000:])
        raise SystemExit(f"the corpus run broke (pytest exit status {run.returncode})")
    elapsed = time.monotonic() - started
    if plugin:
        out_file = CORPUS / ".orchestra" / "reports" / "latest" / "triage.json"
    expected = json.loads(expect_file.read_text())
    document = json.loads(out_file.read_text())
    failures = document.get("failures", document) if isinstance(document, dict) else document
    return expected, list(failures), elapsed


def report(expected: dict[str, str], failures: list[dict[str, Any]], elapsed: float) -> bool:
    got = {entry["nodeid"]: entry for entry in failures}
    rows = []
    for nodeid, want in sorted(expected.items()):
        entry = got.get(nodeid)
        rows.append((nodeid, want, entry["category"] if entry else "<passed>", entry or {}))
    total = len(rows)
    correct = sum(1 for _, want, have, _ in rows if want == have)
    unknown = sum(1 for _, _, have, _ in rows if have == "unknown")
    wrongly_flaky = sum(1 for _, want, have, _ in rows if have == "flaky" and want != "flaky")
    accuracy = correct / total if total else 0.0
    unknown_rate = unknown / total if total else 0.0
    print(f"corpus: {total} labelled failures, run in {elapsed:.1f}s")
    print(f"accuracy: {accuracy:.1%} ({correct}/{total})")
    print(f"unknown rate: {unknown_rate:.1%} ({unknown}/{total})")
    print(f"{'category':<16}{'precision':>10}{'recall':>8}{'support':>9}")
    predicted = Counter(have for _, _, have, _ in rows)
    actual = Counter(want for _, want, _, _ in rows)
    for category in sorted(set(actual) | set(predicted)):
        hits = sum(1 for _, want, have, _ in rows if want == have == category)
        precision = hits / predicted[category] if predicted[category] else float("nan")
        recall = hits / actual[category] if actual[category] else float("nan")
        print(f"{category:<16}{precision:>10.2f}{recall:>8.2f}{actual[category]:>9}")
    misses = [row for row in rows if row[1] != row[2]]
    if misses:
        print("misses:")
        for nodeid, want, have, entry in misses:
            print(f"  {nodeid}: expected {want}, got {have} ({entry.get('rule', '-')}: {entry.get('reason', '')[:120]})")
    print(f"deterministic failures labelled flaky: {wrongly_flaky}")
    return accuracy >= ACCURACY_TARGET and unknown_rate <= UNKNOWN_TARGET and wrongly_flaky == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugin", action="store_true", help="use pytest-orchestra's wiring")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="triage-accuracy-"))
    try:
        expected, failures, elapsed = run_corpus(args.plugin, workdir)
        return 0 if report(expected, failures, elapsed) else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
