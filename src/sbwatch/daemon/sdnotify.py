"""systemd's readiness protocol (sd_notify) over $NOTIFY_SOCKET; a no-op outside systemd."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping


def _address(environ: Mapping[str, str]) -> str | None:
    """The socket address from $NOTIFY_SOCKET; '@' names the abstract namespace."""
    path = environ.get("NOTIFY_SOCKET", "")
    if not path or path[0] not in "/@":
        return None
    return "\0" + path[1:] if path[0] == "@" else path


def watchdog_interval_s(environ: Mapping[str, str] | None = None) -> float | None:
    """How often to ping the watchdog: half of $WATCHDOG_USEC, None when it is off or not ours."""
    env = os.environ if environ is None else environ
    pid = env.get("WATCHDOG_PID")
    if pid and pid.strip() != str(os.getpid()):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2 / 1_000_000 if usec > 0 else None


class Notifier:
    """Tells systemd about readiness, reloads, shutdown, liveness and status."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ: Mapping[str, str] = os.environ if environ is None else dict(environ)
        self._address = _address(self._environ)

    @property
    def enabled(self) -> bool:
        """Whether a notification socket was given (we run under systemd with Type=notify)."""
        return self._address is not None

    def notify(self, state: str) -> bool:
        """Send one state datagram; False when not under systemd or the send failed."""
        if self._address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(state.encode("utf-8"), self._address)
        except OSError:
            return False
        return True

    def ready(self) -> bool:
        """Startup (or a reload) is complete."""
        return self.notify("READY=1")

    def reloading(self) -> bool:
        """A configuration reload begins; call ready() when it is done."""
        return self.notify(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}")

    def stopping(self) -> bool:
        """Shutdown begins."""
        return self.notify("STOPPING=1")

    def watchdog(self) -> bool:
        """The service is alive; resets the WatchdogSec= timer."""
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """A one-line status shown by ``systemctl status``."""
        return self.notify("STATUS=" + " ".join(text.splitlines()))

    def watchdog_interval_s(self) -> float | None:
        """Half of $WATCHDOG_USEC in seconds, None when the watchdog is off."""
        return watchdog_interval_s(self._environ)
