"""The connections limit: how full each pool is, whether it stays so, and when a climb fills it.

Pure: readings of the metrics scrape in, an assessment out. A pool is near its limit when
its latest readings (two at least, ``SUSTAIN`` apart or more) are all at ``NEAR_RATIO`` or
more, full when they all leave no more than the slots Postgres keeps for superusers: one
scrape over the line is a blip, not a finding. A climb (a client opening connections it never
closes) is the least-squares slope of the last ``TREND_WINDOW``; it is warned of when it
fills the pool within ``WARN_WITHIN``, before the limit is hit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sbwatch.core.connections import DIRECT, POOLER, POOLS, REST, ConnReading
from sbwatch.core.facts import Fact, FactKind
from sbwatch.core.tiers import Tier
from sbwatch.supabase.connections import (
    RESERVED_SLOTS,
    size_limit,
)

NEAR_RATIO = 0.8
"""A pool this full, sustained, is worth a warning."""
SUSTAIN = timedelta(minutes=4)
"""How long a pool must stay near or at its limit (readings that far apart at least)."""
TREND_WINDOW = timedelta(hours=1)
"""The climb is the slope of the readings of this last stretch."""
MIN_TREND_READINGS = 3
TREND_FLOOR = 0.5
"""A climb in a pool less than half full is not warned of: it is the load's ordinary swing."""
WARN_WITHIN = timedelta(hours=2)
"""A climb that fills a pool within this is warned of."""

Level = Literal["none", "warning", "critical"]


@dataclass(frozen=True, slots=True)
class ConnPoint:
    """One scrape's connections, at its time."""

    at: datetime
    reading: ConnReading


@dataclass(frozen=True, slots=True)
class PoolState:
    """One pool now: use, limit (and where it comes from), the climb and the verdict."""

    pool: str
    used: float
    limit: float
    limit_from: str
    """"metrics" (the endpoint shows it) or "size" (the per-size table)."""
    near: bool
    full: bool
    rate_per_h: float | None = None
    full_eta_s: float | None = None
    """Seconds until the climb fills it (0: full now; None: not climbing)."""
    waiting: float | None = None
    timeouts: float = 0.0
    """PostgREST's pool: requests that timed out waiting for a connection since the scrape
    before."""

    @property
    def ratio(self) -> float:
        """The used share."""
        return self.used / self.limit if self.limit > 0 else 0.0


@dataclass(frozen=True, slots=True)
class ConnAssessment:
    """Every pool of one project, and the one to speak of."""

    at: datetime
    tier: Tier
    pools: tuple[PoolState, ...]
    worst: PoolState | None
    level: Level
    top_user: tuple[str, float] | None = None
    """The username holding the most direct connections (when the endpoint gives them)."""


def _values(reading: ConnReading, pool: str, tier: Tier) -> tuple[float, float, str] | None:
    """(used, limit, where the limit comes from) of one pool in one reading."""
    if pool == DIRECT:
        used, shown = reading.direct_used, reading.direct_max
    elif pool == POOLER:
        used, shown = reading.pooler_used, reading.pooler_max
    else:
        used, shown = reading.rest_used, reading.rest_max
    if used is None:
        return None
    if shown is not None and shown > 0:
        return used, shown, "metrics"
    by_size = size_limit(tier, pool)
    return (used, float(by_size), "size") if by_size else None


def _full_line(pool: str, limit: float) -> float:
    """The use at which ``pool`` takes no one more (Postgres keeps slots for superusers)."""
    return limit - RESERVED_SLOTS if pool == DIRECT else limit


def _is_full(pool: str, reading: ConnReading, used: float, limit: float) -> bool:
    if pool == REST:
        return used >= limit and bool(reading.rest_waiting)
    return used >= _full_line(pool, limit)


