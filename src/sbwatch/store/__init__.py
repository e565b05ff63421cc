"""The state store: open the configured backend behind the Store protocol."""

from __future__ import annotations

from sbwatch.config.settings import StateSettings
from sbwatch.core.errors import PermanentError
from sbwatch.store.base import Store

__all__ = ["NoState", "Store", "open_store"]


class NoState(PermanentError):
    """A command that only reads the state found no store where the configuration points."""


async def open_store(state: StateSettings, *, create: bool = True) -> Store:
    """An opened store: SQLite at ``state.sqlite_path()`` by default, PostgreSQL with a DSN.

    ``create=False`` (commands that only read): a SQLite file that does not exist is not
    created; NoState says where it was looked for, since the daemon's store must be elsewhere.
    """
    if not create and state.backend == "sqlite" and not state.sqlite_path().exists():
        raise NoState(f"no state at {state.sqlite_path()}: is this the daemon's configuration?")
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
