"""The backups in the daemon's schedule: a cron job and a check for each project that backs up.

The job itself (``sbwatch.backup.job``) knows nothing of the daemon or the watcher: it is
handed the clock, the metrics and the store, and as functions the project's budget, the way to
announce and the last scheduled run, all built here from the watcher.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sbwatch.backup.job import CHECK_EVERY_S, BackupJob
from sbwatch.core.cron import cron_trigger, previous_fire
from sbwatch.core.results import BudgetEstimate, DiagnosisKind, Severity
from sbwatch.core.subjects import Subject
from sbwatch.daemon.scheduler import JobName, Scheduler
from sbwatch.watch.watcher import Watcher


def schedule_backups(scheduler: Scheduler, watcher: Watcher) -> list[BackupJob]:
    """A cron job and a check every few minutes for each project that backs up."""
    jobs = []
    for project in watcher.settings.projects:
        if not project.backs_up or project.backup is None:
            continue
        trigger = cron_trigger(project.backup.schedule, project.backup.timezone)

        # The project is looked up at each call: a project that moves between instances is
        # started afresh, in a new runtime.
        def budget(ref: str = project.ref) -> tuple[BudgetEstimate | None, DiagnosisKind | None]:
            view = watcher.projects[ref]
            return view.budget, view.diagnosis.kind if view.diagnosis else None

        async def notify(severity: Severity, title: str, body: str, ref: str = project.ref) -> None:
            await watcher.notice(ref, severity, title, body, subject=Subject.BACKUP)

        def last_fire(now: datetime, t: Any = trigger) -> datetime | None:
            return previous_fire(t, now)

        job = BackupJob(
            project,
            clock=watcher.clock,
            metrics=watcher.metrics,
            store=watcher.store,
            budget=budget,
            notify=notify,
            last_fire=last_fire,
        )
        scheduler.cron(JobName("backup", (project.ref,)), trigger, job.due)
        scheduler.every(JobName("backup-check", (project.ref,)), CHECK_EVERY_S, job.check)
        jobs.append(job)
    return jobs
