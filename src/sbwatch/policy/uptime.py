"""Availability against an objective (pure): states, coverage and maintenance in; figures out.

A service (db, rest, auth: what the registry's probes speak for) is down while its thresholded
state is down, the state the alerts read: a single failed probe is not downtime. Time inside a
maintenance window of the project counts neither way. Time without a result of the service's
probe (sbwatch stopped, the probe off) and time in state unknown are unknown, never up.
Availability is up / (up + down), the time known; the error budget is (1 - objective) of the
window less its maintenance, spent by the time down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sbwatch.config.oncall import MaintenanceSettings
from sbwatch.core.cron import cron_trigger
from sbwatch.core.oncall import MaintenanceWindow
from sbwatch.core.results import ProbeKind, ProbeState, Transition

WINDOWS = {"7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}
"""The rolling windows availability is given over, each ending now."""
BUDGET_WINDOW = "30d"
"""The error budget is counted over this window."""
DAYS = 90
"""Days in the bar of days (today, so far, the last)."""
LOOKBACK = WINDOWS["90d"]

Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Tally:
    """Seconds of one stretch of time, by what the service was."""

    up_s: float = 0.0
    down_s: float = 0.0
    unknown_s: float = 0.0
    maintenance_s: float = 0.0

    @property
    def availability(self) -> float | None:
        """Up over the time known (None when nothing is known)."""
        known = self.up_s + self.down_s
        return self.up_s / known if known > 0 else None


@dataclass(frozen=True, slots=True)
class Budget:
    """The error budget of one window: what the objective allows down, and what was spent."""

    allowed_s: float
    spent_s: float

    @property
    def remaining_ratio(self) -> float | None:
        """The share of the budget left (negative once overspent; None when none is allowed)."""
        return 1.0 - self.spent_s / self.allowed_s if self.allowed_s > 0 else None


@dataclass(frozen=True, slots=True)
class ServiceUptime:
    """One service's figures: each window's tally, the budget, and one tally a day."""

    service: ProbeKind
    windows: dict[str, Tally]
    budget: Budget
    days: list[tuple[date, Tally]]


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted, disjoint spans covering the same time (empty ones dropped)."""
    out: list[Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def subtract(spans: Sequence[Span], cut: Sequence[Span]) -> list[Span]:
    """The parts of merged ``spans`` outside merged ``cut``."""
    out: list[Span] = []
    for start, end in spans:
        at = start
        for c_start, c_end in cut:
            if c_end <= at or c_start >= end:
                continue
            if c_start > at:
                out.append((at, c_start))
            at = max(at, c_end)
        if at < end:
            out.append((at, end))
    return out


def intersect(spans: Sequence[Span], other: Sequence[Span]) -> list[Span]:
    """The time in both merged span lists."""
    out = []
    for start, end in spans:
        for o_start, o_end in other:
            low, high = max(start, o_start), min(end, o_end)
            if low < high:
                out.append((low, high))
    return merge(out)


def seconds_within(spans: Sequence[Span], start: datetime, end: datetime) -> float:
    """How much of [start, end) the merged ``spans`` cover."""
    total = 0.0
    for s_start, s_end in spans:
        low, high = max(s_start, start), min(s_end, end)
        if low < high:
            total += (high - low).total_seconds()
    return total


def state_spans(
    transitions: Sequence[Transition], current: ProbeState, since: datetime, now: datetime
) -> dict[ProbeState, list[Span]]:
    """When the service was in each state between ``since`` and ``now``, from its transitions
    in that time (oldest first) and its state now: before the first, the state it left."""
    ordered = sorted((t for t in transitions if since <= t.at <= now), key=lambda t: t.at)
    state = ordered[0].previous if ordered else current
    found: dict[ProbeState, list[Span]] = {s: [] for s in ProbeState}
    at = since
    for transition in ordered:
        found[state].append((at, transition.at))
        state, at = transition.current, transition.at
    found[state].append((at, now))
    return {s: merge(spans) for s, spans in found.items()}


def covered(runs: Iterable[Span], slot: timedelta, interval: timedelta) -> list[Span]:
    """The time a service's probe results cover, from the runs of slots holding one: each run,
    and when the probe runs less often than a slot lasts, up to one interval after it."""
    extra = max(slot, slot * -(-interval // slot)) - slot
    return merge((start, end + extra) for start, end in runs)


def maintenance_spans(
    project: str,
    stored: Sequence[MaintenanceWindow],
    configured: Sequence[MaintenanceSettings],
    refs: Mapping[str, str],
    since: datetime,
    now: datetime,
) -> list[Span]:
    """Every maintenance window of ``project`` (or of every project) between ``since`` and
    ``now``: those kept in the store and each configured span and schedule, played forward."""
    spans = [(w.starts_at, w.ends_at) for w in stored if w.project in (project, "*")]
    for entry in configured:
        if refs.get(entry.project, entry.project) not in (project, "*"):
            continue
        if entry.cron is not None and entry.duration is not None:
            trigger = cron_trigger(entry.cron, entry.timezone)
            fire = trigger.get_next_fire_time(None, since - entry.duration)
            while isinstance(fire, datetime) and fire < now:
                start = fire.astimezone(UTC)
                spans.append((start, start + entry.duration))
                fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        elif entry.start is not None and entry.end is not None:
            spans.append((entry.start, entry.end))
    return [(max(s, since), min(e, now)) for s, e in merge(spans) if e > since and s < now]


def tally(
    up: Sequence[Span], down: Sequence[Span], maint: Sequence[Span], start: datetime, end: datetime
) -> Tally:
    """The tally of [start, end) from the disjoint up, down and maintenance time."""
    length = max(0.0, (end - start).total_seconds())
    up_s = seconds_within(up, start, end)
    down_s = seconds_within(down, start, end)
    maint_s = seconds_within(maint, start, end)
    return Tally(up_s, down_s, max(0.0, length - up_s - down_s - maint_s), maint_s)


def service_uptime(
    service: ProbeKind,
    states: Mapping[ProbeState, Sequence[Span]],
    coverage: Sequence[Span],
    maint: Sequence[Span],
    objective: float,
    now: datetime,
) -> ServiceUptime:
    """The figures of one service as of ``now``; ``objective`` in percent (99.9)."""
    known = subtract(coverage, maint)
    up = intersect(states.get(ProbeState.UP, []), known)
    down = intersect(states.get(ProbeState.DOWN, []), known)
    windows = {name: tally(up, down, maint, now - span, now) for name, span in WINDOWS.items()}
    spent = windows[BUDGET_WINDOW]
    length = WINDOWS[BUDGET_WINDOW].total_seconds() - spent.maintenance_s
    budget = Budget((1 - objective / 100) * length, spent.down_s)
    today = now.date()
    days = []
    for back in range(DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        start = datetime.combine(day, time(), UTC)
        days.append((day, tally(up, down, maint, start, min(now, start + timedelta(days=1)))))
    return ServiceUptime(service, windows, budget, days)
