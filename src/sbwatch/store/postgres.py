"""The shared state store: PostgreSQL through an asyncpg pool, in its own schema."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg

from sbwatch.core.errors import StoreError
from sbwatch.core.log import get_logger
from sbwatch.store.codec import Row, utc
from sbwatch.store.migrations import VERSION_TABLE, migrations
from sbwatch.store.sql import SqlStore

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_TRANSIENT_SQLSTATES = ("08", "40", "53", "55P03", "57")
"""Connection, rollback (serialization, deadlock), resources, lock not available, shutdown."""

LIBRARY_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
    ValueError,
)
"""What asyncpg and the socket layer raise; each is mapped to a StoreError at this boundary.
``InternalClientError`` is what a connection cut in the middle of an operation raises when
the server stops ("cannot switch to state ...; another operation is in progress")."""


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same call may succeed (network, timeouts, busy server)."""
    if isinstance(exc, asyncpg.PostgresError):
        return str(exc.sqlstate or "").startswith(_TRANSIENT_SQLSTATES)
    if isinstance(exc, asyncpg.InternalClientError):
        return True  # a connection left mid-operation by a server going away: a new one serves
    if isinstance(exc, asyncpg.InterfaceError | ValueError):
        return False  # our misuse or a bad DSN: a retry changes nothing
    return isinstance(exc, OSError | TimeoutError)


def _secrets_of(dsn: str) -> list[str]:
    """The DSN itself and its password (from the userinfo or a ``password`` query parameter)."""
    found = [dsn]
    try:
        parts = urlsplit(dsn)
        if parts.password:
            found += [parts.password, unquote(parts.password)]
        found += parse_qs(parts.query).get("password", [])
    except ValueError:
        pass  # an unparsable DSN still has itself redacted
    return sorted({s for s in found if s}, key=len, reverse=True)


class _PoolLines(logging.Handler):
    """asyncpg's own warnings as one debug event each, without their traceback.

    Its pool retries a lost connection with backoff, and says each failure with a traceback
    through stdlib logging: on stderr, many lines a retry, for as long as the server is away.
    The outage itself is said once by ``store.guard``; what asyncpg says is for debugging."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.secrets: list[str] = []
        """Of every store of the process, longest first (one library logger serves them all)."""
        self.log = get_logger("store")

    def hide(self, secrets: Sequence[str]) -> None:
        """Leave these out of every line from now on too."""
        self.secrets = sorted({*self.secrets, *secrets}, key=len, reverse=True)

    def emit(self, record: logging.LogRecord) -> None:
        detail = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            detail = f"{detail}: {type(exc).__name__}: {exc}"
        for secret in self.secrets:
            detail = detail.replace(secret, "***")
        self.log.debug("postgres library", detail=detail)


def _route_asyncpg_logs(secrets: Sequence[str]) -> None:
    """Send asyncpg's lines through the store's logger, and only there, without ``secrets``."""
    library = logging.getLogger("asyncpg")
    found = [h for h in library.handlers if isinstance(h, _PoolLines)]
    handler = found[0] if found else _PoolLines()
    if not found:
        library.addHandler(handler)
    handler.hide(secrets)
    library.propagate = False


def _numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, ...``."""
    counter = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


