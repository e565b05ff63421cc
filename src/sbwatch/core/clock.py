"""Time as a dependency: the system clock for the daemon, a virtual one for tests and replay."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
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
        self.on_the_way: Callable[[float], None] | None = None
        """Told the elapsed seconds a move goes to, before the clock gets there: it may stop
        the clock on the way (``move_to``) for what happens then (a replay's scheduled
        events, applied at their own time even when a slow answer sleeps across them)."""

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
        """Move forward (never back), stopping where ``on_the_way`` asks."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        target = self._elapsed + seconds
        hook, self.on_the_way = self.on_the_way, None  # what it does on the way moves no hook
        try:
            if hook is not None:
                hook(target)
        finally:
            self.on_the_way = hook
        self.move_to(target)

    def move_to(self, elapsed: float) -> None:
        """Move to ``elapsed`` seconds since the start (no earlier than now)."""
        if elapsed > self._elapsed:
            self._elapsed = elapsed
            self._now = self._start + timedelta(seconds=elapsed)

    async def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` and yield to the loop once."""
        self.advance(max(seconds, 0.0))
        await asyncio.sleep(0)
