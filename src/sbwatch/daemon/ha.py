"""High availability: hold the leader lease, or stand by and take it over when it expires.

Every instance probes and diagnoses; only the instance that holds the lease acts (escalates,
sends notifications). The leader renews its lease with a conditional update (its name and its
epoch); a standby takes an expired lease with an update that increments the fencing epoch,
judged by the database's clock. The leader stops acting on its own, before its lease could have
been taken: once its last successful renewal, measured on its monotonic clock from the moment
the renewal was sent, is older than ``lease - renew_every``. Whatever a stale leader still tries
is refused by the store, which checks the epoch in the same statement as the write.

With ``share_projects`` every project has a lease of its own, and an instance probes,
diagnoses and acts only for the projects it holds. Which instance should hold a project is
decided by rendezvous hashing over the live instances (those that recorded themselves within a
lease): each instance takes its projects when they are free and lets go of those another live
instance should hold. An instance that dies stops renewing; its projects' leases expire and
the others take them, each about an equal part. The leader lease still exists: its holder sends
the provider-wide notices.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sbwatch.config.ha import HaSettings
from sbwatch.core.clock import Clock
from sbwatch.core.errors import StoreError
from sbwatch.core.lease import (
    LEASE_NAME,
    PROJECT_LEASE_PREFIX,
    Fence,
    Lease,
    ProjectLease,
    Role,
    preferred_instance,
    project_lease,
)
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.store.base import LeaseStore

Takeover = Callable[[int, str | None], Awaitable[None]]
"""Called once this instance leads: its epoch and the previous holder (None if none)."""
Moved = Callable[[list[str], list[str]], Awaitable[None]]
"""Called when projects move: the refs this instance now leads, the refs it let go of."""

log = get_logger("ha")


@dataclass(slots=True)
class Held:
    """A project lease this instance holds: its epoch and its last renewal (monotonic)."""

    epoch: int
    renewed_mono: float


class ProjectFence:
    """The :class:`~sbwatch.core.lease.Fence` of one project's writes when projects are shared."""

    def __init__(self, leadership: Leadership, ref: str) -> None:
        self._leadership = leadership
        self._ref = ref
        self.lease = project_lease(ref)

    @property
    def epoch(self) -> int | None:
        """The epoch of the project's lease while this instance holds it."""
        held = self._leadership.held.get(self._ref)
        return None if held is None else held.epoch

    def acting(self) -> bool:
        """Whether this instance holds the project's lease, renewed recently enough to act."""
        return self._leadership.acting_for(self._ref)


