"""The close scrape: the disks read every minute while sbwatch's own raise may fall due.

The metrics probe runs at its configured interval. When that is longer than
``CLOSE_WATCH_S``, the daemon's schedule and the replay's add a job every ``CLOSE_WATCH_S``
that scrapes only while the raise may fall due before the next regular scrape
(``policy.escalation.watch_closely``), or while a raise waits for a minute's reading to
confirm it (``Why.CONFIRMING``): the raise is then decided on a reading at most a minute old
and a minute long, not on one up to an interval old and long.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Protocol

from sbwatch.core.clock import Clock
from sbwatch.core.results import ProbeKind
from sbwatch.policy.escalation import CLOSE_WATCH_S, Why, watch_closely
from sbwatch.watch.runtime import ProjectView

Job = Callable[[], Awaitable[None]]


class Watched(Protocol):
    """What the close scrape's job reads of the watcher: its projects and its clock."""

    @property
    def projects(self) -> Mapping[str, ProjectView]:
        """Every configured project, read-only."""
        ...

    @property
    def clock(self) -> Clock:
        """The watcher's clock."""
        ...


def close_scrapes(interval_s: float) -> bool:
    """Whether a metrics probe this far apart needs the close scrape beside it."""
    return interval_s > CLOSE_WATCH_S


def close_scrape_due(view: ProjectView, interval_s: float, now: datetime) -> bool:
    """Whether the close scrape's run at ``now`` scrapes: no scrape came within half a minute,
    and the raise may fall due before the next regular scrape or waits for a minute's
    reading."""
    status = view.statuses.get(ProbeKind.METRICS)
    if status is None or status.last is None:
        return False
    if (now - status.last.at).total_seconds() < CLOSE_WATCH_S / 2:
        return False
    confirming = view.decision is not None and view.decision.reason.why is Why.CONFIRMING
    policy = view.settings.escalation
    return confirming or watch_closely(view.budget, policy, view.tier, interval_s)


def close_scrape_job(watcher: Watched, ref: str, interval_s: float, scrape: Job) -> Job:
    """The job the daemon and the replay run every ``CLOSE_WATCH_S`` beside a metrics probe
    ``interval_s`` apart: ``scrape`` (that probe's own job) when :func:`close_scrape_due`."""

    async def job() -> None:
        view = watcher.projects.get(ref)
        if view is not None and close_scrape_due(view, interval_s, watcher.clock.now()):
            await scrape()

    return job
