"""The daemon speaks sd_notify: READY, WATCHDOG while scheduling, STOPPING on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration]


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(0.5)
    yield sock
    sock.close()


def receive_until(sock: socket.socket, wanted: str, deadline_s: float) -> list[str]:
    seen: list[str] = []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            seen.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
        if any(wanted in message for message in seen):
            return seen
    raise AssertionError(f"{wanted!r} not received; got {seen}")


def test_ready_watchdog_and_stopping(tmp_path: Path, notify_socket: socket.socket) -> None:
    """Under systemd the daemon reports READY=1, feeds WATCHDOG=1, and STOPPING=1 on SIGTERM."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'log_format = "json"\n[state]\npath = "{tmp_path / "s.db"}"\n'
        "[metrics]\nenabled = false\n[status_page]\nenabled = false\n"
        '[[projects]]\nref = "abcdefghijklmnopqrst"\ntier = "micro"\nprobes = {}\n'
    )
    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
        "WATCHDOG_USEC": "1000000",
        "WATCHDOG_PID": "",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sbwatch", "--config", str(config), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        receive_until(notify_socket, "READY=1", 20)
        receive_until(notify_socket, "WATCHDOG=1", 10)
        proc.send_signal(signal.SIGTERM)
        receive_until(notify_socket, "STOPPING=1", 10)
        assert 0 == proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