class Leadership:
    """This instance's part in the leases; the :class:`~sbwatch.core.lease.Fences` of its
    writes (itself the fence of the leader lease)."""

    lease = LEASE_NAME

    def __init__(
        self,
        store: LeaseStore,
        settings: HaSettings,
        *,
        clock: Clock,
        metrics: Metrics,
        projects: Sequence[str] = (),
    ) -> None:
        """``projects``: the refs to share out with the other instances (``share_projects``)."""
        self.store = store
        self.settings = settings
        self.clock = clock
        self.name = settings.instance
        self.role = Role.STANDBY
        self.on_takeover: Takeover | None = None
        self.on_moved: Moved | None = None
        self.projects = list(projects) if settings.share_projects else []
        self.held: dict[str, Held] = {}
        self._fences: dict[str, ProjectFence] = {}
        self._epoch: int | None = None
        self._renewed_mono: float | None = None
        self._was_acting = False
        metrics.ha_leader.set_function(lambda: 1.0 if self.acting() else 0.0)
        metrics.ha_epoch.set_function(lambda: float(self._epoch or 0))
        metrics.ha_projects.set_function(lambda: float(len(self.held)))

    # -- the fences -------------------------------------------------------------------------
    def lease_for(self, project: str | None) -> str:
        """The project's own lease when projects are shared, else the leader lease."""
        if project is not None and project in self.projects:
            return project_lease(project)
        return LEASE_NAME

    def fence(self, lease: str) -> Fence:
        """The fence of one lease: this object for the leader lease, a project's otherwise."""
        if lease == LEASE_NAME:
            return self
        ref = ProjectLease.parse(lease).ref
        fence = self._fences.get(ref)
        if fence is None:
            fence = self._fences[ref] = ProjectFence(self, ref)
        return fence

    def runs(self, project: str) -> bool:
        """Every instance probes every project, unless projects are shared: then the ones it
        holds (while the store is unreachable too: it may still know; it does not act)."""
        return not self.settings.share_projects or project in self.held

    def acting_for(self, ref: str) -> bool:
        """Whether this instance holds ``ref``'s lease, renewed recently enough to act."""
        held = self.held.get(ref)
        if held is None or self.role is Role.STOPPED:
            return False
        return self.clock.monotonic() - held.renewed_mono < self.settings.acting_s

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
                if self.projects:
                    await self._share(started)
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

    async def _share(self, started: float) -> None:
        """Renew the project leases held, take the free ones this instance should lead, let go
        of those another live instance should; tell ``on_moved`` (also when the store fails
        half way: what moved before that has moved)."""
        gained: list[str] = []
        lost: list[str] = []
        try:
            renewed = await self.store.renew_leases(
                self.name, PROJECT_LEASE_PREFIX, self.settings.lease_s
            )
            for ref, held in list(self.held.items()):
                if renewed.get(project_lease(ref)) == held.epoch:
                    held.renewed_mono = started
                else:
                    del self.held[ref]
                    lost.append(ref)
            live = set(await self.store.live_instances(self.settings.lease_s)) | {self.name}
            # A lease the store says is this instance's but this instance does not know of (a
            # take that committed as the tick timed out): adopted if it is this instance's to
            # lead, let go otherwise, never renewed for ever out of another's reach.
            for lease, epoch in renewed.items():
                ref = ProjectLease.parse(lease).ref
                if ref in self.held:
                    continue
                if ref in self.projects and preferred_instance(ref, live) == self.name:
                    self.held[ref] = Held(epoch, started)
                    gained.append(ref)
                else:
                    await self.store.release_lease(self.name, epoch, lease)
            wanted = []
            for ref in self.projects:
                mine = preferred_instance(ref, live) == self.name
                if mine and ref not in self.held:
                    wanted.append(project_lease(ref))
                elif not mine and ref in self.held:
                    held = self.held.pop(ref)  # stops acting before the lease is free
                    lost.append(ref)
                    await self.store.release_lease(self.name, held.epoch, project_lease(ref))
            # Sorted: two instances taking overlapping sets lock the rows in the same order.
            taken = await self.store.take_leases(self.name, sorted(wanted), self.settings.lease_s)
            for lease, epoch in taken.items():
                ref = ProjectLease.parse(lease).ref
                self.held[ref] = Held(epoch, started)
                gained.append(ref)
        finally:
            await self._moved(gained, lost)

    async def _moved(self, gained: list[str], lost: list[str]) -> None:
        if not gained and not lost:
            return
        log.warning(
            "projects moved", instance=self.name, gained=gained, lost=lost, leads=len(self.held)
        )
        if self.on_moved is not None:
            await self.on_moved(gained, lost)

    def _say_stepped_down(self) -> None:
        """Log the moment this instance stops acting (lease lost, or not renewed in time)."""
        acting = self.acting()
        if self._was_acting and not acting:
            log.warning("stepped down", instance=self.name, epoch=self._epoch, role=self.role)
        self._was_acting = acting

    async def release(self) -> None:
        """A clean stop: let the lease expire now so a standby leads at once; say so."""
        epoch, self.role = self.epoch, Role.STOPPED
        held, self.held = self.held, {}
        try:
            async with asyncio.timeout(self.settings.renew_s):
                if epoch is not None:
                    await self.store.release_lease(self.name, epoch)
                if held:
                    await self.store.release_leases(self.name, PROJECT_LEASE_PREFIX)
                await self.store.record_instance(self.name, Role.STOPPED, None)
        except (StoreError, TimeoutError) as exc:
            log.warning("lease not released", instance=self.name, detail=str(exc) or "timed out")


def _previous(before: Lease | None, me: str) -> str | None:
    """Who held the lease before this take (None: nobody, or this same instance)."""
    if before is None or before.holder == me:
        return None
    return before.holder
