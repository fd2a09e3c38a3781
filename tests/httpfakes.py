"""A real HTTP server on 127.0.0.1 that records what it receives, for tests of exporters and sinks."""

from __future__ import annotations

import http.server
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Tuple


@dataclass
class RecordingServer:
    """What arrived, and the status to answer with (changeable while it runs)."""

    url: str = ""
    status: int = 200
    received: List[Tuple[str, str, Dict[str, str], bytes]] = field(default_factory=list)

    @property
    def bodies(self) -> List[bytes]:
        return [body for _, _, _, body in self.received]


@contextmanager
def recording_server() -> Iterator[RecordingServer]:
    state = RecordingServer()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.received.append((self.command, self.path, headers, body))
            self.send_response(state.status)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_PUT = _record  # noqa: N815 - http.server's naming

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
