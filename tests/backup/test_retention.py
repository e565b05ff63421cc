"""Retention removes old backups only once newer ones exist, and never the last good one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from sbwatch.backup import archive
from sbwatch.backup.manifest import Manifest, checksum
from sbwatch.backup.retention import Kept, expired
from sbwatch.backup.service import prune, run_backup
from sbwatch.config.settings import BackupSettings

from .conftest import REF, Database, make_project

TODAY = date(2026, 5, 20)
THIRTY = timedelta(days=30)


def _kept(days_ago: int, verified: bool | None = None) -> Kept:
    """A backup taken ``days_ago`` days before TODAY."""
    day = TODAY - timedelta(days=days_ago)
    return Kept(day.isoformat(), day, verified)


def _names(items: list[Kept]) -> list[str]:
    """Their names."""
    return [k.name for k in items]


def test_the_last_thirty_days_stay() -> None:
    """With 30 days, day 30 and older go; days 0..29 stay."""
    backups = [_kept(n) for n in range(35)]
    expected = _names([_kept(n) for n in range(34, 29, -1)])
    assert expected == _names(expired(backups, TODAY, THIRTY))


def test_the_newest_stays_however_old() -> None:
    """A lone old backup (the job stopped running) is never removed: no newer one exists."""
    backups = [_kept(90), _kept(60)]
    assert ["2026-02-19"] == _names(expired(backups, TODAY, THIRTY))


def test_the_last_good_one_stays() -> None:
    """When every newer restore check failed, the last backup that restored stays."""
    backups = [_kept(50, True), _kept(45, True), _kept(40, False), _kept(1, False), _kept(0, None)]
    assert ["2026-03-31", "2026-04-10"] == _names(expired(backups, TODAY, THIRTY))


def test_nothing_to_remove_from_nothing() -> None:
    """No backups, nothing expires."""
    assert [] == expired([], TODAY, THIRTY)


def _fabricate(directory: Path, day: date, verified: bool | None) -> archive.StoredBackup:
    """A packed backup of ``day`` with a restore check recorded as ``verified``."""
    dump = directory / f"dump-{day}"
    dump.write_bytes(day.isoformat().encode())
    manifest = Manifest(
        project=REF,
        created_at=datetime(day.year, day.month, day.day, 3, 30, tzinfo=UTC),
        server_version="15.8",
        pg_dump_version="15.8",
        format="custom",
        schemas=["public"],
        checksum=checksum(dump),
        dump_bytes=10,
        duration_s=0.1,
    )
    archive.pack(dump, manifest, directory / archive.archive_name(day))
    dump.unlink()
    backup = next(b for b in archive.stored(directory) if b.day == day)
    if verified is not None:
        archive.write_verify(backup, {"ok": verified, "checksum": manifest.checksum, "at": "x"})
    return backup


def test_prune_on_disk_keeps_the_last_verified(tmp_path: Path) -> None:
    """On disk: old unverified and failed backups go, the old verified one and recent ones stay."""
    for days_ago, verified in ((40, True), (35, False), (31, None), (3, False), (0, False)):
        _fabricate(tmp_path, TODAY - timedelta(days=days_ago), verified)
    removed = prune(tmp_path, BackupSettings(dir=tmp_path), TODAY)
    assert ["2026-04-15.tar.gz", "2026-04-19.tar.gz"] == removed
    expected = ["2026-04-10", "2026-05-17", "2026-05-20"]
    assert expected == [b.day.isoformat() for b in archive.stored(tmp_path)]
    assert not (tmp_path / "2026-04-15.verify.json").exists()


def test_a_stale_restore_check_does_not_count(tmp_path: Path) -> None:
    """A check recorded for an earlier archive of the same day does not make it good."""
    old = _fabricate(tmp_path, TODAY - timedelta(days=40), None)
    archive.write_verify(old, {"ok": True, "checksum": "sha256:of-another-archive", "at": "x"})
    _fabricate(tmp_path, TODAY - timedelta(days=39), None)
    _fabricate(tmp_path, TODAY, None)
    assert ["2026-04-10.tar.gz", "2026-04-11.tar.gz"] == prune(
        tmp_path, BackupSettings(dir=tmp_path), TODAY
    )


@pytest.mark.integration
async def test_a_run_applies_retention(small_db: Database, tmp_path: Path) -> None:
    """A successful run removes what its retention lets go, and says so."""
    directory = tmp_path / REF
    directory.mkdir()
    _fabricate(directory, TODAY - timedelta(days=12), True)
    _fabricate(directory, TODAY - timedelta(days=11), None)
    project = make_project(small_db.dsn, tmp_path, retention="10d", timezone="UTC")
    outcome = await run_backup(project, datetime(2026, 5, 20, 3, 30, tzinfo=UTC))
    assert ["2026-05-09.tar.gz"] == outcome.removed
    expected = ["2026-05-08", "2026-05-20"]
    assert expected == [b.day.isoformat() for b in archive.stored(directory)]
