"""High availability: hold the leader lease, or stand by and take it over when it expires.

Every instance probes and diagnoses; only the instance that holds the lease acts (escalates,
sends notifications). The leader renews its lease with a conditional update (its name and its
epoch); a standby takes an expired lease with an update that increments the fencing epoch,
judged by the database's clock. The leader stops acting on its own, before its lease could have
been taken: once its last successful renewal, measured on its monotonic clock from the moment
the renewal was sent, is older than ``lease - renew_every``. Whatever a stale leader still tries
is refused by the store, which checks the epoch in the same statement as the write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sbwatch.config.ha import HaSettings
from sbwatch.core.clock import Clock
from sbwatch.core.errors import StoreError
from sbwatch.core.lease import Lease, Role
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.store.base import Store

Takeover = Callable[[int, str | None], Awaitable[None]]
"""Called once this instance leads: its epoch and the previous holder (None if none)."""

log = get_logger("ha")


class Leadership:
    """This instance's part in the lease; the :class:`~sbwatch.core.lease.Fence` of its writes."""

    def __init__(
        self, store: Store, settings: HaSettings, *, clock: Clock, metrics: Metrics
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.name = settings.instance
        self.role = Role.STANDBY
        self.on_takeover: Takeover | None = None
        self._epoch: int | None = None
        self._renewed_mono: float | None = None
        self._was_acting = False
        metrics.ha_leader.set_function(lambda: 1.0 if self.acting() else 0.0)
        metrics.ha_epoch.set_function(lambda: float(self._epoch or 0))

    @property
    def epoch(self) -> int | None:
        """The fencing epoch this instance leads under; None on a standby."""
        return self._epoch if self.role is Role.LEADER else None

    def acting(self) -> bool:
        """Whether this instance leads and renewed recently enough to act (its own clock)."""
        if self.role is not Role.LEADER or self._renewed_mono is None:
            return False
        return self.clock.monotonic() - self._renewed_mono < self.settings.acting_s

    async def run(self) -> None:
        """Renew or try to take the lease every ``renew_every`` until cancelled."""
        while True:
            started = self.clock.monotonic()
            await self.tick()
            await asyncio.sleep(max(0.0, self.settings.renew_s - self.clock.monotonic() + started))

    async def tick(self) -> None:
        """One renewal (leader) or one attempt to take over (standby), bounded in time."""
        started = self.clock.monotonic()
        try:
            async with asyncio.timeout(self.settings.renew_s):
                if self.role is Role.LEADER:
                    await self._renew(started)
                else:
                    await self._take(started)
                await self.store.record_instance(self.name, self.role, self.epoch)
        except (StoreError, TimeoutError) as exc:
            detail = str(exc) or "timed out"
            log.warning("lease store unreachable", instance=self.name, detail=detail)
        self._say_stepped_down()

    async def _renew(self, started: float) -> None:
        assert self._epoch is not None
        lease = await self.store.renew_lease(self.name, self._epoch, self.settings.lease_s)
        if lease is None:
            self.role = Role.STANDBY
            log.warning("lease lost", instance=self.name, epoch=self._epoch)
            return
        self._renewed_mono = started

    async def _take(self, started: float) -> None:
        before = await self.store.current_lease()
        lease = await self.store.take_lease(self.name, self.settings.lease_s)
        if lease is None:
            return
        self.role, self._epoch, self._renewed_mono = Role.LEADER, lease.epoch, started
        previous = _previous(before, self.name)
        log.warning("took the lead", instance=self.name, epoch=lease.epoch, previous=previous)
        if self.on_takeover is not None:
            await self.on_takeover(lease.epoch, previous)

    def _say_stepped_down(self) -> None:
        """Log the moment this instance stops acting (lease lost, or not renewed in time)."""
        acting = self.acting()
        if self._was_acting and not acting:
            log.warning("stepped down", instance=self.name, epoch=self._epoch, role=self.role)
        self._was_acting = acting

    async def release(self) -> None:
        """A clean stop: let the lease expire now so a standby leads at once; say so."""
        epoch, self.role = self.epoch, Role.STOPPED
        try:
            async with asyncio.timeout(self.settings.renew_s):
                if epoch is not None:
                    await self.store.release_lease(self.name, epoch)
                await self.store.record_instance(self.name, Role.STOPPED, None)
        except (StoreError, TimeoutError) as exc:
            log.warning("lease not released", instance=self.name, detail=str(exc) or "timed out")


def _previous(before: Lease | None, me: str) -> str | None:
    """Who held the lease before this take (None: nobody, or this same instance)."""
    if before is None or before.holder == me:
        return None
    return before.holder
