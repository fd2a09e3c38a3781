"""Fetches SQL migration scripts from a migration server over HTTP and splits them with sqlparse.

Added by the triage corpus (sqlparse cases); copied into the project's tests/ folder.
"""

import http.client
from urllib.parse import urlsplit

import sqlparse


class MigrationServer:
    """A client of the team's migration server: GET /migrations/<name>.sql returns one script."""

    def __init__(self, base_url, timeout=5.0):
        parts = urlsplit(base_url)
        self.host = parts.hostname
        self.port = parts.port
        self.timeout = timeout

    def _get(self, path):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("GET", path, headers={"Accept": "application/sql"})
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        if response.status != 200:
            raise RuntimeError(f"migration server answered {response.status} {response.reason} for {path}")
        return body.decode("utf-8")

    def script(self, name):
        return self._get(f"/migrations/{name}.sql")

    def statements(self, name):
        """The statements of one migration script, split by sqlparse, without trailing semicolons."""
        return [s for s in sqlparse.split(self.script(name), strip_semicolon=True) if s]
