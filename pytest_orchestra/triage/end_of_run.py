"""Triage at the end of the run: judge, cluster and route the classified failures, then report them.

Once the run has finished: the quarantine section of the result; history's
judgement of each failure (``history_judgement``); clusters of failures
sharing a fingerprint, and the incidents among them; delivery to the sinks
(``sink_delivery``); then what triage reports: ``triage.json``, the markdown
sinks' sections of report.md, and the terminal summary.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Dict, List, Mapping

import pytest

from pytest_orchestra.core.records import ReportSection, RunResult
from pytest_orchestra.triage.failure import failure_text
from pytest_orchestra.triage.specs import QuarantineSpec, TriageSpec

if TYPE_CHECKING:
    from pytest_orchestra.settings import OrchestraSettings
    from pytest_orchestra.triage.entry import TriageEntry

#: Characters of a failure's model text kept in triage.json (what a reviewed label stores).
TEXT_LIMIT = 600


class EndOfRunTriage:
    """The end-of-run half of the triage controller; holds what it found for the report and the summary."""

    def __init__(
        self,
        config: pytest.Config,
        settings: "OrchestraSettings",
        spec: TriageSpec,
        quarantine: QuarantineSpec,
    ) -> None:
        self.config = config
        self.settings = settings
        self.spec = spec
        self.quarantine_spec = quarantine
        self.deliveries: List[Any] = []
        self.annotation_lines: List[str] = []
        self.summary_line = ""
        self.auto_quarantined: List[Any] = []
        self.markdown_sections: List[str] = []

    def finish(self, result: RunResult, entries: Dict[str, "TriageEntry"], quarantine: Any) -> None:
        """Judge, cluster and route ``entries`` (the run's classified failures by node id) into ``result``."""
        result.sections["quarantine"] = [
            {"nodeid": record.nodeid, "outcome": record.outcome, "reason": _quarantine_reason(quarantine, record.nodeid)}
            for record in result.tests
            if record.quarantined
        ]
        if not entries:
            if self.spec.sinks and (self.settings.base_dir / "spool").is_dir():
                # A green run loads the delivery machinery only when earlier runs spooled something.
                from pytest_orchestra.triage.sink_delivery import drain_spools

                self.deliveries.extend(drain_spools(self.spec, self.settings, result.run))
            return
        from pytest_orchestra.triage.fingerprint import clusters
        from pytest_orchestra.triage.history_judgement import judge_with_history
        from pytest_orchestra.triage.sink_delivery import route_and_deliver

        added = judge_with_history(
            list(entries.values()),
            result,
            config=self.config,
            settings=self.settings,
            quarantine_spec=self.quarantine_spec,
            quarantine=quarantine,
            warn=self._warn,
        )
        if added:
            self.auto_quarantined = added
        groups = clusters(
            (entry.fingerprint, entry.decision.category, entry.failure) for entry in entries.values()
        )
        incidents = [
            c for c in groups if c.category == "infrastructure" and len(c.nodeids) >= self.spec.incident_min_tests
        ]
        delivered = route_and_deliver(entries, result.run, config=self.config, spec=self.spec, settings=self.settings)
        self.deliveries.extend(delivered.results)
        self.annotation_lines.extend(delivered.annotation_lines)
        #: report.md's sections of the markdown sinks (their destination), contributed with triage.json.
        self.markdown_sections = delivered.markdown_sections
        result.sections["triage"] = {
            "clusters": [
                {
                    "id": c.id,
                    "category": c.category,
                    "exception_type": c.exception_type,
                    "message": c.normalized_message,
                    "tests": list(c.nodeids),
                }
                for c in groups
            ],
            "incidents": [c.id for c in incidents],
            "deliveries": [
                {"sink": d.sink, "delivered": d.delivered, "spooled": d.spooled, "error": d.error}
                for d in self.deliveries
            ],
            "decisions": {
                nodeid: {
                    "rule": entry.decision.rule,
                    "reviewed": entry.decision.reviewed,
                    "reason": entry.decision.reason,
                }
                for nodeid, entry in entries.items()
            },
        }
        counts: Dict[str, int] = {}
        for entry in entries.values():
            counts[entry.decision.category] = counts.get(entry.decision.category, 0) + 1
        if counts:
            shown = ", ".join(f"{n} {name}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
            reviewed = sum(1 for entry in entries.values() if entry.decision.reviewed)
            extra = f"; {len(incidents)} incident(s)" if incidents else ""
            extra += f"; {reviewed} by reviewed labels" if reviewed else ""
            self.summary_line = f"orchestra: triage: {shown}; {len(groups)} cluster(s){extra}"

    # -- outputs -----------------------------------------------------------------------------

    def report_sections(self, entries: Mapping[str, "TriageEntry"]) -> List[ReportSection]:
        """``triage.json``, and the markdown sinks' sections of report.md."""
        sections = []
        if self.markdown_sections:
            sections.append(ReportSection("markdown_sinks", list(self.markdown_sections),
                                          tuple(section.rstrip("\n") for section in self.markdown_sections),
                                          order=60))
        sections.append(ReportSection("triage.json", None, files=(("triage.json", self._triage_json(entries)),)))
        return sections

    def _triage_json(self, entries: Mapping[str, "TriageEntry"]) -> str:
        records = []
        for entry in entries.values():
            assessment = entry.assessment
            stats = assessment.stats if assessment is not None else None
            records.append({
                "nodeid": entry.record.nodeid,
                "phase": entry.record.phase,
                "category": entry.decision.category,
                "confidence": round(entry.decision.confidence, 3),
                "rule": entry.decision.rule,
                "reviewed": entry.decision.reviewed,
                "fingerprint": entry.fingerprint,
                "cluster": entry.fingerprint,
                "attempts": entry.record.attempts,
                "flaky": entry.record.flaky,
                "flakiness": entry.flakiness or None,
                "flaky_evidence": list(stats.evidence_kinds) if stats is not None and entry.record.flaky else
                ((["retry"] if entry.record.flaky else [])),
                "changed_code": assessment.verdict.as_dict() if assessment is not None else None,
                "quarantined": entry.record.quarantined,
                "auto_quarantined": any(added.nodeid == entry.record.nodeid for added in self.auto_quarantined),
                "routes": entry.routes,
                "delivered": entry.delivered,
                "reason": entry.decision.reason,
                "exception": entry.failure.evidence.exception_type if entry.failure.evidence else None,
                "text": failure_text(entry.failure)[:TEXT_LIMIT],
            })
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"

    def terminal_summary(self, terminalreporter: Any) -> None:
        if os.environ.get("GITHUB_ACTIONS") == "true":
            for line in self.annotation_lines:
                terminalreporter.write_line(line)
        if self.summary_line:
            terminalreporter.write_line(self.summary_line)
        for added in self.auto_quarantined:
            terminalreporter.write_line(f"orchestra: quarantined {added.nodeid}: {added.reason}", yellow=True)
        for outcome in self.deliveries:
            if outcome.error:
                terminalreporter.write_line(
                    f"orchestra: sink {outcome.sink}: {outcome.error} ({outcome.spooled} spooled for the next run)",
                    yellow=True,
                )

    def _warn(self, message: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(message, yellow=True)


def _quarantine_reason(quarantine: Any, nodeid: str) -> str:
    entry = quarantine.active(nodeid) if quarantine is not None else None
    if entry is None:
        return ""
    owner = f" ({entry.owner})" if entry.owner else ""
    until = f", until {entry.expires}" if entry.expires else ""
    return f"{entry.reason}{owner}{until}"
