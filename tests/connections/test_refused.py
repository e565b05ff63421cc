"""Postgres refusing our database probe for want of slots is exhausted connections; the pooler
full names its pool size and the bigger size's pooler limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from sbwatch.alerting.connections import connections_lines, connections_title
from sbwatch.core.results import (
    DiagnosisKind,
    Outcome,
    ProbeKind,
    ProbeResult,
    ProbeState,
    ProbeStatus,
)
from sbwatch.policy.connections import ConnPoint, assess
from sbwatch.policy.diagnosis import diagnose
from sbwatch.probes._pg import outcome_of
from sbwatch.supabase.connections import POOLER, ConnReading
from sbwatch.supabase.tiers import Tier
from sbwatch.watch.signals import build_signals

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
    assert "the database refuses connections: too many connections" in found.evidence


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
