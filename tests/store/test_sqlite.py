"""SQLite specifics: file placement, WAL, busy handling, and the lock across processes."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sbwatch.core.errors import StoreError
from sbwatch.store.migrations import VERSION_TABLE, latest_version, migrations
from sbwatch.store.sqlite import SqliteStore, map_sqlite_error

LOCK_SCRIPT = """
import asyncio, sys
from datetime import UTC, datetime
from sbwatch.store.sqlite import SqliteStore

async def main():
    store = SqliteStore(sys.argv[1])
    await store.open()
    try:
        now = datetime(2026, 5, 1, tzinfo=UTC)
        got = await store.acquire_lock("escalate", sys.argv[2], 600, now)
    finally:
        await store.close()
    print("got" if got else "refused")

asyncio.run(main())
"""


async def _try_lock_in_process(path: Path, owner: str) -> str:
    """Run LOCK_SCRIPT in a new Python process; its verdict."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LOCK_SCRIPT, str(path), owner,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert (0, b"") == (proc.returncode, err)
    return out.decode().strip()


async def test_open_creates_parent_directories_in_wal_mode(tmp_path: Path) -> None:
    """Opening creates missing parent directories and leaves the file in WAL mode."""
    path = tmp_path / "a" / "b" / "sbwatch.db"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    with sqlite3.connect(path) as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.close()
    assert ("wal", True) == (mode, path.is_file())


async def test_memory_store_works(tmp_path: Path) -> None:
    """``:memory:`` opens a migrated private store (for fast replays)."""
    store = SqliteStore(":memory:")
    await store.open()
    try:
        await store.put_state("ns", "k", {"a": 1})
        assert (latest_version(), {"a": 1}) == (
            await store.schema_version(),
            await store.get_state("ns", "k"),
        )
    finally:
        await store.close()


async def test_lock_is_exclusive_across_processes(tmp_path: Path) -> None:
    """Processes racing on one new file: all migrate safely and exactly one gets the lock."""
    path = tmp_path / "shared.db"
    verdicts = await asyncio.gather(*(_try_lock_in_process(path, f"p{i}") for i in range(4)))
    assert ["got", "refused", "refused", "refused"] == sorted(verdicts)


async def test_lock_held_by_another_process_is_refused_here(tmp_path: Path) -> None:
    """A lock taken by another process is refused to this one, and ours is refused to it."""
    path = tmp_path / "shared.db"
    assert "got" == await _try_lock_in_process(path, "cli")
    store = SqliteStore(path)
    await store.open()
    try:
        now = datetime(2026, 5, 1, 0, 1, tzinfo=UTC)
        assert await store.acquire_lock("escalate", "daemon", 60, now) is False
    finally:
        await store.close()


async def test_busy_database_gives_transient_error(tmp_path: Path) -> None:
    """A write blocked past busy_timeout by another writer is a transient StoreError."""
    path = tmp_path / "busy.db"
    store = SqliteStore(path, busy_timeout_s=0.05)
    await store.open()
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError) as caught:
            await store.put_state("ns", "k", {"a": 1})
        other.execute("ROLLBACK")
        await store.put_state("ns", "k", {"a": 2})
        assert (True, {"a": 2}) == (caught.value.transient, await store.get_state("ns", "k"))
    finally:
        other.close()
        await store.close()


async def test_not_a_database_is_permanent_error(tmp_path: Path) -> None:
    """A file that is not SQLite gives a permanent StoreError on open."""
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError) as caught:
        await SqliteStore(path).open()
    assert caught.value.transient is False


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.OperationalError("database table is locked"), True),
        (sqlite3.OperationalError("no such table: x"), False),
        (sqlite3.OperationalError('near "SELEC": syntax error'), False),
        (sqlite3.IntegrityError("UNIQUE constraint failed: emails.message_id"), False),
        (sqlite3.DatabaseError("file is not a database"), False),
        (sqlite3.ProgrammingError("Cannot operate on a closed database."), False),
    ],
)
def test_sqlite_error_mapping(exc: sqlite3.Error, transient: bool) -> None:
    """Busy/locked errors are transient; constraint, syntax and file errors are permanent."""
    mapped = map_sqlite_error(exc, "op")
    assert (transient, True) == (mapped.transient, str(exc) in str(mapped))


async def test_an_alert_written_before_part_of_was_kept_apart_loads(tmp_path: Path) -> None:
    """An alerts row of a store at version 10 (the alerts a cause took in said in its body)
    loads after the upgrade with its body as written and no titles beside it."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(VERSION_TABLE["sqlite"])
        for migration in migrations("sqlite")[:10]:
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, description) VALUES (?, ?)",
                (migration.version, migration.description),
            )
        conn.execute(
            "INSERT INTO alerts (key, project, severity, title, body, opened_at, cause)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                "p:diagnosis",
                "p",
                "critical",
                "Supabase platform outage",
                "status page major\nPart of it: rest is down.",
                "2026-05-01T12:00:00.000000+00:00",
                "platform",
            ),
        )
    conn.close()
    store = SqliteStore(path)
    await store.open()
    try:
        alert = await store.get_alert("p:diagnosis")
    finally:
        await store.close()
    assert alert is not None
    assert ("status page major\nPart of it: rest is down.", ()) == (alert.body, alert.part_of)
