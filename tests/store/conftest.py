"""Fixtures for the state store tests: one contract suite over SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest
from tests.servers import fresh_database_sync, pg_url

from sbwatch.store import Store
from sbwatch.store.postgres import PostgresStore
from sbwatch.store.sqlite import SqliteStore


@dataclass
class Backend:
    """One storage location and how to open (another) store on it."""

    name: str
    make: Callable[[], Store]
    migration_rows: Callable[[], Awaitable[list[tuple[int, str]]]]
    opened: list[Store] = field(default_factory=list)

    async def open(self) -> Store:
        """A new opened store on this storage, closed at teardown."""
        store = self.make()
        await store.open()
        self.opened.append(store)
        return store


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A fresh PostgreSQL database with a random name on 127.0.0.1:5432, dropped at the end."""
    with fresh_database_sync("sbwatch_test") as name:
        yield pg_url(name)


@pytest.fixture
def pg_schema() -> str:
    """A schema name of its own for one test, so tests never share tables."""
    return f"t_{secrets.token_hex(6)}"


def _sqlite_backend(path: Path) -> Backend:
    async def rows() -> list[tuple[int, str]]:
        with sqlite3.connect(path) as conn:
            found = conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall()
        conn.close()
        return [(int(v), str(a)) for v, a in found]

    return Backend("sqlite", lambda: SqliteStore(path), rows)


def _postgres_backend(dsn: str, schema: str) -> Backend:
    async def rows() -> list[tuple[int, str]]:
        conn = await asyncpg.connect(dsn)
        try:
            found = await conn.fetch(f"SELECT version, applied_at FROM {schema}.schema_migrations")
        finally:
            await conn.close()
        return [(int(r["version"]), str(r["applied_at"])) for r in found]

    return Backend("postgres", lambda: PostgresStore(dsn, schema=schema), rows)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Each backend in turn: an SQLite file in tmp_path, a fresh schema in a fresh database
    (the server is reached only for the PostgreSQL run, which alone is ``integration``)."""
    if request.param == "sqlite":
        chosen = _sqlite_backend(tmp_path / "state" / "sbwatch.db")
    else:
        chosen = _postgres_backend(request.getfixturevalue("pg_dsn"), f"t_{secrets.token_hex(6)}")
    try:
        yield chosen
    finally:
        for opened in chosen.opened:
            await opened.close()


@pytest.fixture
async def store(backend: Backend) -> Store:
    """An opened store of the current backend."""
    return await backend.open()
