"""One daemon per state store, and its heartbeat for ``sbwatch status``.

A daemon holds the store's ``daemon`` lock while it runs, renewing it; a second ``sbwatch run``
on the same store finds it held and refuses to start. A lock left by a process of this host
that is gone is taken over at once. Beside the lock the daemon writes when it last completed
an evaluation cycle, so ``sbwatch status`` can tell a running daemon from a stale store.

With high availability (``[ha]``) several daemons share the store: the lease decides who acts
(see ``daemon/ha.py``), no lock is taken, and the acting leader writes the heartbeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sbwatch.core.clock import Clock
from sbwatch.core.errors import SbwatchError
from sbwatch.core.lease import Fence
from sbwatch.store.base import StateStore, Store
from sbwatch.store.docs import slot

LOCK = "daemon"
NAMESPACE = "daemon"
KEY = "heartbeat"
RENEW_EVERY_S = 10.0
"""How often the running daemon renews its lock and writes its heartbeat."""
LEASE_S = 45.0
"""A lock not renewed for this long is free: a daemon that froze or died lets another start."""


class AlreadyRunning(SbwatchError):
    """Another daemon holds this state store."""


@dataclass(frozen=True)
class Heartbeat:
    """What the running daemon last wrote about itself."""

    owner: str
    renewed_at: datetime
    last_cycle_at: datetime | None
    cycle_s: float
    stopped_at: datetime | None = None

    def to_doc(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "owner": self.owner,
            "renewed_at": self.renewed_at.isoformat(),
            "last_cycle_at": None if self.last_cycle_at is None else self.last_cycle_at.isoformat(),
            "cycle_s": self.cycle_s,
            "stopped_at": None if self.stopped_at is None else self.stopped_at.isoformat(),
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Heartbeat:
        """The inverse of :meth:`to_doc`."""

        def when(key: str) -> datetime | None:
            value = doc.get(key)
            return None if value is None else datetime.fromisoformat(str(value))

        renewed = when("renewed_at")
        if renewed is None:
            raise ValueError("heartbeat without renewed_at")
        return cls(
            str(doc["owner"]),
            renewed,
            when("last_cycle_at"),
            float(doc["cycle_s"]),
            when("stopped_at"),
        )

    @property
    def window(self) -> timedelta:
        """Two cycles, and never less than two heartbeats (the heartbeat carries the cycle)."""
        return timedelta(seconds=2 * max(self.cycle_s, RENEW_EVERY_S))

    def running(self, now: datetime) -> bool:
        """Whether the daemon counts as running: not stopped, and renewed within the window."""
        return self.stopped_at is None and now - self.renewed_at <= self.window

    def stale(self, now: datetime) -> bool:
        """Whether the last completed cycle is older than the window (or there was none)."""
        if self.last_cycle_at is None:
            return not self.running(now)
        return not self.running(now) or now - self.last_cycle_at > self.window


HEARTBEAT = slot(NAMESPACE, KEY, Heartbeat)
"""Where the running daemon's heartbeat is kept."""


async def read_heartbeat(store: StateStore) -> Heartbeat | None:
    """The last heartbeat a daemon wrote to this store; None when none ever ran (or unreadable)."""
    try:
        return await HEARTBEAT.read(store)
    except (KeyError, TypeError, ValueError):  # written by something else: no heartbeat
        return None


class Presence:
    """The running daemon's hold on its store: the lock, renewed, and the heartbeat."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock,
        owner: str,
        cycle_s: float,
        fence: Fence | None = None,
    ) -> None:
        self.store = store
        self.fence = fence
        self.clock = clock
        self.owner = owner
        self.cycle_s = cycle_s
        self.last_cycle_at: datetime | None = None

    async def claim(self) -> None:
        """Take the store for this daemon; AlreadyRunning when another daemon holds it."""
        if self.fence is not None:  # several daemons by design: the lease decides who acts
            await self.beat()
            return
        now = self.clock.now()
        if await self.store.acquire_lock(LOCK, self.owner, LEASE_S, now):
            await self.beat()
            return
        holder = await self.store.lock_holder(LOCK, now)
        # here, not at the top: ``status`` reads heartbeats and needs no Management API client
        from sbwatch.remediation.executor import dead_here

        gone = holder is not None and dead_here(holder)
        if gone and await self.store.acquire_lock(LOCK, self.owner, LEASE_S, now, replacing=holder):
            await self.beat()
            return
        raise AlreadyRunning(
            f"another sbwatch daemon ({holder or 'unknown'}) is running on this state store; "
            "stop it first, or run several daemons with high availability ([ha])"
        )

    def cycle_done(self) -> None:
        """An evaluation cycle completed now."""
        self.last_cycle_at = self.clock.now()

    async def beat(self) -> None:
        """Renew the lock and write the heartbeat; AlreadyRunning once another daemon has it.

        The lock is lost only when this daemon stalled past the lease and another took over:
        then this one must stop acting, at once.
        """
        now = self.clock.now()
        if self.fence is not None:
            if self.fence.acting():
                beat = Heartbeat(self.owner, now, self.last_cycle_at, self.cycle_s)
                await HEARTBEAT.write(self.store, beat)
            return
        if not await self.store.acquire_lock(LOCK, self.owner, LEASE_S, now):
            holder = await self.store.lock_holder(LOCK, now)
            raise AlreadyRunning(f"the state store was taken over by {holder or 'another daemon'}")
        beat = Heartbeat(self.owner, now, self.last_cycle_at, self.cycle_s)
        await HEARTBEAT.write(self.store, beat)

    async def release(self) -> None:
        """Say the daemon stopped, and free the store for the next one (if still ours)."""
        now = self.clock.now()
        if self.fence is not None and not self.fence.acting():
            return  # a standby: the leader's heartbeat is the one that counts
        if self.fence is None:
            holder = await self.store.lock_holder(LOCK, now)
            if holder is not None and holder != self.owner:
                return  # another daemon holds the store now: its heartbeat is the one that counts
            # a lease that lapsed (a slow start, a stalled loop) and nobody took is still ours
        beat = Heartbeat(self.owner, now, self.last_cycle_at, self.cycle_s, stopped_at=now)
        await HEARTBEAT.write(self.store, beat)
        if self.fence is None:
            await self.store.release_lock(LOCK, self.owner)
