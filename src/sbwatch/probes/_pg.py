"""What the database probes share: one kept connection, its deadlines, and failures as outcomes.

A probe keeps one connection across runs (opening one costs the server a backend and a few
catalog blocks; a query on a kept one costs almost nothing). A connection that died under a
probe (server restart, idle kill) is replaced within the same run, so a restart does not look
like an outage. Every connect and query has a deadline; a query that misses it drops the
connection, since its answer may still arrive on it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from sbwatch.core.results import Outcome
from sbwatch.probes._common import network_cause
from sbwatch.supabase.connections import POOLER_REFUSED, pooler_full

APPLICATION_NAME = "sbwatch"
T = TypeVar("T")

AUTH_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidPasswordError,
)
CONNECTION_LOST: tuple[type[BaseException], ...] = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # the protocol saw a FATAL arrive while idle
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
)
_CLOSE_ERRORS = (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


class PgTimeout(Exception):
    """A connect or query of a database probe ran out of time."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class KeptConnection:
    """One asyncpg connection kept across runs: opened on first use, replaced when it died."""

    def __init__(
        self,
        dsn: str,
        *,
        connect_timeout_s: float,
        query_timeout_s: float,
        application_name: str = APPLICATION_NAME,
    ) -> None:
        self._dsn = dsn
        self.connect_timeout_s = connect_timeout_s
        self.query_timeout_s = query_timeout_s
        self._application_name = application_name
        self._conn: Any = None
        self.opened = 0
        """How many connections were kept so far (a new one proves new clients connect)."""

    def __repr__(self) -> str:
        return f"KeptConnection(open={self.is_open})"

    @property
    def is_open(self) -> bool:
        """Whether a kept connection is there to use."""
        return self._conn is not None and not self._conn.is_closed()

    async def run(self, job: Callable[[Any], Awaitable[T]], *, timeout_s: float | None = None) -> T:
        """``job(connection)`` under a deadline; a lost connection is replaced, the job rerun."""
        if not self.is_open:
            await self._reopen()
        try:
            return await self._guarded(job, timeout_s)
        except CONNECTION_LOST:
            await self._reopen()
            return await self._guarded(job, timeout_s)

    async def prove_connectable(self) -> None:
        """Open a new connection and close it at once: new clients can still connect."""
        fresh = await self._connect()
        try:
            await asyncio.wait_for(fresh.close(), self.connect_timeout_s)
        except _CLOSE_ERRORS:
            fresh.terminate()

    async def aclose(self) -> None:
        """Close the kept connection."""
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), self.connect_timeout_s)
            except _CLOSE_ERRORS:
                conn.terminate()

    def drop(self) -> None:
        """Forget the kept connection at once (its state is unknown)."""
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()

    async def _guarded(self, job: Callable[[Any], Awaitable[T]], timeout_s: float | None) -> T:
        limit = self.query_timeout_s if timeout_s is None else timeout_s
        try:
            return await asyncio.wait_for(job(self._conn), limit)
        except TimeoutError:
            self.drop()
            raise PgTimeout(f"query timed out after {limit:g}s") from None
        except CONNECTION_LOST:
            self.drop()
            raise

    async def _reopen(self) -> None:
        self.drop()
        self._conn = await self._connect()
        self.opened += 1

    async def _connect(self) -> Any:
        try:
            return await asyncpg.connect(
                self._dsn,
                timeout=self.connect_timeout_s,
                server_settings={"application_name": self._application_name},
            )
        except TimeoutError:
            raise PgTimeout(f"connect timed out after {self.connect_timeout_s:g}s") from None


def outcome_of(exc: Exception) -> tuple[Outcome, str]:
    """Map what connecting or querying raised to an outcome; re-raise what is a bug."""
    if isinstance(exc, PgTimeout):
        return Outcome.TIMEOUT, exc.what
    if isinstance(exc, asyncpg.ClientConfigurationError | ValueError):
        return Outcome.ERROR, "invalid database DSN"
    if isinstance(exc, AUTH_ERRORS):
        return Outcome.FAIL, "authentication rejected"
    if isinstance(exc, asyncpg.TooManyConnectionsError):
        return Outcome.FAIL, "too many connections"
    if isinstance(exc, asyncpg.PostgresError) and pooler_full(str(exc)):
        return Outcome.FAIL, POOLER_REFUSED  # Supavisor's XX000, PgBouncer's 08P01
    if isinstance(exc, asyncpg.CannotConnectNowError):
        return Outcome.FAIL, "server not accepting connections (starting or shutting down)"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return Outcome.FAIL, "database does not exist"
    if isinstance(exc, asyncpg.PostgresConnectionError):
        return Outcome.FAIL, f"connection error {exc.sqlstate} ({type(exc).__name__})"
    if isinstance(exc, CONNECTION_LOST):
        return Outcome.FAIL, "connection lost"
    if isinstance(exc, asyncpg.ReadOnlySQLTransactionError):
        # the provider's read-only mode (a full disk): a write is refused, reads go on
        return Outcome.FAIL, "cannot execute a write in a read-only transaction (SQLSTATE 25006)"
    if isinstance(exc, asyncpg.PostgresError):
        return Outcome.FAIL, f"server error {exc.sqlstate} ({type(exc).__name__})"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return Outcome.ERROR, "TLS handshake failed"
    if isinstance(exc, socket.gaierror):
        return Outcome.ERROR, "DNS lookup failed"
    if isinstance(exc, ConnectionRefusedError):
        return Outcome.ERROR, "connection refused"
    if isinstance(exc, OSError):
        return Outcome.ERROR, network_cause(exc) or f"network error ({exc.strerror or 'unknown'})"
    raise exc
