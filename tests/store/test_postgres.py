"""PostgreSQL specifics: error mapping, secrets kept out of messages, concurrent opening."""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import UTC, datetime

import asyncpg
import pytest
from structlog.testing import capture_logs

from sbwatch.core.errors import StoreError
from sbwatch.store.migrations import latest_version
from sbwatch.store.postgres import PostgresStore, is_transient

pytestmark = pytest.mark.integration  # every test here talks to the real PostgreSQL

PASSWORD = "hunter2-Secret"


def _free_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _open_error(dsn: str) -> StoreError:
    """The StoreError opening a store on this DSN raises."""
    with pytest.raises(StoreError) as caught:
        await PostgresStore(dsn, connect_timeout_s=5).open()
    return caught.value


async def test_unreachable_server_is_transient_without_password() -> None:
    """No server on the port: a transient StoreError that does not quote the password."""
    error = await _open_error(f"postgresql://postgres:{PASSWORD}@127.0.0.1:{_free_port()}/x")
    assert (True, False) == (error.transient, PASSWORD in f"{error} {error!r}")


async def test_missing_database_is_permanent_without_password() -> None:
    """A database that does not exist: a permanent StoreError without the password."""
    error = await _open_error(f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/no_such_db_x")
    assert (False, False) == (error.transient, PASSWORD in f"{error} {error!r}")


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://postgres:{PASSWORD}@127.0.0.1:notaport/x",
        f"mysql://postgres:{PASSWORD}@127.0.0.1/x",
        f"postgresql://127.0.0.1:5432/no_such_db_x?user=postgres&password={PASSWORD}",
    ],
)
async def test_bad_dsn_is_permanent_without_secrets(dsn: str) -> None:
    """A malformed DSN is a permanent StoreError quoting neither the DSN nor its password."""
    error = await _open_error(dsn)
    assert (False, False, None) == (error.transient, PASSWORD in str(error), error.__cause__)


def test_repr_hides_the_dsn() -> None:
    """The store's repr names the schema only."""
    store = PostgresStore(f"postgresql://postgres:{PASSWORD}@127.0.0.1/x", schema="ops")
    assert "PostgresStore(schema='ops')" == repr(store)


@pytest.mark.parametrize("schema", ["", "Upper", "a-b", "x; drop table y", "1abc"])
def test_schema_must_be_an_identifier(schema: str) -> None:
    """A schema name that is not a lowercase identifier is refused up front."""
    with pytest.raises(ValueError, match="identifier"):
        PostgresStore("postgresql://127.0.0.1/x", schema=schema)


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError(), True),
        (asyncpg.exceptions.ConnectionDoesNotExistError("closed"), True),
        (asyncpg.exceptions.TooManyConnectionsError("too many"), True),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), True),
        (
            asyncpg.exceptions.InternalClientError(
                "cannot switch to state 15; another operation (2) is in progress"
            ),
            True,
        ),
        (asyncpg.exceptions.AdminShutdownError("shutdown"), True),
        (asyncpg.exceptions.SerializationError("retry"), True),
        (asyncpg.exceptions.DeadlockDetectedError("deadlock"), True),
        (asyncpg.exceptions.LockNotAvailableError("lock"), True),
        (asyncpg.exceptions.UniqueViolationError("dup"), False),
        (asyncpg.exceptions.PostgresSyntaxError("syntax"), False),
        (asyncpg.exceptions.UndefinedTableError("no table"), False),
        (asyncpg.exceptions.InvalidPasswordError("password"), False),
        (asyncpg.exceptions.InvalidCatalogNameError("no db"), False),
        (asyncpg.InterfaceError("pool is closed"), False),
        (ValueError("bad dsn"), False),
    ],
)
def test_postgres_error_mapping(exc: BaseException, transient: bool) -> None:
    """Connection, resource and retryable errors are transient; the rest permanent."""
    assert transient == is_transient(exc)


async def test_concurrent_opens_migrate_once(pg_dsn: str, pg_schema: str) -> None:
    """Stores opening a new schema at once all succeed; each migration is recorded once."""
    stores = [PostgresStore(pg_dsn, schema=pg_schema) for _ in range(4)]
    try:
        await asyncio.gather(*(store.open() for store in stores))
        versions = [await store.schema_version() for store in stores]
    finally:
        for store in stores:
            await store.close()
    conn = await asyncpg.connect(pg_dsn)
    try:
        rows = await conn.fetch(f"SELECT version FROM {pg_schema}.schema_migrations")
    finally:
        await conn.close()
    assert ([latest_version()] * 4, list(range(1, latest_version() + 1))) == (
        versions,
        [r["version"] for r in rows],
    )


async def test_lock_race_across_connections(pg_dsn: str, pg_schema: str) -> None:
    """Five stores (as five hosts) race for the lock; exactly one wins."""
    stores = [PostgresStore(pg_dsn, schema=pg_schema) for _ in range(5)]
    now = datetime(2026, 5, 1, tzinfo=UTC)
    try:
        for store in stores:
            await store.open()
        results = await asyncio.gather(
            *(store.acquire_lock("escalate", f"host{i}", 60, now) for i, store in enumerate(stores))
        )
    finally:
        for store in stores:
            await store.close()
    assert 1 == sum(results)


def test_asyncpg_retries_are_one_debug_event_not_a_traceback_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """asyncpg's pool says each failed reconnection (with its traceback) through stdlib
    logging: it becomes one debug event of the store, the password left out, nothing on
    stderr. With two stores in the process, neither password is shown."""
    PostgresStore("postgresql://watch:hunter2@127.0.0.1:1/state")
    PostgresStore("postgresql://other:swordfish@127.0.0.1:1/state")
    try:
        raise ConnectionRefusedError(111, "Connect call failed: hunter2, swordfish")
    except ConnectionRefusedError:
        with capture_logs() as logs:
            logging.getLogger("asyncpg.pool").warning(
                "Failed to restore the pool connection floor; retrying", exc_info=True
            )
    assert "" == capsys.readouterr().err
    (event,) = logs
    assert ("postgres library", "debug", "store") == (
        event["event"],
        event["log_level"],
        event["component"],
    )
    assert event["detail"].startswith("Failed to restore the pool connection floor; retrying: ")
    assert "ConnectionRefusedError" in event["detail"]
    assert event["detail"].endswith("Connect call failed: ***, ***")


def test_a_connection_left_mid_operation_is_a_library_error() -> None:
    """What a connection cut mid-operation raises when the server stops is mapped to a
    StoreError at the boundary (a job that meets it does not fail with a traceback)."""
    from sbwatch.store.postgres import LIBRARY_ERRORS

    assert isinstance(asyncpg.exceptions.InternalClientError("state"), LIBRARY_ERRORS)
