"""The replay's state store: the real SQLite store, its statements run inline on the loop.

The daemon's SqliteStore reaches SQLite through aiosqlite, one worker thread hop per
statement. A replay runs about 200 000 statements against an in-memory database on one
virtual clock, where those hops cost more than the statements; this store runs the very same
schema, migrations and SQL on the event loop's thread instead. Only the replay uses it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Sequence
from types import TracebackType
from typing import Any

from sbwatch.store.sqlite import SqliteStore


class _Executed:
    """A statement already run: awaitable, or an async context manager, for its cursor."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, sqlite3.Cursor]:
        yield from ()
        return self._cursor

    async def __aenter__(self) -> sqlite3.Cursor:
        return self._cursor

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._cursor.close()


class InlineConnection:
    """The part of ``aiosqlite.Connection`` the SQLite store uses, over a plain sqlite3 one."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @property
    def row_factory(self) -> Any:
        """The row factory of the connection."""
        return self._conn.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self._conn.row_factory = factory

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Executed:
        """Run one statement now."""
        return _Executed(self._conn.execute(sql, params))

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one statement and return all its rows."""
        return self._conn.execute(sql, params).fetchall()

    async def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class ReplayStore(SqliteStore):
    """An in-memory SqliteStore whose statements run inline (no worker thread)."""

    def __init__(self) -> None:
        super().__init__(":memory:")

    async def open(self) -> None:
        """Connect to a fresh in-memory database and apply the store's migrations."""
        if self._conn is not None:
            return
        conn = InlineConnection(sqlite3.connect(":memory:", isolation_level=None))
        conn.row_factory = sqlite3.Row
        await self._migrate(conn)  # type: ignore[arg-type]  # the same surface, run inline
        self._conn = conn  # type: ignore[assignment]  # same
