"""The db probe against the real PostgreSQL on 127.0.0.1:5432, on a fresh database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from tests.probes.conftest import (
    DB_PASSWORD,
    PG_ADMIN_DSN,
    FreezableProxy,
    db_dsn,
    make_ctx,
    make_settings,
)
from tests.servers import free_port

from sbwatch.core.clock import SystemClock
from sbwatch.core.results import Outcome, ProbeResult
from sbwatch.probes.db import DbProbe

pytestmark = pytest.mark.integration  # every test here talks to the real PostgreSQL


def _probe(
    http: httpx.AsyncClient, dsn: str, *, every: int = 10, timeout_s: float = 2.0
) -> DbProbe:
    settings = make_settings(dsn=dsn, fresh_every=every, timeout_s=timeout_s)
    return DbProbe(make_ctx(settings, http, SystemClock()))


async def _runs(probe: DbProbe, count: int) -> list[ProbeResult]:
    try:
        return [await probe.run() for _ in range(count)]
    finally:
        await probe.aclose()


async def _db_stats(database: str, sessions: int, deadline_s: float = 15.0) -> tuple[int, int]:
    """(blocks read + hit, sessions) of ``database`` once ``sessions`` have been counted."""
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        async with asyncio.timeout(deadline_s):
            while True:
                await admin.execute("SELECT pg_stat_clear_snapshot()")
                row = await admin.fetchrow(
                    "SELECT blks_read + blks_hit AS blocks, sessions"
                    " FROM pg_stat_database WHERE datname = $1",
                    database,
                )
                assert row is not None
                if row["sessions"] >= sessions:
                    return int(row["blocks"]), int(row["sessions"])
                await asyncio.sleep(0.05)
    finally:
        await admin.close()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client the db probe does not use (the context needs one)."""
    async with httpx.AsyncClient() as client:
        yield client


async def test_ok_against_real_postgres(http: httpx.AsyncClient, pg_database: str) -> None:
    """SELECT 1 on a reachable database is ok, and stays ok on the kept connection."""
    results = await _runs(_probe(http, db_dsn(pg_database)), 3)
    assert [Outcome.OK] * 3 == [r.outcome for r in results]
    assert all(r.duration_s > 0 for r in results)


async def test_liveness_runs_read_zero_blocks(http: httpx.AsyncClient, pg_database: str) -> None:
    """A session of 101 runs reads exactly the blocks of a 1-run session: liveness reads none."""
    # Other backends (autovacuum) can only add blocks to one window; an equal pair proves it.
    costs: list[tuple[int, int]] = []
    for _ in range(3):
        blocks0, sessions0 = await _db_stats(pg_database, 1)
        await _runs(_probe(http, db_dsn(pg_database), every=10_000), 1)
        blocks1, sessions1 = await _db_stats(pg_database, sessions0 + 1)
        await _runs(_probe(http, db_dsn(pg_database), every=10_000), 101)
        blocks2, _ = await _db_stats(pg_database, sessions1 + 1)
        costs.append((blocks1 - blocks0, blocks2 - blocks1))
        if costs[-1][0] == costs[-1][1]:
            break
    assert costs[-1][0] == costs[-1][1], costs


async def test_fresh_connection_cadence(http: httpx.AsyncClient, pg_database: str) -> None:
    """With fresh_connection_every=3, ten runs open the kept connection plus three fresh ones."""
    _, before = await _db_stats(pg_database, 1)
    results = await _runs(_probe(http, db_dsn(pg_database), every=3), 10)
    _, after = await _db_stats(pg_database, before + 4)
    assert [Outcome.OK] * 10 == [r.outcome for r in results]
    assert 4 == after - before


async def test_reconnects_when_the_kept_connection_is_killed(
    http: httpx.AsyncClient, pg_database: str
) -> None:
    """A terminated backend is replaced within the same run: still ok."""
    probe = _probe(http, db_dsn(pg_database))
    try:
        first = await probe.run()
        killed = await _terminate_probe_backends(pg_database)
        second = await probe.run()
    finally:
        await probe.aclose()
    assert (1, Outcome.OK, Outcome.OK) == (killed, first.outcome, second.outcome)


async def _terminate_probe_backends(database: str) -> int:
    """Terminate the probe's backends and wait until they are gone."""
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    where = "WHERE datname = $1 AND application_name = 'sbwatch'"
    try:
        killed: int = await admin.fetchval(
            f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity {where}", database
        )
        async with asyncio.timeout(10):
            while await admin.fetchval(f"SELECT count(*) FROM pg_stat_activity {where}", database):
                await asyncio.sleep(0.02)
                await admin.execute("SELECT pg_stat_clear_snapshot()")
        return killed
    finally:
        await admin.close()


async def test_refused_port_is_an_error(http: httpx.AsyncClient) -> None:
    """Nothing listening: outcome error 'connection refused'."""
    [result] = await _runs(_probe(http, db_dsn("postgres", port=free_port())), 1)
    assert (Outcome.ERROR, "connection refused") == (result.outcome, result.detail)


async def test_silent_server_is_a_connect_timeout(
    http: httpx.AsyncClient, silent_port: int
) -> None:
    """A server that accepts and never answers: outcome timeout on connect."""
    [result] = await _runs(_probe(http, db_dsn("postgres", port=silent_port), timeout_s=0.3), 1)
    assert (Outcome.TIMEOUT, "connect timed out after 0.3s") == (result.outcome, result.detail)


async def test_hung_server_is_a_query_timeout_then_recovers(
    http: httpx.AsyncClient, pg_database: str, pg_proxy: FreezableProxy
) -> None:
    """A kept connection that stops answering times out, and the next run reconnects."""
    probe = _probe(http, db_dsn(pg_database, port=pg_proxy.port), timeout_s=0.5)
    try:
        first = await probe.run()
        pg_proxy.flowing.clear()
        hung = await probe.run()
        pg_proxy.flowing.set()
        recovered = await probe.run()
    finally:
        await probe.aclose()
    assert (Outcome.OK, Outcome.TIMEOUT, Outcome.OK) == (
        first.outcome,
        hung.outcome,
        recovered.outcome,
    )
    assert "query timed out after 0.5s" == hung.detail


@pytest.mark.parametrize(
    ("dsn", "outcome", "detail"),
    [
        (db_dsn("postgres", user="no_such_role_sbwatch"), Outcome.FAIL, "authentication rejected"),
        (db_dsn("no_such_database_sbwatch"), Outcome.FAIL, "database does not exist"),
        (db_dsn("postgres", host="db.invalid"), Outcome.ERROR, "DNS lookup failed"),
    ],
    ids=["auth", "no-database", "dns"],
)
async def test_expected_failures_are_outcomes(
    http: httpx.AsyncClient, dsn: str, outcome: Outcome, detail: str
) -> None:
    """Auth rejection, a missing database and DNS are outcomes without secrets (a DSN that is no
    postgresql:// URL never reaches the probe: the configuration refuses it)."""
    [result] = await _runs(_probe(http, dsn), 1)
    assert (outcome, detail) == (result.outcome, result.detail)
    assert DB_PASSWORD not in repr(result)


@pytest.mark.parametrize("dsn", ["not a dsn://", ""], ids=["bad-dsn", "no-dsn"])
def test_a_dsn_that_is_no_postgresql_url_is_refused_before_any_probe(dsn: str) -> None:
    """The configuration names db_dsn for a DSN the probe could never use."""
    with pytest.raises(ValueError, match="db_dsn") as caught:
        make_settings(dsn=dsn)
    assert "postgresql://" in str(caught.value)
