"""The connections assessment (pure) and the words of its alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sbwatch.alerting.words import connections_lines, connections_title
from sbwatch.core.connections import DIRECT, REST, ConnReading
from sbwatch.core.tiers import Tier
from sbwatch.policy.connections import (
    NEAR_RATIO,
    SUSTAIN,
    WARN_WITHIN,
    ConnAssessment,
    ConnPoint,
    assess,
)

NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)
REF = "abcdefghijklmnopqrst"
EVERY = timedelta(minutes=5)


def direct(*used: float, limit: float = 60.0, leaker: str = "app_worker") -> list[ConnPoint]:
    """Scrapes every five minutes up to NOW with these direct connections (the leaker holds
    all but ten of them)."""
    return [
        ConnPoint(
            NOW - EVERY * (len(used) - 1 - i),
            ConnReading(
                direct_used=u,
                direct_max=limit,
                by_user=((leaker, u - 10), ("authenticator", 10.0)),
            ),
        )
        for i, u in enumerate(used)
    ]


def found(points: list[ConnPoint], tier: Tier = Tier.MICRO) -> ConnAssessment:
    """The assessment at NOW (there is one)."""
    result = assess(points, tier, NOW)
    assert result is not None
    return result


def test_one_scrape_at_the_limit_is_a_blip() -> None:
    """A single reading at the limit after ordinary ones says nothing."""
    assert "none" == found(direct(20, 20, 20, 57)).level


def test_two_scrapes_at_the_limit_are_full() -> None:
    """Two readings SUSTAIN apart at max_connections less the reserved slots: full, critical."""
    assert EVERY >= SUSTAIN
    result = found(direct(20, 57, 57))
    assert ("critical", DIRECT, True, 0.0) == (
        result.level,
        result.worst.pool if result.worst else None,
        result.worst.full if result.worst else None,
        result.worst.full_eta_s if result.worst else None,
    )


def test_sustained_near_the_limit_warns() -> None:
    """Over NEAR_RATIO for two scrapes (not climbing): a warning."""
    used = NEAR_RATIO * 60 + 1
    assert "warning" == found(direct(used, used, used)).level


def test_a_leak_is_warned_before_the_limit() -> None:
    """Ten connections an hour, 40 of 60 used: full (57) in ~1h42m, within WARN_WITHIN."""
    climb = [30 + 10 * i / 12 for i in range(13)]
    result = found(direct(*climb))
    assert result.worst is not None
    eta = result.worst.full_eta_s
    assert eta is not None
    assert ("warning", 10.0) == (result.level, round(result.worst.rate_per_h or 0, 1))
    assert abs(eta - 1.7 * 3600) < 60
    assert eta <= WARN_WITHIN.total_seconds()


def test_a_slow_climb_far_from_the_limit_is_quiet() -> None:
    """Two connections an hour at 40 of 60: full in eight hours, nothing to say yet."""
    climb = [38 + 2 * i / 12 for i in range(13)]
    assert "none" == found(direct(*climb)).level


def test_a_climb_in_a_quiet_pool_is_the_loads_swing() -> None:
    """A fast climb below half the limit is not warned of (TREND_FLOOR)."""
    climb = [5 + 20 * i / 12 for i in range(13)]
    assert "none" == found(direct(*climb)).level


def test_without_a_max_the_sizes_limit_applies() -> None:
    """An endpoint showing max 0 (the published sample): small's 90 is the limit."""
    result = found(direct(80, 88, 88, limit=0.0), Tier.SMALL)
    assert result.worst is not None
    assert (90.0, "size", True) == (result.worst.limit, result.worst.limit_from, result.worst.full)


def test_postgres_full_is_named_before_postgrests_pool() -> None:
    """Postgres full and PostgREST's pool waiting on it: Postgres is the pool to speak of."""
    reading = ConnReading(
        direct_used=57, direct_max=60, rest_max=10, rest_available=0, rest_waiting=4
    )
    points = [ConnPoint(NOW - EVERY, reading), ConnPoint(NOW, reading)]
    result = found(points)
    assert result.worst is not None
    assert (DIRECT, {DIRECT, REST}) == (
        result.worst.pool,
        {p.pool for p in result.pools if p.full},
    )


def test_the_leak_warning_names_the_pool_the_user_and_the_levers() -> None:
    """The words: which pool, when full, who holds them, the pooler's pool size, and the
    size that raises max_connections with its numbers."""
    result = found(direct(*[30 + 10 * i / 12 for i in range(13)]))
    assert "Postgres direct connections 67% used (40 of 60): full in ~1h42m" == (
        connections_title(result)
    )
    assert [
        "Postgres direct connections 67% used: 40 of 60 (max_connections).",
        "Climbing 10 an hour: a client opens connections it never closes.",
        "app_worker holds 30 of them: close its idle connections.",
        "Connect clients through the pooler and size its pool: "
        f"PATCH /v1/projects/{REF}/config/database/pooler (default_pool_size).",
        "A bigger size raises this limit: small allows 90 (micro 60).",
        "sbwatch changes nothing itself for connections.",
    ] == connections_lines(result, REF)


@pytest.mark.parametrize(
    ("tier", "line"),
    [
        (Tier.XL8, "No bigger size raises this limit (8xl 490)."),
        (Tier.NANO, "A bigger size raises this limit: small allows 90 (nano 60)."),
    ],
)
def test_a_bigger_size_is_proposed_only_where_it_raises_the_limit(tier: Tier, line: str) -> None:
    """Micro and nano share 60: the next size that raises it is small; nothing beyond 8XL."""
    result = found(direct(57, 57, 57), tier)
    assert line in connections_lines(result, REF)


def test_postgrests_pool_full_has_no_bigger_size() -> None:
    """PostgREST's pool is not set by the size: no size is proposed."""
    reading = ConnReading(rest_max=10, rest_available=0, rest_waiting=3, rest_timeouts_total=2)
    later = ConnReading(rest_max=10, rest_available=0, rest_waiting=5, rest_timeouts_total=9)
    result = found([ConnPoint(NOW - EVERY, reading), ConnPoint(NOW, later)])
    lines = connections_lines(result, REF)
    assert "PostgREST's pool full: 10 of 10, new connections refused" == connections_title(result)
    assert "7 requests timed out waiting for a connection." in lines
    assert not any("bigger size raises" in line for line in lines)
