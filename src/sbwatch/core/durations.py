"""Durations written as "30s", "5m", "1h30m", "6d" (any of d h m s, in that order)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration(text: str) -> timedelta:
    """Parse "1d2h30m", "45s", "0s"; raise ValueError naming the bad text otherwise."""
    cleaned = text.strip()
    match = _DURATION.match(cleaned)
    if not cleaned or match is None or not any(match.groups()):
        raise ValueError(
            f"invalid duration {text!r}: use numbers with units d, h, m, s in that order, "
            "like '90s' or '1h30m'"
        )
    days, hours, minutes, seconds = match.groups()
    return timedelta(
        days=int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=float(seconds or 0),
    )


def format_duration(seconds: float) -> str:
    """A short human form: "2d3h", "4h12m", "3m20s", "45s"."""
    total = round(seconds)
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d{hours}h" if hours else f"{sign}{days}d"
    if hours:
        return f"{sign}{hours}h{minutes}m" if minutes else f"{sign}{hours}h"
    if minutes:
        return f"{sign}{minutes}m{secs}s" if secs else f"{sign}{minutes}m"
    return f"{sign}{secs}s"


def format_offset(seconds: float) -> str:
    """A moment of a run, to the minute past the first day ("5d00h05m", "3h07m", "12m30s"):
    two moments a quarter-hour apart never read the same."""
    total = max(0, round(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    if days:
        return f"{days}d{hours:02d}h{rest // 60:02d}m"
    if hours:
        return f"{hours}h{rest // 60:02d}m"
    return format_duration(total)


def moment_after(at: datetime, seconds: float) -> datetime | None:
    """``at`` plus ``seconds``; None when that lies past the calendar (a drain barely above
    the baseline has an ETA of millions of years)."""
    try:
        return at + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        return None
