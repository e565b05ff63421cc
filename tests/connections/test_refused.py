"""Postgres or the pooler refusing our database probe for want of room is exhausted
connections (before the budget and the platform while REST answers); the pooler full names its
pool size and the bigger size's pooler limit."""

from __future__ import annotations

import asyncio
import secrets
import struct
from datetime import UTC, datetime, timedelta
from typing import cast

import asyncpg
import pytest

from sbwatch.alerting.words import connections_lines, connections_title, evidence_lines
from sbwatch.core.connections import DIRECT, POOLER, ConnReading
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import (
    BudgetEstimate,
    Diagnosis,
    DiagnosisKind,
    Outcome,
    ProbeKind,
    ProbeResult,
    ProbeState,
    ProbeStatus,
    Severity,
)
from sbwatch.core.subjects import Subject
from sbwatch.core.tiers import Tier
from sbwatch.policy.alerts import Condition
from sbwatch.policy.connections import ConnPoint, assess
from sbwatch.policy.diagnosis import diagnose
from sbwatch.probes._pg import KeptConnection, outcome_of
from sbwatch.store.base import Store
from sbwatch.supabase.connections import POOLER_REFUSED
from sbwatch.watch.connections import ConnFlow
from sbwatch.watch.signals import build_signals

from ..servers import PG_ADMIN_DSN

REF = "abcdefghijklmnopqrst"
NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "message",
    [
        "sorry, too many clients already",
        "remaining connection slots are reserved for non-replication superuser connections",
    ],
)
def test_the_db_probe_refused_for_slots_is_connections_exhausted(message: str) -> None:
    """SQLSTATE 53300 (either wording) fails the probe as too many connections, and the
    diagnosis is connections_exhausted without a metrics scrape."""
    outcome, detail = outcome_of(asyncpg.TooManyConnectionsError(message))
    result = ProbeResult(REF, ProbeKind.DB, outcome, NOW, 0.1, detail)
    status = ProbeStatus(REF, ProbeKind.DB, ProbeState.DOWN, 0, 2, NOW, result, NOW)
    signals = build_signals(
        REF,
        NOW,
        {ProbeKind.DB: status},
        provider=None,
        budget=None,
        pressure=None,
        emails=(),
        warn_horizon_s=7200.0,
        low_ratio=0.2,
    )
    found = diagnose(signals)
    assert (Outcome.FAIL, DiagnosisKind.CONNECTIONS_EXHAUSTED) == (outcome, found.kind)
    said = evidence_lines(found.evidence)
    assert "the database refuses connections: too many connections" in said


def test_a_full_pooler_names_its_pool_size_and_the_bigger_sizes_limit() -> None:
    """The pooler's clients at medium's 600 (the endpoint shows no max): its pool size to
    PATCH, and large's 800."""
    reading = ConnReading(pooler_used=600, pooler_max=0)
    points = [ConnPoint(NOW - timedelta(minutes=5), reading), ConnPoint(NOW, reading)]
    found = assess(points, Tier.MEDIUM, NOW)
    assert found is not None
    assert found.worst is not None
    assert (POOLER, "size") == (found.worst.pool, found.worst.limit_from)
    assert "Pooler clients full: 600 of 600, new connections refused" == (connections_title(found))
    assert [
        "Pooler clients full: 600 of 600 (the size's limit).",
        f"Size the pooler's pool: PATCH /v1/projects/{REF}/config/database/pooler "
        "(default_pool_size).",
        "A bigger size raises this limit: large allows 800 (medium 600).",
        "sbwatch changes nothing itself for connections.",
    ] == connections_lines(found, REF)


