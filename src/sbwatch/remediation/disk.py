"""Disk changes: journal first, one ``POST .../config/disk`` per intent, reconciled by a GET.

The same discipline as compute changes (remediation/executor.py), under the same lock (one
change of a project at a time, whoever asks): the OPEN intent is durable in the store before
the POST is sent; its outcome is APPLIED (201, or the disk found at the asked size) or FAILED
(refused; or not applied once it can no longer land). An intent whose outcome is unknown
(timeout, 5xx, 429, a crash) stays OPEN until ``GET .../config/disk`` settles it; a POST is
never sent twice for the same intent.

The journal and the changes seen (``last_modified_at`` of each disk change, for the quota of
four a day) are JSON documents of the store's ``disk`` namespace.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from sbwatch.core.clock import Clock
from sbwatch.core.errors import ApiError, LockBusy, PermanentError, TransientError
from sbwatch.core.lease import Fence
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import NOT_APPLIED, IntentState
from sbwatch.policy.disk import quota
from sbwatch.remediation.disk_journal import (
    KEEP_INTENTS,
    NAMESPACE,
    DiskIntent,
    changes_seen,
    disk_intents,
    note_change,
)
from sbwatch.remediation.executor import lock_name, take_lock
from sbwatch.store.base import Store
from sbwatch.supabase.mgmt_api import DiskConfig

log = get_logger("remediation.disk")


class DiskApi(Protocol):
    """The part of the Management API client disk changes use."""

    async def get_disk(self, ref: str) -> DiskConfig:
        """The disk's attributes and when it last changed."""
        ...

    async def set_disk(self, ref: str, attributes: dict[str, Any]) -> None:
        """POST a disk change (never retried by the client)."""
        ...


