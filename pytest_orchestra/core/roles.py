"""Which part a pytest process plays, computed once per process.

- ``plain``: no xdist; the process runs the tests and writes records and reports.
- ``controller``: xdist's controller; it runs no test, sees every report, writes records and reports.
- ``worker``: an xdist worker; it runs tests and hands its reports to the controller.

Every capability registers with this object instead of asking ``config`` again.
"""

from __future__ import annotations

from typing import Any

from pytest_orchestra.core.plainclass import plainclass

PLAIN = "plain"
CONTROLLER = "controller"
WORKER = "worker"


@plainclass(frozen=True)
class ProcessRole:
    name: str

    @classmethod
    def of(cls, config: Any) -> "ProcessRole":
        if hasattr(config, "workerinput"):
            return cls(WORKER)
        option = config.option
        if getattr(option, "numprocesses", None) and getattr(option, "dist", "no") != "no":
            return cls(CONTROLLER)
        return cls(PLAIN)

    @property
    def runs_tests(self) -> bool:
        """Tests run in this process (plain, or an xdist worker)."""
        return self.name != CONTROLLER

    @property
    def records(self) -> bool:
        """This process sees every report and writes records and reports (plain, or xdist's controller)."""
        return self.name != WORKER

    @property
    def is_worker(self) -> bool:
        return self.name == WORKER
