"""The database proxy in front of the real PostgreSQL: pass, stall and cut, with asyncpg."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from sbwatch.sim.dbproxy import DbProxy

pytestmark = pytest.mark.integration


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[DbProxy, int]]:
    """A proxy to 127.0.0.1:5432 on a free port."""
    db_proxy = DbProxy("127.0.0.1", 5432)
    port = await db_proxy.start()
    try:
        yield db_proxy, port
    finally:
        await db_proxy.stop()


def dsn(port: int) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


async def test_pass_forwards_queries(proxy: tuple[DbProxy, int]) -> None:
    """In pass mode a query goes through."""
    _, port = proxy
    connection = await asyncpg.connect(dsn(port), timeout=5)
    try:
        assert 42 == await connection.fetchval("select 42")
    finally:
        await connection.close()


async def test_delay_holds_each_query_back(proxy: tuple[DbProxy, int]) -> None:
    """With a delay set (a throttled database), queries still answer, but late."""
    db_proxy, port = proxy
    connection = await asyncpg.connect(dsn(port), timeout=5)
    try:
        db_proxy.set_delay(0.3)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert 42 == await connection.fetchval("select 42")
        assert 0.3 <= loop.time() - started
        assert 0.3 == db_proxy.delay_s
    finally:
        db_proxy.set_delay(0)
        await connection.close()


async def test_stall_makes_connect_time_out(proxy: tuple[DbProxy, int]) -> None:
    """In stall mode the connection is accepted but never answered: the client times out."""
    db_proxy, port = proxy
    db_proxy.set_mode("stall")
    with pytest.raises(TimeoutError):
        await asyncpg.connect(dsn(port), timeout=1)


async def test_cut_refuses_the_session(proxy: tuple[DbProxy, int]) -> None:
    """In cut mode the connection is closed at once."""
    db_proxy, port = proxy
    db_proxy.set_mode("cut")
    with pytest.raises((ConnectionError, OSError, asyncpg.PostgresError)):
        await asyncpg.connect(dsn(port), timeout=5)


async def test_cut_drops_open_connections_and_pass_recovers(proxy: tuple[DbProxy, int]) -> None:
    """Switching to cut closes live sessions; back to pass, new sessions work."""
    db_proxy, port = proxy
    connection = await asyncpg.connect(dsn(port), timeout=5)
    try:
        db_proxy.set_mode("cut")
        with pytest.raises(
            (ConnectionError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError)
        ):
            await connection.fetchval("select 1", timeout=5)
    finally:
        connection.terminate()
    db_proxy.set_mode("pass")
    again = await asyncpg.connect(dsn(port), timeout=5)
    try:
        assert 1 == await again.fetchval("select 1")
    finally:
        await again.close()


def test_unknown_mode_refused() -> None:
    """Only pass, stall and cut exist."""
    with pytest.raises(ValueError, match="unknown proxy mode"):
        DbProxy().set_mode("slow")
