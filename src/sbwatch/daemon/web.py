"""The daemon's HTTP endpoint: the status page at ``/``, Prometheus metrics everywhere else.

One ``wsgiref`` server on a thread, as prometheus_client's own ``start_http_server`` runs it:
its metrics app answers ``/metrics`` (and, as before, any other path), and ``/`` is the page.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from sbwatch.core.log import get_logger

PAGE_PATHS = frozenset({"/", "/index.html"})

log = get_logger("daemon.web")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr (the daemon logs through structlog)."""

    def log_message(self, format: str, *args: Any) -> None:
        """Drop it."""


def status_app(registry: CollectorRegistry, page: Callable[[], str] | None) -> WsgiApp:
    """The WSGI app: the page at ``/`` (when given), the metrics of ``registry`` elsewhere."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if page is None or environ.get("PATH_INFO", "/") not in PAGE_PATHS:
            answer: Iterable[bytes] = metrics(environ, start_response)
            return answer
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
            return [b""]
        try:
            body = page().encode("utf-8")
        except Exception as exc:
            # The page must never take the metrics endpoint (or the daemon) down with it;
            # what went wrong is logged by type only (an exception text could carry a DSN).
            log.warning("status page failed", error=type(exc).__name__)
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [f"status page unavailable ({type(exc).__name__}); retry shortly\n".encode()]
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ]
        start_response("200 OK", headers)
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]

    return app


def start_server(
    listen: str, port: int, registry: CollectorRegistry, page: Callable[[], str] | None
) -> tuple[WSGIServer, threading.Thread]:
    """Listen on ``listen:port`` and serve on a daemon thread; OSError when it cannot bind."""

    class Server(ThreadingWSGIServer):
        address_family = socket.AF_INET6 if ":" in listen else socket.AF_INET

    server = make_server(listen, port, status_app(registry, page), Server, _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    return server, thread
