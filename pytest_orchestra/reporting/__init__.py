"""Report writers: summary.json, report.md, events.jsonl, OTLP export and GitHub output."""
