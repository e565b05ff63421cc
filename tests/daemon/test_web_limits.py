"""The metrics/status server cannot be starved: idle timeouts, a connection cap, Host check."""

from __future__ import annotations

import contextlib
import http.client
import socket
import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter

from sbwatch.config.settings import MetricsSettings, metrics_warnings
from sbwatch.daemon.web import start_server

CAP = 4


@pytest.fixture
def server() -> Iterator[int]:
    """A status server on a free loopback port, four connections at most, 0.5 s idle limit."""
    registry = CollectorRegistry()
    Counter("sbwatch_test_total", "a test counter", registry=registry).inc()
    http_server, thread = start_server(
        "127.0.0.1", 0, registry, lambda asked: "<html>ok</html>", max_connections=CAP,
        idle_timeout_s=0.5,
    )  # fmt: skip
    try:
        yield http_server.server_port
    finally:
        http_server.shutdown()
        http_server.server_close()
        thread.join(timeout=5)


def get(port: int, path: str = "/metrics", host: str | None = None) -> int:
    """The status of one GET (with the given Host header)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=host is not None)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def closed_by_server(sock: socket.socket, deadline_s: float = 10.0) -> bool:
    """Whether the server closed an idle connection before the deadline."""
    sock.settimeout(deadline_s)
    try:
        return sock.recv(1) == b""
    except OSError:
        return True


def test_idle_connections_are_closed_and_the_cap_holds(server: int) -> None:
    """Forty idle connections hold at most four handlers: those beyond the cap are closed on
    arrival, the others once idle; then a scrape is answered."""
    idle = [socket.create_connection(("127.0.0.1", server)) for _ in range(40)]
    try:
        closed = [closed_by_server(sock) for sock in idle]
        deadline = time.monotonic() + 10
        status = 0
        while status != 200 and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                status = get(server)
        assert ([True] * 40, 200) == (closed, status)
    finally:
        for sock in idle:
            sock.close()


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:{port}", 200),
        ("localhost:{port}", 200),
        ("[::1]:{port}", 200),
        ("evil.example:{port}", 421),
        ("127.0.0.1.evil.example", 421),
        ("", 421),
    ],
)
def test_a_loopback_server_answers_loopback_host_names_only(
    server: int, host: str, status: int
) -> None:
    """DNS rebinding: a page of another site reaching 127.0.0.1 names its own host: refused."""
    assert status == get(server, "/", host.format(port=server))
    assert status == get(server, "/metrics", host.format(port=server))


def test_listening_beyond_loopback_is_a_warning() -> None:
    """check-config (and the daemon's log) warn when metrics.listen is not a loopback address."""
    assert [] == metrics_warnings(MetricsSettings(listen="127.0.0.1"))
    (warning,) = metrics_warnings(MetricsSettings(listen="0.0.0.0"))
    assert str(warning).startswith("metrics.listen: 0.0.0.0 is reachable beyond this host")
    assert "metrics.listen" == warning.location
