"""The time ranges of the status page's budget chart (3 h, 24 h, 7 d) and which one a project
shows first: the last 3 hours while something is happening, so a 30-minute crisis fills the
chart instead of a few pixels of two days; the last 24 hours otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from sbwatch.daemon.chart import Frame


@dataclass(frozen=True)
class ChartRange:
    """One range: the time drawn before now, the forecast after it, and the tick step."""

    name: str
    label: str
    past: timedelta
    ahead: timedelta
    tick: timedelta

    def frame(self, now: datetime) -> Frame:
        """The chart's frame for this range, ending ``ahead`` after ``now``."""
        return Frame(now, past=self.past, ahead=self.ahead, tick=self.tick)


H = timedelta(hours=1)
RANGES = {
    r.name: r
    for r in (
        ChartRange("3h", "3 h", 3 * H, 1 * H, H / 2),
        ChartRange("24h", "24 h", 24 * H, 6 * H, 3 * H),
        ChartRange("7d", "7 d", 7 * 24 * H, 24 * H, 24 * H),
    )
}
CRISIS, CALM = RANGES["3h"], RANGES["24h"]
FAST_DRAIN = timedelta(hours=6)
"""A budget that runs out within this at its current burn is draining fast."""


def why_close(project: dict[str, Any]) -> str | None:
    """Why the project's chart opens on the last 3 hours (None: nothing is happening)."""
    if project.get("open_alerts"):
        return "an alert is open"
    budget = project.get("budget") or {}
    eta = budget.get("eta_s")
    if eta is not None and float(eta) < FAST_DRAIN.total_seconds():
        return "the budget runs out within 6 h"
    return None


def chosen(project: dict[str, Any], asked: str) -> tuple[ChartRange, str]:
    """The range to draw (the one asked for in ``?range=``, else the project's default) and
    the words saying why, when it was not asked for."""
    if asked in RANGES:
        return RANGES[asked], ""
    why = why_close(project)
    return (CRISIS, f"shown first: {why}") if why else (CALM, "")


def links(ref: str, shown: ChartRange, why: str) -> str:
    """Plain links to each range (no script: the page reloads with ``?range=``)."""
    items = [
        f'<b class="range" data-range="{r.name}">{r.label}</b>'
        if r is shown
        else f'<a class="range" data-range="{r.name}" href="?range={r.name}#project-'
        f'{escape(ref)}">{r.label}</a>'
        for r in RANGES.values()
    ]
    note = f' <span class="quiet">({escape(why)})</span>' if why else ""
    return f'<p class="ranges">last {" · ".join(items)}{note}</p>'
