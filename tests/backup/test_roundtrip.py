"""A 64-table database is backed up, restored into a scratch database and compared."""

from __future__ import annotations

import asyncio
import io
import os
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sbwatch.backup import archive
from sbwatch.backup.service import project_dir, run_backup
from sbwatch.backup.verify import verify_backup
from sbwatch.core.errors import BackupError

from .conftest import (
    REF,
    ROWS,
    TABLES,
    Database,
    fake_tool,
    make_project,
    scratch_databases,
)

pytestmark = pytest.mark.integration
NOW = datetime(2026, 5, 20, 3, 30, tzinfo=UTC)


async def test_64_tables_restore_with_their_row_counts(
    db64: Database, tmp_path: Path, no_scratch_left: None
) -> None:
    """Backup then verify: ok, 64 tables, every row, and the scratch database is gone."""
    project = make_project(db64.dsn, tmp_path, timezone="UTC")
    outcome = await run_backup(project, NOW)
    report = await verify_backup(project, NOW)
    assert (True, TABLES, ROWS) == (report.ok, report.tables, report.rows)
    assert (TABLES, ROWS, True) == (
        report.expected_tables,
        report.expected_rows,
        report.checksum_ok,
    )
    assert tmp_path / REF / "2026-05-20.tar.gz" == outcome.path


async def test_manifest_holds_rows_estimates_sizes_and_origin(
    db64: Database, tmp_path: Path
) -> None:
    """The manifest lists each table with exact rows beside estimates, sizes, checksum, versions."""
    project = make_project(db64.dsn, tmp_path, timezone="UTC")
    outcome = await run_backup(project, NOW)
    manifest = archive.read_manifest(outcome.path)
    by_name = {t.qualified: t for t in manifest.tables}
    t10 = by_name["public.t10"]
    assert (203, 203) == (t10.rows, t10.row_estimate)
    assert t10.bytes > 0
    assert (["public"], "custom", REF) == (manifest.schemas, manifest.format, manifest.project)
    assert manifest.checksum.startswith("sha256:")
    assert manifest.server_version.startswith(manifest.pg_dump_version.split(".")[0])
    assert 0 < manifest.duration_s < 60
    assert outcome.bytes == outcome.path.stat().st_size


async def test_directory_format_restores_too(small_db: Database, tmp_path: Path) -> None:
    """A directory-format dump is packed, checksummed and restored like a custom one."""
    project = make_project(small_db.dsn, tmp_path, format="directory")
    await run_backup(project, NOW)
    report = await verify_backup(project, NOW)
    assert (True, 2, 502) == (report.ok, report.tables, report.rows)


async def test_user_schemas_by_default_provider_schemas_on_request(
    small_db: Database, tmp_path: Path
) -> None:
    """Every user schema is dumped; a provider schema (auth) only when asked for."""
    from .conftest import execute

    await execute(small_db.dsn, "CREATE SCHEMA auth; CREATE TABLE auth.users (id int)")
    plain = await run_backup(make_project(small_db.dsn, tmp_path / "a"), NOW)
    wanted = await run_backup(
        make_project(small_db.dsn, tmp_path / "b", provider_schemas=["auth"]), NOW
    )
    assert ["public", "shop"] == plain.manifest.schemas
    assert ["auth", "public", "shop"] == wanted.manifest.schemas


async def test_a_corrupted_dump_does_not_verify(small_db: Database, tmp_path: Path) -> None:
    """An archive whose dump no longer matches the manifest's checksum is reported, not ok."""
    project = make_project(small_db.dsn, tmp_path)
    outcome = await run_backup(project, NOW)
    with tarfile.open(outcome.path, "r:gz") as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]  # regular files only
    with tarfile.open(outcome.path, "w:gz") as tar:
        for member, data in members:
            if member.name == archive.DUMP:
                data = data[:-10] + b"x" * 10
            tar.addfile(member, io.BytesIO(data))
    report = await verify_backup(project, NOW)
    assert (False, False) == (report.ok, report.checksum_ok)
    assert "the dump does not match the checksum in its manifest" == report.summary()


async def test_scratch_database_is_dropped_when_the_restore_fails(
    small_db: Database, tmp_path: Path, no_scratch_left: None
) -> None:
    """pg_restore failing is a mismatch with its stderr, and the scratch database still goes."""
    body = 'case "$1" in --version) exec /usr/bin/pg_restore --version;; esac\n'
    body += 'echo "pg_restore: error: disk on fire" >&2\n'
    body += 'echo "errors ignored on restore: 3" >&2\nexit 1\n'
    broken = fake_tool(tmp_path, "pg_restore", body)
    project = make_project(small_db.dsn, tmp_path / "b", pg_restore=broken)
    await run_backup(project, NOW)
    report = await verify_backup(project, NOW)
    assert (False, 3) == (report.ok, report.restore_errors)
    expected = "2 table(s) missing; 3 restore error(s): pg_restore: error: disk on fire"
    assert expected == report.summary()[: len(expected)]


async def test_scratch_database_is_dropped_when_the_check_is_cancelled(
    small_db: Database, tmp_path: Path, no_scratch_left: None
) -> None:
    """Cancelled mid-restore: pg_restore is killed and the scratch database dropped."""
    pid_file = tmp_path / "pid"
    body = 'case "$1" in --version) exec /usr/bin/pg_restore --version;; esac\n'
    body += f"echo $$ > {pid_file}\nexec sleep 60\n"
    slow = fake_tool(tmp_path, "pg_restore", body)
    project = make_project(small_db.dsn, tmp_path / "b", pg_restore=slow)
    await run_backup(project, NOW)
    task = asyncio.create_task(verify_backup(project, NOW))
    async with asyncio.timeout(20):
        while not (pid_file.exists() and await scratch_databases()):  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _alive(int(pid_file.read_text()))


def _alive(pid: int) -> bool:
    """Whether a process of that id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_named_backup_is_verified(small_db: Database, tmp_path: Path) -> None:
    """--file picks a backup by date or file name; an unknown one is a clear error."""
    project = make_project(small_db.dsn, tmp_path, timezone="UTC")
    await run_backup(project, datetime(2026, 5, 18, 4, tzinfo=UTC))
    await run_backup(project, NOW)
    assert "2026-05-18.tar.gz" == (await verify_backup(project, NOW, "2026-05-18")).file
    assert "2026-05-20.tar.gz" == (await verify_backup(project, NOW)).file
    with pytest.raises(BackupError, match=r"no backup named 2026-05-19\.tar\.gz"):
        await verify_backup(project, NOW, "2026-05-19.tar.gz")


async def test_nothing_to_verify_is_a_clear_error(tmp_path: Path) -> None:
    """Without any backup, verify says so."""
    project = make_project("postgresql://postgres@127.0.0.1:5432/postgres", tmp_path)
    with pytest.raises(BackupError, match=f"no backup of {REF} to verify"):
        await verify_backup(project, NOW)
    assert [] == archive.stored(project_dir(project))


async def test_the_local_server_is_the_default_scratch(
    small_db: Database, tmp_path: Path, no_scratch_left: None
) -> None:
    """Without verify_dsn the restore goes to the local server over its socket, then is dropped."""
    project = make_project(small_db.dsn, tmp_path, verify_dsn=None)
    await run_backup(project, NOW)
    report = await verify_backup(project, NOW)
    assert (True, 2, 502) == (report.ok, report.tables, report.rows)
