"""The daemon's backup job: metrics from the files, a restore check when due, health notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from sbwatch.backup.job import BackupJob
from sbwatch.core.clock import VirtualClock
from sbwatch.core.cron import cron_trigger, previous_fire
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import Severity
from sbwatch.daemon.backups import schedule_backups
from sbwatch.daemon.scheduler import Scheduler
from sbwatch.store.sqlite import SqliteStore

from .conftest import REF, Database, complete_backups, make_project

pytestmark = pytest.mark.integration
DUE = datetime(2026, 5, 20, 3, 30, tzinfo=UTC)


class Notices:
    """Collects the job's notices."""

    def __init__(self) -> None:
        self.seen: list[tuple[Severity, str]] = []

    async def __call__(self, severity: Severity, title: str, body: str) -> None:
        """Record one."""
        self.seen.append((severity, title))


def _job(
    project: Any, store: SqliteStore, clock: VirtualClock, notices: Notices, **kw: Any
) -> BackupJob:
    """A job with a full budget and the project's daily 03:30 UTC schedule."""
    trigger = cron_trigger(project.backup.schedule, "UTC")
    return BackupJob(
        project,
        clock=clock,
        metrics=kw.get("metrics") or Metrics(),
        store=store,
        budget=lambda: (None, None),
        notify=notices,
        last_fire=lambda now: previous_fire(trigger, now),
    )


def _value(metrics: Metrics, name: str) -> float | None:
    """One sample of the project."""
    return metrics.registry.get_sample_value(name, {"project": REF})


async def test_a_run_exports_metrics_and_verifies(
    small_db: Database, tmp_path: Path, store: SqliteStore
) -> None:
    """After the scheduled run: the four gauges, and a restore check (never done before)."""
    clock, metrics, notices = VirtualClock(DUE), Metrics(), Notices()
    project = make_project(small_db.dsn, tmp_path, timezone="UTC")
    job = _job(project, store, clock, notices, metrics=metrics)
    await job.due()
    await job.check()
    size = (tmp_path / REF / "2026-05-20.tar.gz").stat().st_size
    assert DUE.timestamp() == _value(metrics, "sbwatch_backup_last_success_timestamp_seconds")
    assert (size, 1.0) == (
        _value(metrics, "sbwatch_backup_bytes"),
        _value(metrics, "sbwatch_backup_verify_ok"),
    )
    assert 0 < (_value(metrics, "sbwatch_backup_duration_seconds") or 0) < 60
    assert [] == notices.seen


async def test_a_missed_run_is_caught_up_at_start(
    small_db: Database, tmp_path: Path, store: SqliteStore
) -> None:
    """Started at 10:00 with no backup since yesterday: the check logs the catch-up and runs
    today's at once."""
    clock, notices = VirtualClock(DUE.replace(hour=10)), Notices()
    project = make_project(small_db.dsn, tmp_path, timezone="UTC", verify="never")
    job = _job(project, store, clock, notices)
    with capture_logs() as logs:
        await job.check()
    assert ["2026-05-20.tar.gz"] == complete_backups(tmp_path / REF)
    said = [e for e in logs if e["event"] == "backup catching up"]
    assert [(DUE.isoformat(), None)] == [(e["missed"], e["last"]) for e in said]
    await job.check()
    assert job.due_since is None


async def test_no_catch_up_when_today_is_done(
    small_db: Database, tmp_path: Path, store: SqliteStore
) -> None:
    """A restart after today's backup does not run it again."""
    project = make_project(small_db.dsn, tmp_path, timezone="UTC", verify="never")
    first = _job(project, store, VirtualClock(DUE), Notices())
    await first.due()
    later = _job(project, store, VirtualClock(DUE + timedelta(hours=2)), Notices())
    await later.check()
    assert (None, DUE) == (later.due_since, later.handled_fire)
    assert DUE == (await later.newest()).manifest.created_at  # type: ignore[union-attr]  # one exists


async def test_a_stale_backup_is_announced_once_then_the_recovery(
    small_db: Database, tmp_path: Path, store: SqliteStore
) -> None:
    """Older than 26 h: one warning (not again after a restart); a new backup: back in order."""
    clock, notices = VirtualClock(DUE), Notices()
    project = make_project(small_db.dsn, tmp_path, timezone="UTC", verify="never")
    job = _job(project, store, clock, notices)
    await job.due()
    clock.advance(27 * 3600)
    job.handled_fire = clock.now()  # the schedule has fired but the run did not happen
    await job.check()
    again = _job(project, store, clock, notices)
    again.handled_fire = clock.now()
    await again.check()
    assert [(Severity.WARNING, "no backup for more than 1d2h")] == notices.seen
    await again.due()
    await again.check()
    assert (Severity.INFO, "backups are in order again") == notices.seen[-1]


