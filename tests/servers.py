"""The local servers the integration tests use: throwaway PostgreSQL databases, free ports."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager

import asyncpg

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN_DSN = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres"
"""The maintenance database of the local server (trust auth)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _admin(sql: str) -> None:
    """Run one statement on the maintenance database."""
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


@asynccontextmanager
async def fresh_database(prefix: str) -> AsyncIterator[str]:
    """A new database with a random name under ``prefix``, dropped on exit; its name."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_sync(sql: str) -> None:
    """``_admin`` from synchronous code, on a thread of its own: the caller may be inside a
    running event loop (a session fixture first asked for by an async one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _admin(sql)).result()


@contextmanager
def fresh_database_sync(prefix: str) -> Iterator[str]:
    """``fresh_database`` for a fixture of module or session scope."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    _admin_sync(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        _admin_sync(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_url(name: str) -> str:
    """A DSN of a database on the local server, as the trust-auth superuser."""
    return f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{name}"