def _held(
    seen: Sequence[tuple[ConnPoint, tuple[float, float, str]]],
    holds: Callable[[ConnPoint, tuple[float, float, str]], bool],
) -> bool:
    """The latest readings all hold, two at least, over ``SUSTAIN`` or more: not a blip (the
    readings from the newest back to the first that does not hold)."""
    run: list[datetime] = []
    for point, values in reversed(seen):
        if not holds(point, values):
            break
        run.append(point.at)
    return len(run) >= 2 and run[0] - run[-1] >= SUSTAIN


def slope_per_h(points: Sequence[tuple[datetime, float]]) -> float | None:
    """The least-squares slope of (time, value) in units an hour; None with too few points."""
    if len(points) < MIN_TREND_READINGS:
        return None
    t0 = points[0][0]
    xs = [(at - t0).total_seconds() / 3600 for at, _ in points]
    ys = [value for _, value in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var <= 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


def pool_state(
    points: Sequence[ConnPoint], pool: str, tier: Tier, now: datetime
) -> PoolState | None:
    """One pool over the readings (oldest first); None when the endpoint does not show it."""
    seen = [(p, v) for p in points if (v := _values(p.reading, pool, tier)) is not None]
    if not seen:
        return None
    last, (used, limit, source) = seen[-1]
    near = _held(seen, lambda p, v: v[0] >= NEAR_RATIO * v[1])
    full = _held(seen, lambda p, v: _is_full(pool, p.reading, v[0], v[1]))
    since = now - TREND_WINDOW
    window = [(p.at, v[0]) for p, v in seen if p.at >= since]
    rate = slope_per_h(window)
    eta: float | None = None
    line = _full_line(pool, limit)
    if used >= line:
        eta = 0.0
    elif rate is not None and rate > 0 and window[-1][1] > window[0][1]:
        eta = (line - used) / rate * 3600
    timeouts = 0.0
    if pool == REST and len(seen) >= 2:
        before, after = (p.reading.rest_timeouts_total or 0.0 for p, _ in seen[-2:])
        timeouts = max(0.0, after - before)  # a counter reset (a restart) is no timeout
    waiting = last.reading.rest_waiting if pool == REST else None
    return PoolState(pool, used, limit, source, near, full, rate, eta, waiting, timeouts)


def _rank(state: PoolState) -> tuple[int, float, int]:
    """Full pools first (Postgres before the pools that wait on it), then the soonest full."""
    eta = state.full_eta_s if state.full_eta_s is not None else float("inf")
    return (0 if state.full else 1, eta, POOLS.index(state.pool))


def warned(state: PoolState) -> bool:
    """Near its limit for a while, or climbing to it within ``WARN_WITHIN``."""
    if state.near or state.full:
        return True
    eta = state.full_eta_s  # 0 (at the line now) is judged as full: sustained, not a blip
    soon = eta is not None and 0 < eta <= WARN_WITHIN.total_seconds()
    return soon and state.ratio >= TREND_FLOOR


def assess(points: Sequence[ConnPoint], tier: Tier, now: datetime) -> ConnAssessment | None:
    """Every pool the readings show, the worst of them and how loud to be; None without any."""
    if not points:
        return None
    pools = tuple(s for pool in POOLS if (s := pool_state(points, pool, tier, now)) is not None)
    if not pools:
        return None
    speaking = sorted((s for s in pools if warned(s)), key=_rank)
    worst = speaking[0] if speaking else None
    level: Level = "none" if worst is None else ("critical" if worst.full else "warning")
    users = points[-1].reading.by_user
    top = users[0] if users and users[0][1] > 0 else None
    return ConnAssessment(now, tier, pools, worst, level, top)


def pool_fact(state: PoolState) -> Fact:
    """One fact of evidence: the pool, how full, of what limit (``alerting.words`` says it)."""
    return Fact(
        FactKind.POOL,
        pool=state.pool,
        used=state.used,
        limit=state.limit,
        from_size=state.limit_from == "size",
        ratio=state.ratio,
        full=state.full or state.full_eta_s == 0,
        waiting=state.waiting,
    )
