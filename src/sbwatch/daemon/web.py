"""The daemon's HTTP endpoint: the status page at ``/``, the Acknowledge buttons' links at
``/ack/...`` (POST only, when configured), Prometheus metrics everywhere else.

One ``wsgiref`` server on a thread, as prometheus_client's own ``start_http_server`` runs it:
its metrics app answers ``/metrics`` (and, as before, any other path), and ``/`` is the page.
No client can starve the daemon of descriptors through it: a connection idle for
``IDLE_TIMEOUT_S`` is closed, and beyond ``MAX_CONNECTIONS`` at once a new one is closed on
arrival. On loopback, a request naming another host (DNS rebinding) is refused.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from sbwatch.alerting.ack_link import ACK_PATH, Answer
from sbwatch.core.log import get_logger

PAGE_PATHS = frozenset({"/", "/index.html"})
IDLE_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 32
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

log = get_logger("daemon.web")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
AckHandler = Callable[[str], Answer]
"""Acknowledges the alert an ``/ack/...`` path names (its token checked), blocking."""


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr (the daemon logs through structlog); idle sockets time out."""

    timeout = IDLE_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:
        """Drop it."""


def is_loopback(listen: str) -> bool:
    """Whether an address to listen on is reachable from this host only."""
    if listen == "localhost":
        return True
    try:
        return ipaddress.ip_address(listen.strip("[]")).is_loopback
    except ValueError:
        return False


def _host(environ: dict[str, Any]) -> str:
    """The Host header without its port (``[::1]:9464`` is ``[::1]``)."""
    host = str(environ.get("HTTP_HOST", "")).strip().lower()
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _acknowledge(
    ack: AckHandler, environ: dict[str, Any], start_response: StartResponse
) -> Iterable[bytes]:
    """An Acknowledge button's POST: the handler's answer; any other method is refused (a
    link preview's GET must not take an alert)."""
    if environ.get("REQUEST_METHOD") != "POST":
        start_response("405 Method Not Allowed", [("Allow", "POST")])
        return [b"acknowledge with a POST\n"]
    try:
        answer = ack(str(environ.get("PATH_INFO", "")))
    except Exception as exc:  # the store or the loop: by type only, as the page does
        log.warning("acknowledgement failed", error=type(exc).__name__)
        answer = Answer(503, f"not acknowledged ({type(exc).__name__}); try again shortly")
    reason = {200: "OK", 403: "Forbidden", 404: "Not Found", 410: "Gone"}.get(answer.status, "")
    start_response(
        f"{answer.status} {reason or 'Service Unavailable'}",
        [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")],
    )
    return [f"{answer.text}\n".encode()]


def status_app(
    registry: CollectorRegistry,
    page: Callable[[str], str] | None,
    hosts: frozenset[str] | None = None,
    ack: AckHandler | None = None,
) -> WsgiApp:
    """The WSGI app: the page at ``/`` (when given), acknowledgements at ``/ack/`` (when
    given), the metrics of ``registry`` elsewhere; with ``hosts``, a request whose Host
    header names another host is refused."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if hosts is not None and _host(environ) not in hosts:
            start_response("421 Misdirected Request", [("Content-Type", "text/plain")])
            return [b"this server answers only requests for a loopback host name\n"]
        if ack is not None and str(environ.get("PATH_INFO", "")).startswith(ACK_PATH):
            return _acknowledge(ack, environ, start_response)
        if page is None or environ.get("PATH_INFO", "/") not in PAGE_PATHS:
            answer: Iterable[bytes] = metrics(environ, start_response)
            return answer
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
            return [b""]
        try:
            asked = parse_qs(str(environ.get("QUERY_STRING", ""))).get("range", [""])[0]
            body = page(asked).encode("utf-8")
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
    listen: str,
    port: int,
    registry: CollectorRegistry,
    page: Callable[[str], str] | None,
    *,
    max_connections: int = MAX_CONNECTIONS,
    idle_timeout_s: float = IDLE_TIMEOUT_S,
    ack: AckHandler | None = None,
    public_host: str | None = None,
) -> tuple[WSGIServer, threading.Thread]:
    """Listen on ``listen:port`` and serve on a daemon thread; OSError when it cannot bind.
    ``public_host``: the host name of the public URL a reverse proxy forwards as it is."""
    slots = threading.BoundedSemaphore(max_connections)

    class Handler(_QuietHandler):
        timeout = idle_timeout_s

    class Server(ThreadingWSGIServer):
        address_family = socket.AF_INET6 if ":" in listen else socket.AF_INET

        def process_request(self, request: Any, client_address: Any) -> None:
            if not slots.acquire(blocking=False):
                self.shutdown_request(request)  # full: its descriptor is given back at once
                return
            try:
                super().process_request(request, client_address)
            except BaseException:
                slots.release()
                raise

        def process_request_thread(self, request: Any, client_address: Any) -> None:
            try:
                super().process_request_thread(request, client_address)
            finally:
                slots.release()

        def handle_error(self, request: Any, client_address: Any) -> None:
            """A client that timed out or went away is no error of the daemon's."""

    hosts = LOOPBACK_HOSTS if is_loopback(listen) else None
    if hosts is not None and public_host:
        hosts = hosts | {public_host.lower()}
    app = status_app(registry, page, hosts, ack)
    server = make_server(listen, port, app, Server, Handler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    return server, thread
