"""sd_notify over a real AF_UNIX datagram socket."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from sbwatch.daemon.sdnotify import Notifier, watchdog_interval_s


def test_ready_sends_ready_datagram(notify_socket: tuple[socket.socket, str]) -> None:
    """ready() sends READY=1 to the socket named by $NOTIFY_SOCKET."""
    sock, path = notify_socket
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert True is notifier.ready()
    assert b"READY=1" == sock.recv(4096)


@pytest.mark.parametrize(
    ("method", "expected"),
    [("stopping", b"STOPPING=1"), ("watchdog", b"WATCHDOG=1")],
)
def test_simple_states(
    notify_socket: tuple[socket.socket, str], method: str, expected: bytes
) -> None:
    """stopping() and watchdog() send their one-line states."""
    sock, path = notify_socket
    assert True is getattr(Notifier({"NOTIFY_SOCKET": path}), method)()
    assert expected == sock.recv(4096)


def test_reloading_carries_monotonic_time(notify_socket: tuple[socket.socket, str]) -> None:
    """reloading() sends RELOADING=1 with the CLOCK_MONOTONIC time in microseconds."""
    sock, path = notify_socket
    Notifier({"NOTIFY_SOCKET": path}).reloading()
    lines = sock.recv(4096).decode().split("\n")
    assert "RELOADING=1" == lines[0]
    assert lines[1].startswith("MONOTONIC_USEC=")
    assert 0 < int(lines[1].removeprefix("MONOTONIC_USEC="))


def test_status_is_one_line(notify_socket: tuple[socket.socket, str]) -> None:
    """status() folds a multi-line text into one STATUS= line."""
    sock, path = notify_socket
    Notifier({"NOTIFY_SOCKET": path}).status("watching 2 projects\nall healthy")
    assert b"STATUS=watching 2 projects all healthy" == sock.recv(4096)


def test_abstract_namespace_socket() -> None:
    """A $NOTIFY_SOCKET starting with '@' names a socket in the abstract namespace."""
    name = f"sbwatch-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert True is Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert b"READY=1" == sock.recv(4096)


def test_noop_without_systemd() -> None:
    """Without $NOTIFY_SOCKET every call is a quiet no-op."""
    notifier = Notifier({})
    assert False is notifier.enabled
    assert [False] * 5 == [
        notifier.ready(),
        notifier.reloading(),
        notifier.stopping(),
        notifier.watchdog(),
        notifier.status("x"),
    ]


def test_send_failure_is_a_value(tmp_path: os.PathLike[str]) -> None:
    """A socket path nobody listens on yields False instead of an exception."""
    notifier = Notifier({"NOTIFY_SOCKET": f"{tmp_path}/absent"})
    assert (True, False) == (notifier.enabled, notifier.ready())


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"WATCHDOG_USEC": "60000000"}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval(environ: dict[str, str], expected: float | None) -> None:
    """The ping interval is half of $WATCHDOG_USEC, and only for the process it names."""
    assert expected == watchdog_interval_s(environ)
    assert expected == Notifier(environ).watchdog_interval_s()
