"""Change-based selection: record which lines each test runs, then run only what a change can affect."""
