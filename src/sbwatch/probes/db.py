"""Database probe: ``SELECT 1`` on one kept connection, and a fresh connection every N runs.

Sparing the watched server is the point: the kept connection runs ``SELECT 1`` over the simple
query protocol (no prepared statement, no type introspection, no table touched), so a liveness
run reads zero blocks. Every ``db.fresh_connection_every`` runs a new connection is opened and
closed at once to prove that new clients can still connect (a new backend does read a few
catalog blocks). A broken kept connection is replaced within the same run, so a server restart
does not look like an outage.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any

import asyncpg

from sbwatch.core.results import Outcome, ProbeKind, ProbeResult
from sbwatch.probes._common import Timer, network_cause, timeout_s
from sbwatch.probes.base import ProbeContext
from sbwatch.probes.spec import ProbeSpec

LIVENESS_QUERY = "SELECT 1"
APPLICATION_NAME = "sbwatch"

_AUTH_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidPasswordError,
)
_CONNECTION_LOST: tuple[type[BaseException], ...] = (
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


class _Timeout(Exception):
    """A connect or query of this probe ran out of time."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class DbProbe:
    """Is PostgreSQL answering, and can new clients connect?"""

    kind = ProbeKind.DB

    def __init__(self, ctx: ProbeContext) -> None:
        self._ctx = ctx
        secret = ctx.project.db_dsn
        self._dsn = secret.get_secret_value() if secret is not None else ""
        self._query_timeout = timeout_s(ctx, SPEC)
        self._connect_timeout = min(
            ctx.project.db.connect_timeout.total_seconds(), self._query_timeout
        )
        self._every = ctx.project.db.fresh_connection_every
        self._conn: Any = None
        self._runs_since_proof = 0

    def __repr__(self) -> str:
        return f"DbProbe(project={self._ctx.project.ref!r})"

    async def run(self) -> ProbeResult:
        """One liveness query, plus a fresh connection when one is due."""
        timer = Timer(self._ctx, self.kind)
        if not self._dsn:
            return timer.result(Outcome.ERROR, "no database DSN configured")
        try:
            await self._observe()
        except Exception as exc:  # mapped to an outcome below; anything unexpected re-raises
            outcome, detail = _outcome_of(exc)
            return timer.result(outcome, detail)
        return timer.result(Outcome.OK)

    async def aclose(self) -> None:
        """Close the kept connection."""
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), self._connect_timeout)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                conn.terminate()

    async def _observe(self) -> None:
        self._runs_since_proof += 1
        if self._conn is None or self._conn.is_closed():
            await self._reconnect()
        elif self._runs_since_proof >= self._every:
            await self._prove_connectable()
        try:
            await self._query()
        except _CONNECTION_LOST:
            # The kept connection died under us (server restart, idle kill): replace it once.
            await self._reconnect()
            await self._query()

    async def _query(self) -> None:
        try:
            await asyncio.wait_for(self._conn.execute(LIVENESS_QUERY), self._query_timeout)
        except TimeoutError:
            self._drop()
            raise _Timeout(f"query timed out after {self._query_timeout:g}s") from None
        except _CONNECTION_LOST:
            self._drop()
            raise

    async def _reconnect(self) -> None:
        self._drop()
        self._conn = await self._connect()
        self._runs_since_proof = 0

    async def _prove_connectable(self) -> None:
        fresh = await self._connect()
        try:
            await asyncio.wait_for(fresh.close(), self._connect_timeout)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            fresh.terminate()
        self._runs_since_proof = 0

    async def _connect(self) -> Any:
        try:
            return await asyncpg.connect(
                self._dsn,
                timeout=self._connect_timeout,
                server_settings={"application_name": APPLICATION_NAME},
            )
        except TimeoutError:
            raise _Timeout(f"connect timed out after {self._connect_timeout:g}s") from None

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()


def _outcome_of(exc: Exception) -> tuple[Outcome, str]:
    """Map what connecting or querying raised to an outcome; re-raise what is a bug."""
    if isinstance(exc, _Timeout):
        return Outcome.TIMEOUT, exc.what
    if isinstance(exc, asyncpg.ClientConfigurationError | ValueError):
        return Outcome.ERROR, "invalid database DSN"
    if isinstance(exc, _AUTH_ERRORS):
        return Outcome.FAIL, "authentication rejected"
    if isinstance(exc, asyncpg.TooManyConnectionsError):
        return Outcome.FAIL, "too many connections"
    if isinstance(exc, asyncpg.CannotConnectNowError):
        return Outcome.FAIL, "server not accepting connections (starting or shutting down)"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return Outcome.FAIL, "database does not exist"
    if isinstance(exc, asyncpg.PostgresConnectionError):
        return Outcome.FAIL, f"connection error {exc.sqlstate} ({type(exc).__name__})"
    if isinstance(exc, _CONNECTION_LOST):
        return Outcome.FAIL, "connection lost"
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


SPEC = ProbeSpec(ProbeKind.DB, DbProbe, secrets=("db_dsn",))
