"""The daemon's backup job: on schedule, deferred while the IO budget is short, then checked.

The schedule marks a backup due; every few minutes :meth:`BackupJob.check` retries a deferred
one, catches up on a run the daemon was not up for, exports the metrics from the files on disk
and says when the project's backups go wrong (stale, failed, restore check failed) or recover.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sbwatch.alerting.words import BACKUP_SKIPPED_TITLE, backup_message, backup_skipped_body
from sbwatch.backup import archive
from sbwatch.backup.manifest import Manifest
from sbwatch.backup.service import project_dir, run_backup
from sbwatch.backup.verify import verify_backup
from sbwatch.config.settings import ProjectSettings
from sbwatch.core.clock import Clock
from sbwatch.core.durations import format_duration
from sbwatch.core.errors import BackupError, StoreError
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import BudgetEstimate, DiagnosisKind, Severity
from sbwatch.policy.backup import BackupHealth, Deferral, Gate, backup_health, should_defer
from sbwatch.store.base import StateStore
from sbwatch.store.docs import Slot, Stamp, slot

CHECK_EVERY_S = 300.0
"""How often a deferred backup asks again, and how often the files are looked at."""
STATE_NAMESPACE = "backup"
BudgetView = Callable[[], tuple[BudgetEstimate | None, DiagnosisKind | None]]
Notify = Callable[[Severity, str, str], Awaitable[None]]
LastFire = Callable[[datetime], datetime | None]


@dataclass(frozen=True)
class Newest:
    """The newest complete backup and the last restore check, as read from disk."""

    backup: archive.StoredBackup | None
    manifest: Manifest | None
    verify: dict[str, Any] | None


class BackupJob:
    """Runs, defers, verifies and watches the backups of one project."""

    def __init__(
        self,
        project: ProjectSettings,
        *,
        clock: Clock,
        metrics: Metrics,
        store: StateStore,
        budget: BudgetView,
        notify: Notify,
        last_fire: LastFire,
    ) -> None:
        assert project.backup is not None  # scheduled only for projects that back up
        self.project = project
        self.settings = project.backup
        self.clock = clock
        self.metrics = metrics
        self.store = store
        self.budget = budget
        self.notify = notify
        self.last_fire = last_fire
        self.due_since: datetime | None = None
        self.handled_fire: datetime | None = None
        self.last_error: str | None = None
        self.verify_error: str | None = None
        self.started_at = clock.now()
        """When backups of this project began to be expected: this start, until the store
        says an earlier one did (see ``_expected_since``)."""
        self._since_known = False
        # A backup that never succeeded has no last success: the rules count from here.
        metrics.backup_expected_since.labels(self.ref).set(self.started_at.timestamp())
        self._log = get_logger("backup")

    @property
    def ref(self) -> str:
        """The project ref."""
        return self.project.ref

    async def due(self) -> None:
        """The schedule fired: the backup is due from now."""
        now = self.clock.now()
        self.handled_fire = now
        self.due_since = self.due_since or now
        await self.attempt()

    async def check(self) -> None:
        """Catch up, retry a deferred backup, export the metrics, say what changed."""
        newest = await self.newest()
        await self._expected_since()
        self._catch_up(newest)
        if self.due_since is not None:
            await self.attempt()
            newest = await self.newest()
        self._export(newest)
        await self._announce(newest)

    async def _expected_since(self) -> None:
        """Since when this project's backups are expected, kept in the state store: a daemon
        restarted every day still says, 26 hours after the first start that expected them,
        that none ever succeeded (the metric and its own alert count from then)."""
        if self._since_known:
            return
        expected = slot(STATE_NAMESPACE, f"expected_since:{self.ref}", Stamp)
        try:
            stored = await expected.read(self.store)
            if stored is None:
                await expected.write(self.store, Stamp(self.started_at))
        except StoreError:  # the store is away: this start counts until it is back
            return
        if stored is not None:
            self.started_at = min(self.started_at, stored.at)
        self.metrics.backup_expected_since.labels(self.ref).set(self.started_at.timestamp())
        self._since_known = True

    def _catch_up(self, newest: Newest) -> None:
        """A scheduled time passed without a backup (the daemon was down): it is due."""
        fire = self.last_fire(self.clock.now())
        if fire is None or self.due_since is not None:
            return
        if self.handled_fire is not None and self.handled_fire >= fire:
            return
        self.handled_fire = fire
        if newest.manifest is None or newest.manifest.created_at < fire:
            self.due_since = fire
            last = None if newest.manifest is None else newest.manifest.created_at.isoformat()
            self._log.info(
                "backup catching up", project=self.ref, missed=fire.isoformat(), last=last
            )

    def gate(self) -> Deferral:
        """Whether the due backup may run now, from the project's budget and diagnosis."""
        assert self.due_since is not None
        budget, diagnosis = self.budget()
        return should_defer(
            budget,
            diagnosis,
            due_at=self.due_since,
            now=self.clock.now(),
            defer_max=self.settings.defer_max,
            low_ratio=self.project.budget.low_ratio,
            horizon=self.project.budget.warn_horizon,
        )

    async def attempt(self) -> Gate | None:
        """Run the due backup unless the budget says wait; None when nothing is due."""
        if self.due_since is None:
            return None
        due_at, decision = self.due_since, self.gate()
        reason = decision.reason.value if decision.reason else None
        waited = format_duration(decision.waited_s)
        if decision.gate is Gate.DEFER:
            self._log.info("backup deferred", project=self.ref, reason=reason, waited=waited)
            return decision.gate
        self.due_since = None
        if decision.gate is Gate.SKIP:
            self._log.warning("backup skipped", project=self.ref, reason=reason, waited=waited)
            await self.notify(
                Severity.WARNING, BACKUP_SKIPPED_TITLE, backup_skipped_body(decision.waited_s)
            )
            return decision.gate
        if reason is not None:
            self._log.info("backup running late", project=self.ref, reason=reason, waited=waited)
        await self._run(decision, due_at)
        return decision.gate

    async def _run(self, decision: Deferral, due_at: datetime) -> None:
        now = self.clock.now()
        try:
            outcome = await run_backup(self.project, now)
        except BackupError as exc:
            self.last_error = str(exc)
            self._log.warning(
                "backup failed", project=self.ref, error=str(exc), transient=exc.transient
            )
            if exc.transient and decision.waited_s < self.settings.defer_max.total_seconds():
                self.due_since = due_at  # retried at the next check, within defer_max
            return
        self.last_error = None
        self._log.info("backup finished", project=self.ref, **outcome.to_dict())
        if self._verify_due(await self.newest(), now):
            await self.verify(now)

    def _verify_due(self, newest: Newest, now: datetime) -> bool:
        every = self.settings.verify
        if every is None:
            return False
        record = newest.verify
        if record is None or not record.get("ok"):
            return True
        return now - datetime.fromisoformat(str(record["at"])) >= every

    async def verify(self, now: datetime) -> None:
        """Restore the newest backup into the scratch database and record how it compared."""
        try:
            report = await verify_backup(self.project, now)
        except BackupError as exc:
            self.verify_error = str(exc)
            self._log.warning("backup verify failed", project=self.ref, error=str(exc))
            return
        self.verify_error = None if report.ok else report.summary()
        log = self._log.info if report.ok else self._log.warning
        log("backup verified", project=self.ref, **report.to_dict())

    async def newest(self) -> Newest:
        """The newest backup, its manifest, and the most recent restore check on disk."""
        return await asyncio.to_thread(_read_newest, project_dir(self.project))

    def _export(self, newest: Newest) -> None:
        ref = self.ref
        if newest.backup is not None and newest.manifest is not None:
            self.metrics.backup_last_success.labels(ref).set(newest.manifest.created_at.timestamp())
            self.metrics.backup_bytes.labels(ref).set(newest.backup.size)
            self.metrics.backup_duration.labels(ref).set(newest.manifest.duration_s)
        ok = self._verify_ok(newest)
        if ok is not None:
            self.metrics.backup_verify_ok.labels(ref).set(1.0 if ok else 0.0)

    def _verify_ok(self, newest: Newest) -> bool | None:
        if self.verify_error is not None:
            return False
        return None if newest.verify is None else bool(newest.verify.get("ok"))

    def health(self, newest: Newest) -> BackupHealth:
        """The state of this project's backups now."""
        return backup_health(
            newest.manifest.created_at if newest.manifest else None,
            self._verify_ok(newest),
            self.last_error is not None,
            now=self.clock.now(),
            max_age=self.settings.max_age,
            watching_since=self.started_at,
        )

    async def _announce(self, newest: Newest) -> None:
        """A notice when the health changes (remembered across restarts)."""
        health = self.health(newest)
        said = health_slot(self.ref)
        previous = await said.read(self.store) or BackupHealth.OK
        if health is previous:
            return
        await said.write(self.store, health)
        self._log.info("backup health changed", project=self.ref, health=health.value)
        severity = Severity.INFO if health is BackupHealth.OK else Severity.WARNING
        await self.notify(severity, *self._message(health, newest))

    def _message(self, health: BackupHealth, newest: Newest) -> tuple[str, str]:
        made = newest.manifest.created_at if newest.manifest else None
        name = newest.backup.name if newest.backup else None
        if health is BackupHealth.VERIFY_FAILED:
            why = self.verify_error or (newest.verify or {}).get("detail") or "rows differ"
        elif health is BackupHealth.FAILED:
            why = f"{self.last_error}"
        else:
            why = self.last_error or ""
        return backup_message(health, name, made, why, self.settings.max_age.total_seconds())


def health_slot(ref: str) -> Slot[BackupHealth]:
    """Where a project's backup health last said is kept, as ``{"health": "ok"}``."""
    return Slot(
        STATE_NAMESPACE,
        f"health:{ref}",
        lambda doc: BackupHealth(doc["health"]),
        lambda health: {"health": health.value},
    )


def _read_newest(directory: Any) -> Newest:
    backups = archive.stored(directory)
    if not backups:
        return Newest(None, None, None)
    newest = backups[-1]
    try:
        manifest = archive.read_manifest(newest.path)
    except BackupError:
        manifest = None
    checked = []
    for backup in backups:
        record = archive.read_verify(backup, None)
        if record is not None:
            checked.append((str(record.get("at", "")), backup, record))
    verify = None
    if checked:
        _, backup, record = max(checked, key=lambda item: item[0])
        digest = manifest.checksum if backup is newest and manifest else None
        verify = record if digest is None or record.get("checksum") == digest else None
    return Newest(newest, manifest, verify)
