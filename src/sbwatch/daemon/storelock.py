"""One daemon per SQLite state file, even when the file is deleted under it.

The store's own ``daemon`` lock lives inside the file: delete the file and the next
``sbwatch run`` (or ``status``) makes a fresh one where no daemon holds anything. So the daemon
also holds an exclusive ``flock`` on a lock file beside it (``sbwatch.db.lock``), which the
kernel frees when the process dies, and it remembers which file it opened: a file deleted or
replaced under it is noticed at its next renewal, and the daemon stops acting.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from sbwatch.daemon.presence import AlreadyRunning
from sbwatch.remediation.executor import process_owner


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


class StoreFileLock:
    """The lock file beside a SQLite state file, and the identity of the file opened."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None

    def acquire(self) -> None:
        """Take the lock (creating the file and its directory); AlreadyRunning when held."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(
                f"another sbwatch daemon ({holder}) is running on this state store (it holds "
                f"{self.lock_path}); stop it first, or run several daemons with high "
                "availability ([ha])"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, process_owner("daemon").encode())
        self._fd = fd

    def opened(self) -> None:
        """Remember the state file the store has just opened."""
        self._identity = _identity(self.path)

    def replaced(self) -> str | None:
        """Why the state file is no longer the one opened (deleted, replaced), or None."""
        if self._identity is None:
            return None
        current = _identity(self.path)
        if current is None:
            return f"the state file {self.path} was deleted"
        if current != self._identity:
            return f"the state file {self.path} was replaced by another file"
        return None

    def release(self) -> None:
        """Free the lock (the file stays: removing it would race a starting daemon)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