async def _pooler_refusing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A pooler at its client limit, as Supavisor answers on the wire: the startup packet is
    read, a FATAL XX000 error sent, and the connection closed."""
    size = struct.unpack("!I", await reader.readexactly(4))[0]
    await reader.readexactly(size - 4)
    fields = b"".join(
        code + text.encode() + b"\0"
        for code, text in (
            (b"S", "FATAL"),
            (b"V", "FATAL"),
            (b"C", "XX000"),
            (b"M", "(EMAXCONN) max client connections reached, limit: 200"),
        )
    )
    body = fields + b"\0"
    writer.write(b"E" + struct.pack("!I", len(body) + 4) + body)
    await writer.drain()
    writer.close()


def _statuses(result: ProbeResult, *, rest: ProbeState) -> dict[ProbeKind, ProbeStatus]:
    """The db probe down with ``result``, REST in ``rest``."""
    rest_result = ProbeResult(REF, ProbeKind.REST, Outcome.OK, NOW, 0.1, "", 200)
    return {
        ProbeKind.DB: ProbeStatus(REF, ProbeKind.DB, ProbeState.DOWN, 0, 3, NOW, result, NOW),
        ProbeKind.REST: ProbeStatus(REF, ProbeKind.REST, rest, 5, 0, NOW, rest_result),
    }


def _diagnose(result: ProbeResult, *, rest: ProbeState = ProbeState.UP) -> Diagnosis:
    """The diagnosis with the budget run out, the status page showing a major outage."""
    provider = ProbeResult(
        REF,
        ProbeKind.STATUS_PAGE,
        Outcome.OK,
        NOW,
        0.1,
        data={"indicator": "major", "components": {"Database": "major_outage"}},
    )
    empty = BudgetEstimate(REF, NOW, Tier.MICRO, 0.0, 5.0, 0.0, 0.9, 11.0, 500.0)
    signals = build_signals(
        REF,
        NOW,
        _statuses(result, rest=rest),
        provider=provider,
        budget=empty,
        pressure=None,
        emails=(),
        warn_horizon_s=7200.0,
        low_ratio=0.2,
        tier=Tier.MICRO,
    )
    return diagnose(signals)


async def test_the_pooler_refusing_the_db_probe_while_rest_answers_is_connections() -> None:
    """The pooler's "max client connections reached" (a real wire answer) fails the db probe as
    too many connections; with REST answering it is connections exhausted naming the pooler,
    not the spent budget nor the status page's outage."""
    server = await asyncio.start_server(_pooler_refusing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    kept = KeptConnection(
        f"postgresql://postgres.{REF}:pw@127.0.0.1:{port}/postgres?sslmode=disable",
        connect_timeout_s=5.0,
        query_timeout_s=5.0,
    )
    try:
        async with server:
            with pytest.raises(asyncpg.PostgresError) as raised:
                await kept.run(lambda conn: conn.execute("SELECT 1"))
    finally:
        await kept.aclose()
    outcome, detail = outcome_of(raised.value)
    assert (Outcome.FAIL, POOLER_REFUSED) == (outcome, detail)
    found = _diagnose(ProbeResult(REF, ProbeKind.DB, outcome, NOW, 0.1, detail))
    assert (DiagnosisKind.CONNECTIONS_EXHAUSTED, POOLER) == (found.kind, found.refused_by)
    assert "the pooler refuses clients: max clients reached" in evidence_lines(found.evidence)
    assert "REST answers: the database serves" in evidence_lines(found.evidence)


@pytest.mark.integration  # the local PostgreSQL, reached without a server fixture
async def test_postgres_refusing_a_role_over_its_limit_is_connections_not_the_budget() -> None:
    """Real PostgreSQL refusing a connection for want of slots (a role limited to none) while
    REST answers and the budget reads empty: connections exhausted, Postgres's limit."""
    role = f"sbw_full_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
    try:
        with pytest.raises(asyncpg.TooManyConnectionsError) as raised:
            await asyncpg.connect(f"postgresql://{role}@127.0.0.1:5432/postgres")
    finally:
        await admin.execute(f"DROP ROLE {role}")
        await admin.close()
    outcome, detail = outcome_of(raised.value)
    found = _diagnose(ProbeResult(REF, ProbeKind.DB, outcome, NOW, 0.1, detail))
    assert (DiagnosisKind.CONNECTIONS_EXHAUSTED, DIRECT) == (found.kind, found.refused_by)
    said = evidence_lines(found.evidence)
    assert "the database refuses connections: too many connections" in said


def test_refused_while_rest_fails_too_under_a_spent_budget_is_the_budget() -> None:
    """REST failing as well under a spent budget: slow queries hold the connections, the
    budget is the cause (a bigger size cures both)."""
    result = ProbeResult(REF, ProbeKind.DB, Outcome.FAIL, NOW, 0.1, "too many connections")
    found = _diagnose(result, rest=ProbeState.DOWN)
    assert DiagnosisKind.IO_BUDGET_EXHAUSTED == found.kind


def test_the_refused_alert_names_the_lever_without_a_scrape() -> None:
    """No metrics scrape shows the pool: the diagnosis alert still carries the levers of the
    pool that refused, the pooler's pool size and the bigger size's pooler limit."""
    result = ProbeResult(REF, ProbeKind.DB, Outcome.FAIL, NOW, 0.1, POOLER_REFUSED)
    found = _diagnose(result)
    flow = ConnFlow(Metrics(), cast(Store, None))  # neither saved nor read here
    flow.assess(REF, Tier.MICRO, NOW)
    evidence = "\n".join(evidence_lines(found.evidence))
    head = Condition(REF, Subject.DIAGNOSIS, Severity.CRITICAL, "t", evidence, True)
    conditions = [head]
    flow.fold_into(conditions, REF, found)
    assert [
        "The pooler takes no new connections: close idle clients (the ones holding the most).",
        f"Size the pooler's pool: PATCH /v1/projects/{REF}/config/database/pooler "
        "(default_pool_size).",
        "A bigger size raises this limit: small allows 400 (micro 200).",
        "sbwatch changes nothing itself for connections.",
    ] == conditions[0].body.splitlines()[len(found.evidence) :]
