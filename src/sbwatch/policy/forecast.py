"""The week's pattern of disk IO, and the budget run forward through it (pure).

A project's load repeats: busy days, quiet nights, a heavier Monday. :class:`Profile` learns
the mean throughput and IOPS of every hour of the week from what the metrics showed (a capped
running mean per hour, so that the latest weeks count most). Until a week is recorded the
hour of the day stands in for the hour of the week.

:func:`run_forward` plays both buckets forward hour by hour at the learned rates: when they
empty, or that they refill every day. A load well above what the hour usually brings (a
burst) is assumed to go on: the forecast then runs at the current rate instead.
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sbwatch.policy.tokens import Bucket

HOUR_S = 3600.0
WEEK_HOURS = 168
SLOT_CAP_S = 3 * HOUR_S
"""An hour's mean weighs at most three observed hours: older weeks fade as new ones come."""
DAY_KNOWN_S = 20 * HOUR_S
"""The hour-of-day pattern is known once this much of a day has been observed."""
WEEK_KNOWN_HOURS = 150
"""The hour-of-week pattern is used once this many of the week's hours have been seen."""
HORIZON_HOURS = 7 * 24
HELD_EMPTY = 0.01
"""A balance at or under this share of its capacity that does not rise is held, not refilling."""
BURST_FACTOR = 1.5
"""A load this many times the hour's usual (and above the baseline) is a burst, not the day."""


@dataclass
class Profile:
    """Mean MB/s and IOPS for each hour of the week, with how much each has been observed."""

    mb: list[float] = field(default_factory=lambda: [0.0] * WEEK_HOURS)
    ops: list[float] = field(default_factory=lambda: [0.0] * WEEK_HOURS)
    seen: list[float] = field(default_factory=lambda: [0.0] * WEEK_HOURS)

    def add(self, at: datetime, seconds: float, mbps: float, iops: float) -> None:
        """Fold in ``seconds`` of load that ended at ``at`` (split over the hours it spans)."""
        end = at
        left = seconds
        while left > 0:
            slot = _slot(end - timedelta(microseconds=1))
            into_hour = (end - end.replace(minute=0, second=0, microsecond=0)).total_seconds()
            part = min(left, into_hour or HOUR_S)
            weight = min(self.seen[slot] + part, SLOT_CAP_S)
            share = part / weight
            self.mb[slot] += (mbps - self.mb[slot]) * share
            self.ops[slot] += (iops - self.ops[slot]) * share
            self.seen[slot] = weight
            end -= timedelta(seconds=part)
            left -= part

    @property
    def observed_s(self) -> float:
        """Seconds of load behind the profile (each hour counted up to its cap)."""
        return sum(self.seen)

    @property
    def known(self) -> bool:
        """Whether enough of a day is recorded to forecast with the pattern."""
        return sum(map(min, self.seen, itertools.repeat(HOUR_S))) >= DAY_KNOWN_S

    def rate_at(self, at: datetime) -> tuple[float, float] | None:
        """The usual (MB/s, IOPS) at the hour of ``at``; None when that hour is unknown."""
        return self._rate(_slot(at), self._weekly())

    def week_rates(self) -> list[tuple[float, float] | None]:
        """:meth:`rate_at` for every hour of the week, Monday 00:00 UTC first."""
        weekly = self._weekly()
        daily = [self._daily(hour) for hour in range(24)]
        return [
            (self.mb[slot], self.ops[slot]) if weekly and self.seen[slot] > 0 else daily[slot % 24]
            for slot in range(WEEK_HOURS)
        ]

    def _weekly(self) -> bool:
        return WEEK_HOURS - self.seen.count(0.0) >= WEEK_KNOWN_HOURS

    def _rate(self, slot: int, weekly: bool) -> tuple[float, float] | None:
        if weekly and self.seen[slot] > 0:
            return self.mb[slot], self.ops[slot]
        return self._daily(slot % 24)

    def _daily(self, hour: int) -> tuple[float, float] | None:
        """The observed-time weighted mean of ``hour`` over the days of the week seen."""
        seen = self.seen[hour::24]
        total = sum(seen)
        if total <= 0:
            return None
        mb = sum(map(operator.mul, self.mb[hour::24], seen)) / total
        ops = sum(map(operator.mul, self.ops[hour::24], seen)) / total
        return mb, ops

    def to_state(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot."""
        return {"mb": self.mb, "ops": self.ops, "seen": self.seen}

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> Profile:
        """Rebuild from :meth:`to_state` (an empty profile for None)."""
        if not state:
            return cls()
        return cls(
            [float(x) for x in state["mb"]],
            [float(x) for x in state["ops"]],
            [float(x) for x in state["seen"]],
        )


@dataclass(frozen=True)
class Outlook:
    """The budget run forward: when it empties (None: not within the horizon), and why."""

    eta_s: float | None
    refills: bool
    """Over every day ahead the budget earns back what it spends: not at risk."""
    burst: bool
    """The load now is well above the hour's usual: the forecast ran at the current rate."""


def run_forward(
    mb: Bucket,
    ops: Bucket,
    profile: Profile,
    now: datetime,
    current: tuple[float, float],
    latest: tuple[float, float],
) -> Outlook:
    """Play both buckets forward at the learned hourly rates (the current rate in a burst).

    ``current`` is the smoothed rate, ``latest`` the last interval's: a burst is a load both
    see well above the hour's usual, so neither a lagging average at the turn of the day nor
    one odd minute counts as one.
    """
    # The hour just begun and the one before: the load seen now may still be the last hour's.
    hours = [r for r in (profile.rate_at(now), profile.rate_at(now - timedelta(hours=1))) if r]
    usual = (max(r[0] for r in hours), max(r[1] for r in hours)) if hours else None
    burst = usual is not None and any(
        rate > bucket.baseline and rate > BURST_FACTOR * max(normal, 1e-9)
        for rate, normal, bucket in (
            (min(current[0], latest[0]), usual[0], mb),
            (min(current[1], latest[1]), usual[1], ops),
        )
    )
    week = profile.week_rates()
    levels = [mb.level, ops.level]
    daily_low = list(levels)
    refills = True
    drawn = [(i, b.baseline, b.capacity) for i, b in enumerate((mb, ops)) if b.capacity > 0]
    slot = _slot(now)
    for hour in range(HORIZON_HOURS):
        rates = current if burst else (week[slot] or current)
        for index, baseline, capacity in drawn:
            rate = rates[index]
            net = (rate - baseline) * HOUR_S
            if net > 0 and levels[index] <= net:
                return Outlook(hour * HOUR_S + levels[index] / (rate - baseline), False, burst)
            levels[index] = min(capacity, levels[index] - net)
        slot = (slot + 1) % WEEK_HOURS
        if (hour + 1) % 24 == 0:  # a day on: no lower than a day ago (or full)
            refills = refills and all(
                _earns_back(level, day_ago, bucket)
                for level, day_ago, bucket in zip(levels, daily_low, (mb, ops), strict=True)
            )
            daily_low = list(levels)
    return Outlook(None, refills, burst)


def _earns_back(level: float, day_ago: float, bucket: Bucket) -> bool:
    """Whether a day on the balance is no lower than a day ago (or full). An empty balance
    that stays empty is held at the baseline, not refilling."""
    if level >= bucket.capacity - 1e-6:
        return True
    if level <= HELD_EMPTY * bucket.capacity and level <= day_ago + 1e-6:
        return False
    return level >= day_ago - 1e-6


def _slot(at: datetime) -> int:
    """The hour of the week of ``at`` (Monday 00:00 UTC is 0)."""
    return at.weekday() * 24 + at.hour
