"""The embedded state store: one SQLite file (WAL, synchronous=FULL) through aiosqlite."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from sbwatch.core.errors import StoreError
from sbwatch.store.codec import ts_text
from sbwatch.store.migrations import VERSION_TABLE, migrations
from sbwatch.store.sql import SqlStore

_TRANSIENT_NAMES = ("SQLITE_BUSY", "SQLITE_LOCKED")


def map_sqlite_error(exc: sqlite3.Error, op: str) -> StoreError:
    """The StoreError for a sqlite3 error: busy/locked is transient, anything else permanent."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    transient = name.startswith(_TRANSIENT_NAMES) or "is locked" in str(exc)
    return StoreError(f"sqlite {op} failed: {type(exc).__name__}: {exc}", transient=transient)


@asynccontextmanager
async def _immediate(conn: aiosqlite.Connection) -> AsyncIterator[None]:
    """A write transaction taken up front (BEGIN IMMEDIATE), so it serialises processes."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")


class SqliteStore(SqlStore):
    """The Store protocol on one SQLite file (or ``:memory:``), safe across processes."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 5.0) -> None:
        super().__init__()
        self._path = str(path)
        self._busy_timeout_s = busy_timeout_s
        self._conn: aiosqlite.Connection | None = None
        self._mutex = asyncio.Lock()  # one connection: operations and transactions take turns
        self.refuse: Callable[[], bool] | None = None
        """While it answers True (the store is known away), an operation whose turn comes
        fails at once instead of waiting out the busy timeout behind the others."""

    async def open(self) -> None:
        """Create the parent directory, connect (WAL, synchronous=FULL), apply migrations."""
        if self._conn is not None:
            return
        if self._path != ":memory:":
            parent = Path(self._path).parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                message = f"sqlite open failed: cannot create {parent} ({exc.strerror})"
                raise StoreError(message, transient=False) from None
        try:
            conn = await aiosqlite.connect(
                self._path, timeout=self._busy_timeout_s, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise map_sqlite_error(exc, "open") from exc
        conn.row_factory = sqlite3.Row
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = FULL")
            await self._migrate(conn)
        except BaseException as exc:
            await conn.close()
            if isinstance(exc, sqlite3.Error):
                raise map_sqlite_error(exc, "open") from exc
            raise
        self._conn = conn

    @staticmethod
    async def _migrate(conn: aiosqlite.Connection) -> None:
        """Apply each pending migration in its own write transaction, checked inside it."""
        for migration in migrations("sqlite"):
            async with _immediate(conn):
                await conn.execute(VERSION_TABLE["sqlite"])
                rows = list(
                    await conn.execute_fetchall("SELECT MAX(version) FROM schema_migrations")
                )
                if (rows[0][0] or 0) >= migration.version:
                    continue
                for statement in migration.statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, description) VALUES (?, ?)",
                    (migration.version, migration.description),
                )

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        async with self._mutex:
            conn, self._conn = self._conn, None
            if conn is not None:
                await conn.close()

    def _ts(self, value: datetime) -> Any:
        """Fixed-width ISO text in UTC, which sorts like the instant."""
        return ts_text(value)

    def _slot_of(self, column: str) -> str:
        """The first 15 characters of the fixed-width text: the ten-minute slot."""
        return f"substr({column}, 1, 15)"

    def _db_now(self, plus_seconds: bool = False) -> str:
        """SQLite's clock as the fixed-width text of :func:`ts_text` (milliseconds)."""
        shift = ", printf('%+.3f seconds', ?)" if plus_seconds else ""
        return f"(strftime('%Y-%m-%dT%H:%M:%f', 'now'{shift}) || '000+00:00')"

    def _share_lock(self) -> str:
        """None: a write transaction already holds the whole database."""
        return ""

    @asynccontextmanager
    async def _guard(self, op: str) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for one operation, in turn, with errors mapped to StoreError."""
        async with self._mutex:
            if self._conn is None:
                raise StoreError(f"sqlite {op} failed: store is not open", transient=False)
            if self.refuse is not None and self.refuse():
                raise StoreError(f"sqlite {op} failed: the state store is away", transient=True)
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise map_sqlite_error(exc, op) from exc

    async def _fetch(
        self, op: str, sql: str, params: Sequence[Any] = (), *, tx: bool = False
    ) -> list[sqlite3.Row]:
        """Run one statement to completion (so autocommit commits it); its rows."""
        async with self._guard(op) as conn:
            if not tx:
                return list(await conn.execute_fetchall(sql, params))
            async with _immediate(conn):
                return list(await conn.execute_fetchall(sql, params))

    async def _run(self, op: str, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        async with self._guard(op) as conn, conn.execute(sql, params) as cursor:
            return cursor.rowcount

    async def _many(self, op: str, batches: Sequence[tuple[str, list[Sequence[Any]]]]) -> None:
        """Run each statement once per parameter row, all in one write transaction."""
        async with self._guard(op) as conn, _immediate(conn):
            for sql, rows in batches:
                await conn.executemany(sql, rows)
