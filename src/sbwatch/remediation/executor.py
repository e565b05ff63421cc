"""The escalation executor: journal first, one PATCH per intent, reconcile, verify recovery.

Every step is visible in the store: the lock row, then the OPEN intent (committed before the
PATCH is sent), then APPLIED or FAILED, then RECOVERED or UNRECOVERED. An intent whose
outcome is unknown (timeout, dropped connection, crash) stays OPEN until a ``GET`` of the
add-ons settles it; a PATCH is never sent twice for the same intent.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol

from sbwatch.core.clock import Clock
from sbwatch.core.errors import ApiError, LockBusy, PermanentError, RateLimited, TransientError
from sbwatch.core.lease import LEASE_NAME, Fence
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import NOT_APPLIED as NOT_APPLIED  # re-exported: the journal detail
from sbwatch.core.results import Intent, IntentState
from sbwatch.core.tiers import Tier, rank, spec
from sbwatch.store.base import JournalStore
from sbwatch.supabase.mgmt_api import Addons, ProjectInfo

IN_PROGRESS = frozenset({"RESIZING", "UPGRADING", "RESTARTING", "COMING_UP"})
"""Project statuses during which an unseen change may still be landing."""

COUNTED = frozenset(
    {IntentState.APPLIED, IntentState.FAILED, IntentState.RECOVERED, IntentState.UNRECOVERED}
)
"""Journal steps counted in ``sbwatch_escalations_total`` (with "busy" and "unknown", which
the journal does not hold)."""
log = get_logger("remediation")


class ComputeApi(Protocol):
    """The part of ``sbwatch.supabase.mgmt_api.ManagementApi`` the executor uses."""

    async def get_project(self, ref: str) -> ProjectInfo:
        """The project and its status."""
        ...

    async def get_addons(self, ref: str) -> Addons:
        """The compute size."""
        ...

    async def set_compute(self, ref: str, variant: str) -> None:
        """PATCH the compute size (never retried by the client)."""
        ...


def lock_name(ref: str) -> str:
    """The store lock that serialises every compute change of one project."""
    return f"escalation:{ref}"


def process_owner(role: str) -> str:
    """A lock owner naming this process: ``<role>@<host>:<pid>``."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}"


def dead_here(owner: str) -> bool:
    """Whether ``owner`` (see :func:`process_owner`) is a process of this host that is gone.

    Only a provably dead local process counts; another host, or no PID, is never judged.
    """
    head, _, pid = owner.rpartition(":")
    if not pid.isdigit() or head.rpartition("@")[2] != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


async def take_lock(
    store: JournalStore, name: str, owner: str, ttl_s: float, now: datetime
) -> bool:
    """Take a lock for ``owner``; from its holder too when that is a dead process of this
    host (the compute and the disk changes share ``lock_name``, so one way to take it)."""
    if await store.acquire_lock(name, owner, ttl_s, now):
        return True
    holder = await _dead_holder(store, name, now)
    if holder is None:
        return False
    taken = await store.acquire_lock(name, owner, ttl_s, now, replacing=holder)
    if taken:
        log.warning("lock taken from a dead process", lock=name, holder=holder)
    return taken


async def free_dead_lock(store: JournalStore, name: str, now: datetime) -> None:
    """Release a lock left by a process of this host that died holding it (killed between
    its last write and its release), so nobody waits out the lock's TTL for it."""
    holder = await _dead_holder(store, name, now)
    if holder is not None:
        await store.release_lock(name, holder)
        log.warning("lock released for a dead process", lock=name, holder=holder)


async def _dead_holder(store: JournalStore, name: str, now: datetime) -> str | None:
    """The lock's holder when it is a dead process of this host (None otherwise)."""
    holder = await store.lock_holder(name, now)
    return holder if holder is not None and dead_here(holder) else None


