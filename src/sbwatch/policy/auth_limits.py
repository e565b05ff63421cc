"""Auth rate limits (pure): which GoTrue routes refuse requests steadily, and what governs them.

Each scrape gives GoTrue's 429 counters by route (``IoSample.auth_refused``). Between two
scrapes a route's rate is its counter's increase per minute; a counter lower than before
started again from zero (GoTrue restarted), its value is the increase. A burst is not a
problem: a route is refused *steadily* when every interval of the last ``SUSTAINED`` (and at
least that much time is read, over ``STEADY_INTERVALS`` intervals at least: one interval of
five minutes cannot tell a burst from a steady rate) refused more than
``REFUSED_PER_MINUTE``. Once said, a route stays said while it refuses at all, so a rate
hovering at the threshold does not come and go.

This is users being refused, never the project down: a warning with the route, the setting
that governs it and the lever (``PATCH .../config/auth``); never a compute change.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

REFUSED_PER_MINUTE = 1.0
"""429s a minute a route must exceed, interval after interval, to be refused steadily."""
SUSTAINED = timedelta(minutes=5)
"""How long a route must refuse above ``REFUSED_PER_MINUTE`` before it is said."""
STEADY_INTERVALS = 3
"""Consecutive scrape intervals above the threshold, at least, for a rate to be steady."""
KEEP = SUSTAINED + timedelta(minutes=20)
"""Readings older than this before the newest are not needed."""
MAX_GAP = timedelta(minutes=10)
"""Two readings further apart than this are not one interval (missed scrapes)."""


@dataclass(frozen=True, slots=True)
class AuthPoint:
    """GoTrue's 429 counters by route at one scrape."""

    at: datetime
    refused: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class RouteState:
    """One route's 429s now."""

    route: str
    per_minute: float
    """The rate over the last interval."""
    steady_for: timedelta
    """How long every interval back has been above ``REFUSED_PER_MINUTE``."""
    intervals: int = 0
    """How many intervals back have been above it."""

    @property
    def steady(self) -> bool:
        """Refused steadily: above the threshold for ``SUSTAINED`` and ``STEADY_INTERVALS``."""
        return self.steady_for >= SUSTAINED and self.intervals >= STEADY_INTERVALS


@dataclass(frozen=True, slots=True)
class AuthAssessment:
    """The routes refused now (steadily, or still refusing after having been said)."""

    at: datetime
    routes: tuple[RouteState, ...]
    """Every route that refused in the last interval, the highest rate first."""
    limited: tuple[str, ...]
    """The routes to warn about, sorted."""


def increase(before: float, after: float) -> float:
    """A counter's increase; a lower value is a counter started again from zero."""
    return after - before if after >= before else after


def rates(prev: AuthPoint, cur: AuthPoint) -> dict[str, float]:
    """Each route's 429s a minute between two readings (routes new in ``cur`` from zero)."""
    minutes = (cur.at - prev.at).total_seconds() / 60
    if minutes <= 0:
        return {}
    return {
        route: increase(prev.refused.get(route, 0.0), value) / minutes
        for route, value in cur.refused.items()
    }


def assess(
    points: Sequence[AuthPoint], now: datetime, said: Iterable[str] = ()
) -> AuthAssessment | None:
    """The routes refused at ``now``; None with fewer than two readings and nothing said.

    ``said`` are the routes of the open warning: they stay limited while they refuse at all,
    and until readings one interval apart say they stopped.
    """
    kept = [p for p in points if p.at <= now]
    if len(kept) < 2:
        # Too few readings to tell (after an outage, or scrapes late): not having seen a
        # route refuse is not having seen it stop. What was warned stays warned.
        return AuthAssessment(now, (), tuple(sorted(said))) if said else None
    intervals = list(itertools.pairwise(kept))
    if intervals[-1][1].at - intervals[-1][0].at > MAX_GAP and said:
        # The first reading after a gap (the metrics unreachable: an outage) says nothing of
        # the rate meanwhile: what was warned stays as the readings before the gap left it,
        # until a reading after it says the route stopped refusing.
        before = assess(kept[:-1], now, said)
        assert before is not None  # something was said, so it is held
        return replace(before, at=now)
    last = rates(*intervals[-1]) if intervals[-1][1].at - intervals[-1][0].at <= MAX_GAP else {}
    states = []
    for route, per_minute in last.items():
        if per_minute <= 0:
            continue
        steady_for, count = timedelta(0), 0
        for prev, cur in reversed(intervals):
            if cur.at - prev.at > MAX_GAP or rates(prev, cur).get(route, 0.0) <= REFUSED_PER_MINUTE:
                break
            steady_for += cur.at - prev.at
            count += 1
        states.append(RouteState(route, per_minute, steady_for, count))
    states.sort(key=lambda s: (-s.per_minute, s.route))
    held = set(said)
    limited = sorted(s.route for s in states if s.steady or s.route in held)
    return AuthAssessment(now, tuple(states), tuple(limited))
