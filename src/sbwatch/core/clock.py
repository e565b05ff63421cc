"""Time as a dependency: the system clock for the daemon, a virtual one for tests and replay."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What code needs to know about time."""

    def now(self) -> datetime:
        """The current time, aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, never going backwards."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait for that many seconds of this clock's time."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current time, aware UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(seconds)


class VirtualClock:
    """A clock that moves only when told to; sleeping advances it at once."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 5, 20, tzinfo=UTC)
        self._elapsed = 0.0
        self._now = self._start

    @property
    def elapsed(self) -> float:
        """Seconds since the clock's start."""
        return self._elapsed

    def now(self) -> datetime:
        """The virtual time (worked out when the clock moves, not at every read)."""
        return self._now

    def monotonic(self) -> float:
        """The virtual elapsed seconds."""
        return self._elapsed

    def advance(self, seconds: float) -> None:
        """Move forward (never back)."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._elapsed += seconds
        self._now = self._start + timedelta(seconds=self._elapsed)

    async def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` and yield to the loop once."""
        self.advance(max(seconds, 0.0))
        await asyncio.sleep(0)
