"""Which backups to remove: those past the retention, never the newest nor the last good one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Kept:
    """One stored backup as retention sees it."""

    name: str
    day: date
    verified: bool | None
    """The restore check of this archive: True matched, False failed, None never checked."""


def expired(backups: Sequence[Kept], today: date, retention: timedelta) -> list[Kept]:
    """Backups older than ``retention`` that a newer one makes redundant.

    With a 30-day retention, the backups of the last 30 days (today's included) stay. Kept
    whatever their age: the newest backup, and the last good one (the newest whose
    restore check matched; when none ever did, the newest). An old backup goes only once a
    newer one exists.
    """
    ordered = sorted(backups, key=lambda b: b.day)
    if not ordered:
        return []
    newest = ordered[-1]
    good = [b for b in ordered if b.verified is True]
    last_good = good[-1] if good else newest
    cutoff = today - timedelta(days=max(retention.days, 1))
    return [b for b in ordered if b.day <= cutoff and b not in (newest, last_good)]
