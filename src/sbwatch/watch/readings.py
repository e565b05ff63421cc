"""What the limits' flows share: a window of readings, and a report kept when it changed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sbwatch.store.base import StateStore
from sbwatch.store.docs import Slot


class _Reading(Protocol):
    @property
    def at(self) -> datetime: ...


P = TypeVar("P", bound=_Reading)
R = TypeVar("R")


def keep_reading(points: list[P], point: P | None, keep: timedelta) -> None:
    """Add one scrape's reading (a repeated or older one is left out) and drop the readings
    older than ``keep`` before it."""
    if point is None or (points and point.at <= points[-1].at):
        return
    points.append(point)
    cut = point.at - keep
    while points and points[0].at < cut:
        points.pop(0)


async def save_report(
    store: StateStore,
    where: Slot[R],
    report: R,
    saved: dict[str, dict[str, Any]],
) -> None:
    """Write a project's report for ``sbwatch status`` when it changed, its time apart;
    ``saved`` remembers what was written last, by the slot's key (the project)."""
    same = {k: v for k, v in where.dump(report).items() if k != "at"}
    if saved.get(where.key) == same:
        return
    await where.write(store, report)
    saved[where.key] = same
