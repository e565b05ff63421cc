"""The state store: open the configured backend behind the Store protocol."""

from __future__ import annotations

from sbwatch.config.settings import StateSettings
from sbwatch.store.base import Store

__all__ = ["Store", "open_store"]


async def open_store(state: StateSettings) -> Store:
    """An opened store: SQLite at ``state.sqlite_path()`` by default, PostgreSQL with a DSN."""
    store: Store
    if state.backend == "postgres":
        from sbwatch.store.postgres import PostgresStore  # asyncpg only when configured

        if state.dsn is None:  # settings validation already forbids this
            raise ValueError("state.dsn is required for the postgres backend")
        store = PostgresStore(state.dsn.get_secret_value())
    else:
        from sbwatch.store.sqlite import SqliteStore

        store = SqliteStore(state.sqlite_path())
    await store.open()
    return store
