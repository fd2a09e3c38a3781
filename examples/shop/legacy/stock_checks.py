"""The warehouse team's old stock checks: a plain script that speaks TAP, run by orchestra as a foreign suite.

Run it alone with ``python stock_checks.py``; under pytest-orchestra each line
below becomes one item (``orchestra.yaml::legacy-stock::stock counts add up[lite]``).
"""

import os

EDITION = os.environ.get("ORCHESTRA_EDITION", "lite")
SEATS = {"lite": 5, "pro": 50, "enterprise": 1000}

checks = [
    ("stock counts add up", sum([3, 4, 5]) == 12, ""),
    ("reorder level is positive", 10 > 0, ""),
    ("seat count matches the edition", SEATS.get(EDITION, 0) >= 5, ""),
    ("bulk export", True, "" if EDITION != "lite" else "SKIP bulk export is not in lite"),
]

print("TAP version 13")
print(f"1..{len(checks)}")
for number, (name, passed, directive) in enumerate(checks, start=1):
    status = "ok" if passed else "not ok"
    print(f"{status} {number} - {name}" + (f" # {directive}" if directive else ""))