async def test_a_failed_restore_check_is_announced(
    small_db: Database, tmp_path: Path, store: SqliteStore
) -> None:
    """A restore check that cannot reach its scratch server: verify_ok 0 and a notice."""
    clock, metrics, notices = VirtualClock(DUE), Metrics(), Notices()
    project = make_project(
        small_db.dsn, tmp_path, timezone="UTC", verify_dsn="postgresql://postgres@127.0.0.1:9/x"
    )
    job = _job(project, store, clock, notices, metrics=metrics)
    await job.due()
    await job.check()
    assert 0.0 == _value(metrics, "sbwatch_backup_verify_ok")
    assert [(Severity.WARNING, "backup restore check failed")] == notices.seen


async def test_a_failed_run_is_announced(tmp_path: Path, store: SqliteStore) -> None:
    """A database nobody listens on: the run fails, the notice names the cause."""
    clock, notices = VirtualClock(DUE), Notices()
    project = make_project("postgresql://postgres@127.0.0.1:9/x", tmp_path, defer_max="0s")
    job = _job(project, store, clock, notices)
    await job.due()
    await job.check()
    assert 1 == len(notices.seen)
    assert notices.seen[0][1].startswith("backup failed: cannot connect to the project database")


async def test_a_failed_run_is_retried_until_defer_max(tmp_path: Path, store: SqliteStore) -> None:
    """An unreachable database: retried at each check from the same due time, given up at 1 h."""
    clock, notices = VirtualClock(DUE), Notices()
    project = make_project("postgresql://postgres@127.0.0.1:9/x", tmp_path, defer_max="1h")
    job = _job(project, store, clock, notices)
    await job.due()
    clock.advance(30 * 60)
    await job.check()
    assert DUE == job.due_since
    clock.advance(31 * 60)
    await job.check()
    assert job.due_since is None


class _Watcher:
    """The parts of a watcher the schedule uses."""

    def __init__(self, projects: list[Any], store: SqliteStore) -> None:
        self.settings = type("S", (), {"projects": projects})()
        self.projects = {p.ref: object() for p in projects}
        self.clock = VirtualClock(DUE)
        self.metrics = Metrics()
        self.store = store
        self.announcer = None


def test_the_schedule_holds_a_cron_job_and_a_check(tmp_path: Path, store: SqliteStore) -> None:
    """One cron job and one check per project that backs up; none for the others."""
    project = make_project("postgresql://postgres@127.0.0.1/x", tmp_path)
    scheduler = Scheduler(VirtualClock(DUE))
    jobs = schedule_backups(scheduler, _Watcher([project], store))  # type: ignore[arg-type]  # a stand-in
    assert [f"backup-check:{REF}", f"backup:{REF}"] == scheduler.job_names()
    assert [REF] == [job.ref for job in jobs]


def test_a_backup_is_expected_from_the_start(tmp_path: Path, store: SqliteStore) -> None:
    """A project that backs up exports when its backups began to be expected, so the rules
    can say so of one that never succeeded (it has no last success)."""
    project = make_project("postgresql://postgres@127.0.0.1/x", tmp_path)
    watcher = _Watcher([project], store)
    schedule_backups(Scheduler(VirtualClock(DUE)), watcher)  # type: ignore[arg-type]  # a stand-in
    assert DUE.timestamp() == _value(
        watcher.metrics, "sbwatch_backup_expected_since_timestamp_seconds"
    )
    assert _value(watcher.metrics, "sbwatch_backup_last_success_timestamp_seconds") is None


async def test_a_restart_keeps_counting_from_the_first_expectation(
    tmp_path: Path, store: SqliteStore
) -> None:
    """A project whose backup never succeeded (its database unreachable): a daemon restarted
    a day later still exports the first start as the time backups were expected, so the
    26-hour rule is not reset by every restart."""
    project = make_project("postgresql://postgres@127.0.0.1:9/x", tmp_path)
    first, metrics = VirtualClock(DUE), Metrics()
    await _job(project, store, first, Notices(), metrics=metrics).check()
    later, again = VirtualClock(DUE + timedelta(hours=25)), Metrics()
    restarted = _job(project, store, later, Notices(), metrics=again)
    await restarted.check()
    name = "sbwatch_backup_expected_since_timestamp_seconds"
    assert (DUE.timestamp(), DUE.timestamp(), DUE) == (
        _value(metrics, name),
        _value(again, name),
        restarted.started_at,
    )
