"""The local servers the integration tests use: throwaway PostgreSQL databases, free ports."""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager

import asyncpg

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN_DSN = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres"
"""The maintenance database of the local server (trust auth)."""


PORTS_BELOW = 32768
"""Where the kernel's ephemeral range starts (net.ipv4.ip_local_port_range, 32768-60999 by
default): ports below are handed out only when asked for by number."""
_PORTS_PER_WORKER = 2000
_next_port = itertools.count()
_port_lock = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now, for a server a test starts later.

    The kernel's own pick (bind to port 0) would be free now but could go to any client socket
    of a parallel test before the server binds it. So each pytest worker counts through a slice
    of its own below the ephemeral range, and each port is handed out once per run."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = PORTS_BELOW - _PORTS_PER_WORKER * (1 + int(worker) % 8)
    while True:
        with _port_lock:
            port = first + next(_next_port) % _PORTS_PER_WORKER
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # a server of this worker still holds it, or something else does
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
