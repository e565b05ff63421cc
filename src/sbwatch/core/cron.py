"""Cron schedules: five cron fields to an APScheduler trigger, and when one last fired.

The scheduler runs the triggers; the configuration parses them here, so a bad schedule is a
located configuration error.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # APScheduler loads when a schedule is read, not with the configuration
    from apscheduler.triggers.cron import CronTrigger

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOKBACK = (timedelta(hours=1), timedelta(days=1), timedelta(days=8))
"""How far back :func:`previous_fire` looks, widening: at most a weekly schedule's last run."""


def _weekdays(field: str) -> str:
    """Cron weekday numbers (0 or 7 Sunday) as names: APScheduler 3 counts 0 as Monday."""
    parts = []
    for part in field.split(","):
        spec, _, step = part.partition("/")
        if spec == "*" and step.isdigit():
            spec = "0-6"
        if not spec.replace("-", "").isdigit():
            parts.append(part)
            continue
        low, _, high = spec.partition("-")
        last = int(high or (7 if step else low))
        days = range(int(low), last + 1, int(step or 1))
        parts.extend(dict.fromkeys(_WEEKDAYS[d] for d in days))
    return ",".join(parts)


def cron_trigger(expr: str, timezone: str | None = None) -> CronTrigger:
    """A trigger from five cron fields, in ``timezone`` (default: the local one); ValueError."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 cron fields, got {len(fields)}")
    minute, hour, day, month, weekday = fields
    from apscheduler.triggers.cron import CronTrigger

    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_weekdays(weekday),
            timezone=ZoneInfo(timezone) if timezone else None,
        )
    except IndexError:
        raise ValueError(f"weekday out of range in {expr!r}") from None


def previous_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The last time ``trigger`` fired at or before ``now`` (within :data:`LOOKBACK`)."""
    for window in LOOKBACK:
        last: datetime | None = None
        at = trigger.get_next_fire_time(None, now - window)
        while at is not None and at <= now:
            last = at
            at = trigger.get_next_fire_time(at, at + timedelta(seconds=1))
        if last is not None:
            return last
    return None


def shortest_gap(trigger: CronTrigger, start: datetime, *, below: timedelta) -> timedelta | None:
    """The shortest time between two runs of ``trigger`` in the week after ``start``, once one
    shorter than ``below`` is found (None: none is)."""
    at = trigger.get_next_fire_time(None, start)
    end = start + timedelta(days=8)
    while at is not None and at < end:
        following = trigger.get_next_fire_time(at, at + timedelta(seconds=1))
        if following is None:
            return None
        gap: timedelta = following - at
        if gap < below:
            return gap
        at = following
    return None
