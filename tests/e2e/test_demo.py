"""End to end: the demo runner on a copy of the shop project.

Runs ``examples/demo.py`` in a subprocess exactly as ``make demo`` does, on a
copy so the checked-in example never accumulates ``.orchestra/`` state.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_SCRIPT = REPO_ROOT / "examples" / "demo.py"
SHOP_PROJECT = REPO_ROOT / "examples" / "shop"

#: The deliberate failures that fail on every run (the flaky one may pass).
DETERMINISTIC_FAILURES = {
    "product": "tests/auth/test_permissions.py::test_refund_permission[Guest-lite]",
    "infrastructure": "tests/inventory/test_warehouse_api.py::test_staging_warehouse_is_reachable",
    "data": "tests/inventory/test_snapshot.py::test_hamburg_snapshot_loads",
    "timeout": "tests/inventory/test_supplier_sync.py::test_nordic_supplier_sync",
    "test": "tests/billing/test_invoices.py::test_invoice_line_count",
    "environment": "tests/billing/test_export.py::test_signed_invoice_export",
}
EXCLUDED_CELL = "role=Guest,edition=enterprise"

pytestmark = pytest.mark.slow


def copy_shop(destination: Path) -> Path:
    project = destination / "shop"
    shutil.copytree(SHOP_PROJECT, project, ignore=shutil.ignore_patterns(".orchestra", "__pycache__", ".pytest_cache"))
    return project


def run_demo(project: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # The environment-category failure depends on this being unset, and the
    # outer pytest's own options must not leak into the demo's pytest.
    for name in ("SHOP_LICENSE_FILE", "PYTEST_ADDOPTS", "PYTEST_PLUGINS"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, str(DEMO_SCRIPT), "--project", str(project)],
        capture_output=True,
        text=True,
        env=env,
        timeout=400,
        check=False,
    )


def test_demo_runs_and_reports_every_deliberate_failure(tmp_path: Path) -> None:
    project = copy_shop(tmp_path)
    completed = run_demo(project)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output

    match = re.search(r"^report: (.+)$", completed.stdout, re.MULTILINE)
    assert match, output
    report_path = Path(match.group(1).strip())
    assert report_path.is_absolute() and report_path.is_file()
    assert report_path.parent.parent.parent.parent == project.resolve()  # .orchestra/reports/<run-id>/

    summary = json.loads((report_path.parent / "summary.json").read_text(encoding="utf-8"))
    failed_nodeids = {failure["nodeid"] for failure in summary["failures"]}
    missing = {category: nodeid for category, nodeid in DETERMINISTIC_FAILURES.items() if nodeid not in failed_nodeids}
    assert not missing, f"deliberate failures not reported: {missing}"

    assert summary["by_cell"][EXCLUDED_CELL]["skipped"] == 1
    assert summary["by_cell"][EXCLUDED_CELL]["total"] == 1

    gate = summary["gate"]
    assert gate["enabled"] is True
    assert gate["passed"] is False  # the security test in the Guest-lite cell fails
    assert "gate:      FAILED" in completed.stdout
    assert "violation critical" in completed.stdout
    assert "failing matrix cells: role=Guest,edition=lite" in completed.stdout

    # The cross-app journey ran in order, handing values on; the step that needs the
    # unreachable staging warehouse was skipped as a dependency, not failed again.
    skipped = summary["ordering"]["dependency_skipped"]
    assert [entry["nodeid"] for entry in skipped] == ["tests/test_order_journey.py::test_reserve_through_staging_warehouse"]
    assert "dependency: skipped tests/test_order_journey.py::test_reserve_through_staging_warehouse: requires" in (
        completed.stdout
    )

    # The nightly plan ran the foreign TAP suite once per edition.
    assert "plan:      nightly" in completed.stdout
    assert "foreign:   legacy-stock[lite] exited 0: 3 passed, 1 skipped" in completed.stdout
    # The rerun ran the deliberate failures again, in the same plan.
    rerun = re.search(r"^rerun:     of run (\S+): (\d+) now pass, (\d+) still fail$", completed.stdout, re.MULTILINE)
    assert rerun and rerun.group(1) == summary["run"]["run_id"] and int(rerun.group(3)) >= len(DETERMINISTIC_FAILURES)
    # The billing release plan has required cells no test covered.
    assert "plan:      billing-release; required cells not covered: role=Admin,edition=lite;" in completed.stdout
    # The selection step ran only what the one-line tax change can affect, and said why.
    selection = re.search(r"^orchestra: selection: (\d+) of (\d+) tests selected in ", completed.stdout, re.MULTILINE)
    assert selection and 0 < int(selection.group(1)) < int(selection.group(2)) / 2
    assert "executed shop/billing/tax.py:26 (changed, in rate_for)" in completed.stdout


def test_demo_says_the_orchestration_broke_on_a_bad_workflow(tmp_path: Path) -> None:
    project = copy_shop(tmp_path)
    workflow = project / "orchestra.yaml"
    text = workflow.read_text(encoding="utf-8")
    workflow.write_text(text.replace("min_success_rate: 0.8", 'min_success_rate: "95%"'), encoding="utf-8")
    assert '"95%"' in workflow.read_text(encoding="utf-8")

    completed = run_demo(project)
    assert completed.returncode != 0
    assert "demo: the orchestration broke: pytest exited" in completed.stdout, completed.stdout + completed.stderr
