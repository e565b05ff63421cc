"""A backup file is whole or absent: interrupted runs leave nothing that looks complete."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sbwatch.backup import archive
from sbwatch.backup.service import run_backup
from sbwatch.core.errors import BackupError

from .conftest import (
    REAL_PG_DUMP,
    REF,
    Database,
    complete_backups,
    execute,
    fake_tool,
    make_project,
)

pytestmark = pytest.mark.integration
NOW = datetime(2026, 5, 20, 3, 30, tzinfo=UTC)
LATER = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)

HANGING_DUMP = f"""\
case "$1" in --version) exec {REAL_PG_DUMP} --version;; esac
for a; do case "$a" in --file=*) out="${{a#--file=}}";; esac; done
head -c 100000 /dev/urandom > "$out"
echo $$ > "$PID_FILE"
exec sleep 60
"""


def _hanging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A pg_dump that writes part of its file, records its pid and hangs."""
    pid_file = tmp_path / "pg_dump.pid"
    monkeypatch.setenv("PID_FILE", str(pid_file))
    return fake_tool(tmp_path, "pg_dump", HANGING_DUMP), pid_file


async def _started(pid_file: Path) -> int:
    """The pid of the hanging pg_dump once it has written part of its output."""
    async with asyncio.timeout(20):
        while (pid := _read_pid(pid_file)) is None:  # noqa: ASYNC110 - a child process writes it
            await asyncio.sleep(0.02)
    return pid


def _read_pid(pid_file: Path) -> int | None:
    """The pid in the file, once written."""
    text = pid_file.read_text() if pid_file.exists() else ""
    return int(text) if text.strip() else None


def _entries(directory: Path) -> list[str]:
    """Everything in a backup directory but the lock file."""
    return sorted(n for n in os.listdir(directory) if n != ".lock")


async def test_a_killed_pg_dump_leaves_no_backup(
    small_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pg_dump killed mid-way: a clear error, no file that looks whole, no leftovers."""
    tool, pid_file = _hanging(tmp_path, monkeypatch)
    project = make_project(small_db.dsn, tmp_path / "b", pg_dump=tool)
    task = asyncio.create_task(run_backup(project, NOW))
    os.kill(await _started(pid_file), signal.SIGKILL)
    with pytest.raises(BackupError, match="pg_dump failed"):
        await task
    assert [] == _entries(tmp_path / "b" / REF)


async def test_a_cancelled_run_kills_pg_dump_and_leaves_nothing(
    small_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon stopping mid-dump: pg_dump is killed, the partial dump removed."""
    tool, pid_file = _hanging(tmp_path, monkeypatch)
    project = make_project(small_db.dsn, tmp_path / "b", pg_dump=tool)
    task = asyncio.create_task(run_backup(project, NOW))
    pid = await _started(pid_file)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert [] == _entries(tmp_path / "b" / REF)


async def test_a_failed_pack_keeps_the_earlier_backup_intact(
    small_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Packing fails half-way (disk full): today's earlier backup stays, byte for byte."""
    project = make_project(small_db.dsn, tmp_path, timezone="UTC")
    first = await run_backup(project, NOW)
    before = first.path.read_bytes()
    original = tarfile.TarFile.add

    def full_disk(self: tarfile.TarFile, name: Any, *args: Any, **kwargs: Any) -> None:
        original(self, name, *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tarfile.TarFile, "add", full_disk)
    with pytest.raises(BackupError, match=r"writing the backup failed: .*No space left"):
        await run_backup(project, LATER)
    assert ["2026-05-20.tar.gz"] == _entries(tmp_path / REF)
    assert before == first.path.read_bytes()


async def test_a_second_run_the_same_day_replaces_it_atomically(
    small_db: Database, tmp_path: Path
) -> None:
    """The same day's archive is replaced by rename: a reader of the old one reads it whole."""
    project = make_project(small_db.dsn, tmp_path, timezone="UTC")
    first = await run_backup(project, NOW)
    inode = first.path.stat().st_ino
    await execute(
        small_db.dsn, "INSERT INTO public.a SELECT g, 'x' FROM generate_series(501, 600) g"
    )
    with first.path.open("rb") as old:
        second = await run_backup(project, LATER)
        with tarfile.open(fileobj=old, mode="r:gz") as tar:
            assert [archive.MANIFEST, archive.DUMP] == tar.getnames()
    assert (False, True) == (first.replaced, second.replaced)
    assert ["2026-05-20.tar.gz"] == complete_backups(tmp_path / REF)
    assert inode != second.path.stat().st_ino
    assert (502, 602) == (first.manifest.rows, archive.read_manifest(second.path).rows)


async def test_leftovers_of_a_crash_are_never_listed_and_cleared(
    small_db: Database, tmp_path: Path
) -> None:
    """Work files of a run killed with -9 look like no backup and go with the next run."""
    directory = tmp_path / REF
    (directory / ".work-dead" / "dump").mkdir(parents=True)
    (directory / ".work-0bad-2026-05-19.tar.gz").write_bytes(b"\x1f\x8b half")
    assert [] == archive.stored(directory)
    await run_backup(make_project(small_db.dsn, tmp_path, timezone="UTC"), NOW)
    assert ["2026-05-20.tar.gz"] == _entries(directory)


async def test_one_run_at_a_time(small_db: Database, tmp_path: Path) -> None:
    """A second run while one holds the project's lock is refused, and says why."""
    project = make_project(small_db.dsn, tmp_path)
    with archive.locked(tmp_path / REF), pytest.raises(BackupError, match="another backup") as err:
        await run_backup(project, NOW)
    assert err.value.transient