class DiskChanger:
    """Grows project disks through the journal and the project's change lock."""

    def __init__(
        self,
        store: Store,
        api: DiskApi,
        *,
        clock: Clock,
        metrics: Metrics,
        owner: str,
        lock_ttl_s: float = 900,
        settle_s: float = 30.0,
        in_flight_s: float = 60.0,
        fence: Fence | None = None,
    ) -> None:
        self._store = store
        self._api = api
        self._clock = clock
        self._metrics = metrics
        self._owner = owner
        self._lock_ttl_s = lock_ttl_s
        self._settle_s = settle_s
        self._in_flight_s = in_flight_s
        self._fence = fence

    def _acting(self) -> bool:
        return self._fence is None or self._fence.acting()

    async def _lock(self, name: str) -> bool:
        return await take_lock(self._store, name, self._owner, self._lock_ttl_s, self._clock.now())

    async def reconcile(self, ref: str) -> list[DiskIntent]:
        """Settle OPEN intents from the disk the provider shows; the ones still OPEN (the
        project's lock is taken only when one waits)."""
        waiting = [i for i in await disk_intents(self._store, ref) if i.state is IntentState.OPEN]
        if not waiting or not self._acting() or not await self._lock(lock_name(ref)):
            return waiting
        try:
            return await self._reconcile(ref)
        finally:
            await self._store.release_lock(lock_name(ref), self._owner)

    async def _reconcile(self, ref: str) -> list[DiskIntent]:
        open_ = [i for i in await disk_intents(self._store, ref) if i.state is IntentState.OPEN]
        if not open_:
            return []
        try:
            disk = await self._api.get_disk(ref)
        except ApiError as exc:
            log.warning("disk reconcile postponed", project=ref, error=str(exc))
            return open_
        await note_change(self._store, ref, disk.last_modified_at, self._clock.now())
        left = []
        for intent in open_:
            now = self._clock.now()
            if disk.size_gb >= intent.to_gb:
                intent = await self._update(intent, IntentState.APPLIED, "found applied")
                self._count("applied")
            elif (now - intent.created_at).total_seconds() < self._in_flight_s:
                left.append(intent)
                continue
            else:
                intent = await self._update(intent, IntentState.FAILED, NOT_APPLIED)
                self._count("failed")
            log.info("disk intent reconciled", project=ref, intent=intent.id, state=intent.state)
        return left

    async def grow(self, ref: str, to_gb: int, reason: str, actor: str) -> DiskIntent:
        """Grow the disk once, under the lock, journalled before the POST.

        Raises LockBusy (lock held elsewhere, or a standby), TransientError (an earlier intent
        unresolved), PermanentError (not larger, or the quota of changes spent) before any
        write.
        """
        name = lock_name(ref)
        if not self._acting():
            raise LockBusy("this instance is a standby: the leader changes the disk")
        if not await self._lock(name):
            self._count("busy")
            raise LockBusy(f"another sbwatch holds {name}")
        try:
            disk = await self._preflight(ref, to_gb)
            intent = await self._create(ref, disk.size_gb, to_gb, reason, actor)
            log.info("disk intent written", project=ref, intent=intent.id, to_gb=to_gb)
            if not self._acting():
                return intent
            return await self._send(intent, disk)
        finally:
            await self._store.release_lock(name, self._owner)

    async def _preflight(self, ref: str, to_gb: int) -> DiskConfig:
        if await self._reconcile(ref):
            raise TransientError("a disk change is still unresolved; not sending another")
        disk = await self._api.get_disk(ref)
        now = self._clock.now()
        await note_change(self._store, ref, disk.last_modified_at, now)
        if disk.size_gb >= to_gb:
            raise PermanentError(f"the disk is already {disk.size_gb} GB; nothing to grow")
        q = quota(await changes_seen(self._store, ref), now)
        if q.spent:
            frees = "" if q.frees_at is None else f"; the next is allowed at {q.frees_at:%H:%M} UTC"
            raise PermanentError(f"the quota of {q.used} disk changes in 24 h is spent{frees}")
        return disk

    async def _send(self, intent: DiskIntent, disk: DiskConfig) -> DiskIntent:
        try:
            await self._api.set_disk(intent.project, disk.attributes(intent.to_gb))
        except ApiError as exc:
            if not exc.transient:
                self._count("failed")
                log.warning("disk change refused", project=intent.project, error=str(exc))
                return await self._update(intent, IntentState.FAILED, f"refused: {exc}")
            return await self._unknown(intent, exc)
        self._count("applied")
        log.info("disk change applied", project=intent.project, intent=intent.id)
        done = await self._update(intent, IntentState.APPLIED)
        try:  # the change counts toward the quota: keep the provider's own time of it
            after = await self._api.get_disk(intent.project)
        except ApiError:
            return done
        await note_change(self._store, intent.project, after.last_modified_at, self._clock.now())
        return done

    async def _unknown(self, intent: DiskIntent, exc: ApiError) -> DiskIntent:
        """A timeout, 5xx or 429: it may have landed; ask with a GET, never POST again."""
        age = (self._clock.now() - intent.created_at).total_seconds()
        wait = max(self._settle_s, exc.retry_after_s or 0.0, self._in_flight_s - age)
        log.warning("disk change outcome unknown", project=intent.project, error=str(exc))
        await self._clock.sleep(wait)
        await self._reconcile(intent.project)
        for found in await disk_intents(self._store, intent.project):
            if found.id == intent.id:
                return found
        return intent

    async def _create(
        self, ref: str, from_gb: int, to_gb: int, reason: str, actor: str
    ) -> DiskIntent:
        """Append an OPEN intent to the journal, the entries before it kept as stored (the
        journal stays a dict: see :func:`~sbwatch.remediation.disk_journal.disk_intents`)."""
        doc = await self._store.get_state(NAMESPACE, f"intents:{ref}") or {}
        items = list(doc.get("intents", []))
        number = int(doc.get("next_id", 1))
        now = self._clock.now()
        intent = DiskIntent(number, ref, from_gb, to_gb, reason, actor, now, IntentState.OPEN, now)
        items = [*items, intent.to_dict()][-KEEP_INTENTS:]
        await self._store.put_state(
            NAMESPACE, f"intents:{ref}", {"next_id": number + 1, "intents": items}
        )
        return intent

    async def _update(self, intent: DiskIntent, state: IntentState, detail: str = "") -> DiskIntent:
        """Settle one intent in place: the other entries and keys are kept as stored."""
        doc = await self._store.get_state(NAMESPACE, f"intents:{intent.project}") or {}
        done = replace(intent, state=state, updated_at=self._clock.now(), detail=detail)
        items = [
            done.to_dict() if item.get("id") == intent.id else item
            for item in doc.get("intents", [])
        ]
        await self._store.put_state(
            NAMESPACE, f"intents:{intent.project}", {**doc, "intents": items}
        )
        return done

    def _count(self, outcome: str) -> None:
        self._metrics.disk_changes.labels(outcome).inc()
