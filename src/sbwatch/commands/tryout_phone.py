"""The phone of ``sbwatch try``: a tiny HTTP server taking apprise's ``json://`` posts.

Each notification is printed as a phone would show it: its title line, then its body.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_MARK = {"failure": "!!", "warning": "! ", "success": "ok", "info": "i "}


def phone_lines(payload: dict[str, Any], at: datetime) -> list[str]:
    """How one apprise JSON notification is printed: a stamped title, the body indented."""
    title = str(payload.get("title") or "").strip()
    body = str(payload.get("message") or "").strip()
    mark = _MARK.get(str(payload.get("type")), "  ")
    lines = [f"phone {at:%H:%M:%S} {mark} {title}"]
    lines += [f"                  {line}" for line in body.splitlines() if line.strip()]
    return lines


class Phone:
    """An HTTP server on 127.0.0.1 (a free port) printing every notification posted to it."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.received: list[dict[str, Any]] = []
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = None
                self.send_response(200 if isinstance(payload, dict) else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if isinstance(payload, dict):
                    with lock:
                        received.append(payload)
                        for line in phone_lines(payload, datetime.now(UTC)):
                            say(line)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: only the notifications are printed."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="phone", daemon=True
        )

    @property
    def port(self) -> int:
        """Its port on 127.0.0.1."""
        port: int = self._server.server_address[1]
        return port

    def start(self) -> None:
        """Serve on a thread."""
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