class Escalator:
    """Runs compute changes of projects through the journal and the shared lock."""

    def __init__(
        self,
        store: JournalStore,
        api: ComputeApi,
        *,
        clock: Clock,
        metrics: Metrics,
        owner: str,
        lock_ttl_s: float = 900,
        settle_s: float = 30.0,
        in_flight_s: float = 60.0,
        fence: Fence | None = None,
        on_intent: Callable[[Intent], Awaitable[None]] | None = None,
    ) -> None:
        """``in_flight_s``: how long after its intent a PATCH may still land.

        A request the provider received before its sender died or gave up can still be
        applied later; until an intent is this old, a change the add-ons do not show yet is
        not declared failed (that would invite a second PATCH once it lands).
        ``fence``: with high availability, only the leading instance writes the journal and
        PATCHes; its intents carry its epoch, and the store refuses them for a stale one.
        ``on_intent``: told of every step the journal records (the incident's timeline).
        """
        self._store = store
        self._api = api
        self._clock = clock
        self._metrics = metrics
        self._owner = owner
        self._lock_ttl_s = lock_ttl_s
        self._settle_s = settle_s
        self._in_flight_s = in_flight_s
        self._fence = fence
        self._on_intent = on_intent
        self._said: set[tuple[str, object]] = set()
        """What a repeated wait already said at info level (later repeats go to debug)."""
        self._counted: dict[int, IntentState] = {}
        """The state each intent was last counted in (each step is counted once)."""
        self._checked: set[str] = set()
        """Projects whose lock this process has checked for a dead holder."""

    def _acting(self) -> bool:
        return self._fence is None or self._fence.acting()

    async def _journal(
        self,
        intent: Intent,
        state: IntentState,
        detail: str = "",
        recovered_s: float | None = None,
        at: datetime | None = None,
    ) -> Intent:
        """Record an intent's next state in the journal, and tell whoever listens."""
        at = at or self._clock.now()
        done = await self._store.update_intent(intent.id, state, at, detail, recovered_s)
        self._tally(done)
        if self._on_intent is not None:
            await self._on_intent(done)
        return done

    async def _lock(self, name: str) -> bool:
        """Take the lock; from its holder too when that is a dead process of this host."""
        return await take_lock(self._store, name, self._owner, self._lock_ttl_s, self._clock.now())

    def _once(self, key: tuple[str, object], event: str, **fields: object) -> None:
        """A line that repeats each second while a state lasts: info the first time, debug
        after (``reconcile waits`` during a three-minute resize is one line, not 180)."""
        if key in self._said:
            log.debug(event, **fields)
            return
        self._said.add(key)
        log.info(event, **fields)

    async def reconcile(self, ref: str) -> list[Intent]:
        """Settle every OPEN intent of a project from the add-ons; return the unfinished ones.

        Runs under the project's lock, taken only when an OPEN intent waits (a change made
        meanwhile is checked under the lock by the escalation itself); while another process
        holds it (a change in flight), nothing is settled and the unfinished intents are
        returned as stored. The first reconcile of a project frees a lock that a killed
        process of this host left behind.
        """
        name = lock_name(ref)
        if ref not in self._checked and self._acting():
            await free_dead_lock(self._store, name, self._clock.now())
            self._checked.add(ref)
        unfinished = await self._store.unfinished_intents(ref)
        if not self._acting() or not any(i.state is IntentState.OPEN for i in unfinished):
            return unfinished
        if not await self._lock(name):
            self._once(("skipped", ref), "reconcile skipped", project=ref, reason="lock held")
            return unfinished
        self._said.discard(("skipped", ref))
        try:
            return await self._reconcile(ref)
        finally:
            await self._store.release_lock(name, self._owner)

    async def _reconcile(self, ref: str) -> list[Intent]:
        unfinished = await self._store.unfinished_intents(ref)
        if not any(i.state is IntentState.OPEN for i in unfinished):
            return unfinished
        try:
            addons = await self._api.get_addons(ref)
        except ApiError as exc:
            log.warning("reconcile postponed", project=ref, error=str(exc), transient=exc.transient)
            return unfinished
        settled = []
        for intent in unfinished:
            if intent.state is IntentState.OPEN:
                intent = await self._settle(intent, addons)
            settled.append(intent)
        return [i for i in settled if i.state in (IntentState.OPEN, IntentState.APPLIED)]

    async def _settle(self, intent: Intent, addons: Addons) -> Intent:
        """Mark one OPEN intent APPLIED or FAILED from what the provider shows (no PATCH)."""
        now = self._clock.now()
        if addons.compute_tier is intent.to_tier:
            detail = "found applied when reconciling"
            settled = await self._journal(intent, IntentState.APPLIED, detail, at=now)
        elif self._age_s(intent) < self._in_flight_s:
            self._once(
                ("in flight", intent.id),
                "reconcile waits",
                project=intent.project,
                intent=intent.id,
                reason="in flight",
            )
            return intent
        elif await self._in_progress(intent.project):
            self._once(
                ("resizing", intent.id),
                "reconcile waits",
                project=intent.project,
                intent=intent.id,
                reason="resizing",
            )
            return intent
        else:
            settled = await self._journal(intent, IntentState.FAILED, NOT_APPLIED, at=now)
        log.info(
            "intent reconciled", project=intent.project, intent=intent.id, state=str(settled.state)
        )
        return settled

    def _age_s(self, intent: Intent) -> float:
        """Seconds since the intent was written."""
        return (self._clock.now() - intent.created_at).total_seconds()

    async def _in_progress(self, ref: str) -> bool:
        """Whether the project is in the middle of a change (or we cannot tell)."""
        try:
            project = await self._api.get_project(ref)
        except ApiError:
            return True  # unknown: keep the intent OPEN rather than invite a second PATCH
        return project.status in IN_PROGRESS

    async def escalate(
        self, ref: str, from_tier: Tier, to_tier: Tier, reason: str, actor: str
    ) -> Intent:
        """Change the compute size once, under the lock, journalled before the PATCH.

        ``from_tier`` is the caller's view; the intent records the size the add-ons show.
        Raises LockBusy (lock held elsewhere), TransientError (an earlier intent is still
        unresolved), PermanentError (not an upgrade, or already that size) before any write.
        """
        variant = spec(to_tier).variant
        if variant is None or rank(to_tier) <= rank(from_tier):
            raise PermanentError(f"{from_tier} -> {to_tier} is not an escalation")
        name = lock_name(ref)
        if not self._acting():
            raise LockBusy("this instance is a standby: the leader escalates")
        if not await self._lock(name):
            self._count("busy")
            raise LockBusy(f"another sbwatch holds {name}")
        try:
            current = await self._preflight(ref, to_tier)
            epoch = None if self._fence is None else self._fence.epoch
            lease = LEASE_NAME if self._fence is None else self._fence.lease
            intent = await self._store.create_intent(
                ref, current, to_tier, reason, actor, self._clock.now(), epoch=epoch, lease=lease
            )
            log.info(
                "intent written",
                project=ref,
                intent=intent.id,
                to_tier=str(to_tier),
                actor=actor,
                epoch=epoch,
            )
            if not self._acting():  # stepped down since: the next leader reconciles it
                log.warning("escalation left to the leader", project=ref, intent=intent.id)
                return intent
            return await self._send(intent, variant)
        finally:
            await self._store.release_lock(name, self._owner)

    async def _preflight(self, ref: str, to_tier: Tier) -> Tier:
        """Reconcile first; refuse while an outcome is unknown or when already that big."""
        pending = await self._reconcile(ref)
        open_ = [i for i in pending if i.state is IntentState.OPEN]
        if open_:
            raise TransientError(f"intent #{open_[0].id} is still unresolved; not sending another")
        current = (await self._api.get_addons(ref)).compute_tier
        if rank(current) >= rank(to_tier):
            raise PermanentError(f"{ref} is already {current}; nothing to raise")
        return current

    async def _send(self, intent: Intent, variant: str) -> Intent:
        """The one PATCH of this intent, and what became of it."""
        try:
            await self._api.set_compute(intent.project, variant)
        except ApiError as exc:
            if not exc.transient:
                log.warning(
                    "escalation refused", project=intent.project, intent=intent.id, error=str(exc)
                )
                return await self._journal(intent, IntentState.FAILED, f"refused: {exc}")
            return await self._unknown_outcome(intent, exc)
        log.info("escalation applied", project=intent.project, intent=intent.id)
        return await self._journal(intent, IntentState.APPLIED)

    async def _unknown_outcome(self, intent: Intent, exc: ApiError) -> Intent:
        """A timeout, 5xx or 429: the change may or may not have landed; ask, never resend."""
        wait = max(
            self._settle_s,
            exc.retry_after_s or 0.0,  # the rate limit's reset, or a 5xx's Retry-After
            self._in_flight_s - self._age_s(intent),
        )
        log.warning(
            "escalation outcome unknown",
            project=intent.project,
            intent=intent.id,
            error=str(exc),
            wait_s=wait,
        )
        await self._clock.sleep(wait)
        for found in await self._reconcile(intent.project):
            if found.id == intent.id:
                if found.state is IntentState.OPEN:
                    self._count("unknown")
                return found
        return await self._current(intent)

    async def _current(self, intent: Intent) -> Intent:
        """The stored version of an intent."""
        for found in await self._store.intents(intent.project):
            if found.id == intent.id:
                return found
        return intent

    async def verify(
        self,
        intent: Intent,
        healthy: Callable[[], Awaitable[bool]],
        *,
        timeout_s: float,
        poll_s: float = 10,
    ) -> Intent:
        """Wait until the new size shows and ``healthy()``; record RECOVERED or UNRECOVERED."""
        if intent.state is not IntentState.APPLIED:
            return intent
        while True:
            if await self._shows(intent) and await healthy():
                return await self._finish(intent, IntentState.RECOVERED)
            if (self._clock.now() - intent.created_at).total_seconds() >= timeout_s:
                return await self._finish(intent, IntentState.UNRECOVERED)
            await self._clock.sleep(poll_s)

    async def check_recovery(
        self, intent: Intent, *, shows: bool, healthy: bool, timeout_s: float
    ) -> Intent:
        """One verification step without waiting: RECOVERED, UNRECOVERED or unchanged."""
        if intent.state is not IntentState.APPLIED:
            return intent
        if shows and healthy:
            return await self._finish(intent, IntentState.RECOVERED)
        if (self._clock.now() - intent.created_at).total_seconds() >= timeout_s:
            return await self._finish(intent, IntentState.UNRECOVERED)
        return intent

    async def _shows(self, intent: Intent) -> bool:
        """Whether the add-ons show the intent's size (False when the API cannot say)."""
        try:
            return (await self._api.get_addons(intent.project)).compute_tier is intent.to_tier
        except RateLimited as exc:
            await self._clock.sleep(exc.retry_after_s)
        except ApiError as exc:
            log.info("verify poll failed", project=intent.project, intent=intent.id, error=str(exc))
        return False

    async def _finish(self, intent: Intent, state: IntentState) -> Intent:
        """Record the end of a verification once (another verifier may have finished first)."""
        stored = await self._current(intent)
        if stored.state is not IntentState.APPLIED:
            return stored
        now = self._clock.now()
        elapsed = (now - intent.created_at).total_seconds()
        if state is IntentState.RECOVERED:
            done = await self._journal(intent, state, recovered_s=elapsed, at=now)
        else:
            done = await self._journal(
                intent, state, f"not healthy {elapsed:.0f}s after the change", at=now
            )
        log.info("escalation verified", project=intent.project, intent=intent.id, state=str(state))
        return done

    def _count(self, outcome: str) -> None:
        self._metrics.escalations.labels(outcome).inc()

    def observe(self, journal: Sequence[Intent], *, count: bool = True) -> None:
        """Count the journal's steps this process has not counted yet, whoever made them (a
        person's ``sbwatch escalate`` too); ``count=False`` only takes note (the history a
        daemon finds when it starts is not counted as new)."""
        for intent in journal:
            if count:
                self._tally(intent)
            else:
                self._counted[intent.id] = intent.state

    def _tally(self, intent: Intent) -> None:
        """Count one journal step once: its outcome, and the recovery time of a recovery."""
        if intent.state not in COUNTED or self._counted.get(intent.id) is intent.state:
            return
        self._counted[intent.id] = intent.state
        self._count(str(intent.state))
        if intent.state is IntentState.RECOVERED and intent.recovered_s is not None:
            self._metrics.recovery.observe(intent.recovered_s)