class PostgresStore(SqlStore):
    """The Store protocol on PostgreSQL; the escalation lock is a row with owner and expiry."""

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "sbwatch",
        max_connections: int = 4,
        connect_timeout_s: float = 10.0,
        command_timeout_s: float = 30.0,
    ) -> None:
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError("schema must be a lowercase SQL identifier")
        super().__init__()
        self._dsn = dsn
        self._secrets = _secrets_of(dsn)
        self._schema = schema
        self._max_connections = max_connections
        self._connect_timeout_s = connect_timeout_s
        self._command_timeout_s = command_timeout_s
        self._pool: asyncpg.Pool | None = None
        _route_asyncpg_logs(self._secrets)

    def __repr__(self) -> str:
        return f"PostgresStore(schema={self._schema!r})"

    def _error(self, exc: BaseException, op: str) -> StoreError:
        """A StoreError whose message never holds the DSN or the password."""
        text = f"postgres {op} failed: {type(exc).__name__}: {exc}"
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return StoreError(text, transient=is_transient(exc))

    async def open(self) -> None:
        """Create the pool (search_path = our schema) and apply pending migrations."""
        if self._pool is not None:
            return
        try:
            pool = await asyncpg.create_pool(
                self._dsn,
                min_size=1,
                max_size=self._max_connections,
                timeout=self._connect_timeout_s,
                command_timeout=self._command_timeout_s,
                server_settings={"search_path": self._schema, "application_name": "sbwatch"},
            )
        except LIBRARY_ERRORS as exc:
            raise self._error(exc, "open") from None  # the cause may quote the DSN
        try:
            await self._migrate(pool)
        except BaseException as exc:
            await pool.close()
            if isinstance(exc, LIBRARY_ERRORS):
                raise self._error(exc, "migrate") from exc
            raise
        self._pool = pool

    async def _migrate(self, pool: asyncpg.Pool) -> None:
        """Apply each pending migration in its own transaction, under an advisory lock."""
        async with pool.acquire() as conn:
            for migration in migrations("postgres"):
                async with conn.transaction():
                    await conn.execute(
                        "SELECT pg_advisory_xact_lock(hashtext($1))", f"sbwatch:{self._schema}"
                    )
                    exists = "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)"
                    if not await conn.fetchval(exists, self._schema):
                        await conn.execute(f'CREATE SCHEMA "{self._schema}"')
                    await conn.execute(VERSION_TABLE["postgres"])
                    current = await conn.fetchval("SELECT MAX(version) FROM schema_migrations")
                    if (current or 0) >= migration.version:
                        continue
                    for statement in migration.statements:
                        await conn.execute(statement)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, description) VALUES ($1, $2)",
                        migration.version,
                        migration.description,
                    )

    async def close(self) -> None:
        """Close the pool (idempotent)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def _ts(self, value: datetime) -> Any:
        """An aware UTC datetime (the column is TIMESTAMPTZ)."""
        return utc(value)

    def _slot_of(self, column: str) -> str:
        """The UTC time as ``YYYY-MM-DDTHH:M`` text: the ten-minute slot."""
        return f"substr(to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI'), 1, 15)"

    def _db_now(self, plus_seconds: bool = False) -> str:
        """The server's clock: lease expiry never depends on an instance's clock."""
        return "(now() + make_interval(secs => ?))" if plus_seconds else "now()"

    def _share_lock(self) -> str:
        """Wait for a takeover in flight, then judge the epoch it committed."""
        return "FOR SHARE"

    @asynccontextmanager
    async def _guard(self, op: str) -> AsyncIterator[asyncpg.Pool]:
        """The pool for one operation, with library errors mapped to StoreError."""
        if self._pool is None:
            raise StoreError(f"postgres {op} failed: store is not open", transient=False)
        try:
            yield self._pool
        except LIBRARY_ERRORS as exc:
            raise self._error(exc, op) from exc

    async def _fetch(
        self, op: str, sql: str, params: Sequence[Any] = (), *, tx: bool = False
    ) -> list[Row]:
        """Run one statement (in a transaction when ``tx``); its rows."""
        async with self._guard(op) as pool:
            if not tx:
                return list(await pool.fetch(_numbered(sql), *params))
            async with pool.acquire() as conn, conn.transaction():
                return list(await conn.fetch(_numbered(sql), *params))

    async def _many(self, op: str, batches: Sequence[tuple[str, list[Sequence[Any]]]]) -> None:
        """Run each statement once per parameter row, all in one transaction."""
        async with self._guard(op) as pool, pool.acquire() as conn, conn.transaction():
            for sql, rows in batches:
                await conn.executemany(_numbered(sql), rows)

    async def _run(self, op: str, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed (from the command tag)."""
        async with self._guard(op) as pool:
            tag: str = await pool.execute(_numbered(sql), *params)
        count = tag.rsplit(" ", 1)[-1]
        return int(count) if count.isdigit() else 0
