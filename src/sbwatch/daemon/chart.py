"""The status page's budget chart: the last 48 h of estimates as inline SVG, the tier as a band."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from sbwatch.core.durations import moment_after

WIDTH, HEIGHT = 640, 230
LEFT, RIGHT = 44, 12
TOP, PLOT_H = 12, 150
BAND_Y, BAND_H = TOP + PLOT_H + 8, 18
TICK_EVERY_H = 6
GAP = timedelta(minutes=15)
"""Estimates further apart than this are not joined (the daemon was not running)."""
MAX_POINTS = 480
TIER_COLOURS = {
    "nano": "#c9d6df",
    "micro": "#a8c8e8",
    "small": "#8fd19e",
    "medium": "#f3d17a",
    "large": "#f0a868",
}
OTHER_TIER = "#d7b5e8"


@dataclass(frozen=True)
class Point:
    """One stored estimate: when, how much was left, on which size."""

    at: datetime
    ratio: float
    tier: str


@dataclass(frozen=True)
class Frame:
    """The time span drawn: ``past`` before ``now`` and ``ahead`` after it, for the forecast."""

    now: datetime
    past: timedelta = timedelta(hours=48)
    ahead: timedelta = timedelta(hours=6)
    tick: timedelta = timedelta(hours=TICK_EVERY_H)
    """A tick on the time axis this often, on the hour (or midnight for a day)."""

    @property
    def start(self) -> datetime:
        """The left edge."""
        return self.now - self.past

    def x(self, at: datetime) -> float:
        """The horizontal position of a time, clipped to the plot."""
        span = (self.past + self.ahead).total_seconds()
        share = (at - self.start).total_seconds() / span
        return LEFT + (WIDTH - LEFT - RIGHT) * max(0.0, min(1.0, share))


def y(ratio: float) -> float:
    """The vertical position of a budget share (1.0 at the top)."""
    return TOP + PLOT_H * (1 - max(0.0, min(1.0, ratio)))


def budget_chart(
    points: Sequence[Point], frame: Frame, *, ratio: float | None, eta_s: float | None
) -> str:
    """The chart: axes, the estimate line, the forecast to exhaustion, and the tier band."""
    shown = _thin(sorted((p for p in points if p.at >= frame.start), key=lambda p: p.at))
    parts = [
        f'<svg class="budget-chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="disk IO budget, last {_span(frame.past)}">',
        _axes(frame),
    ]
    line = _line(shown, frame)
    if line:
        parts.append(
            f'<path class="budget-line" d="{line}" fill="none" stroke="#1f6fb2" stroke-width="2"/>'
        )
    else:
        parts.append(
            _text("no estimate yet: the metrics probe scrapes once a minute", LEFT + 12, TOP + 40)
        )
    if ratio is not None and eta_s is not None:
        parts.append(_forecast(frame, ratio, eta_s))
    parts.extend(_band(shown, frame))
    parts.append("</svg>")
    return "".join(parts)


def _thin(points: list[Point]) -> list[Point]:
    """At most about MAX_POINTS points, evenly picked, the newest always kept."""
    if len(points) <= MAX_POINTS:
        return points
    step = len(points) / MAX_POINTS
    picked = [points[int(i * step)] for i in range(MAX_POINTS)]
    return [*picked, points[-1]] if picked[-1] is not points[-1] else picked


def _text(text: str, x: float, y_: float, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<text{klass} x="{x:.1f}" y="{y_:.1f}">{escape(text)}</text>'


def _axes(frame: Frame) -> str:
    right = WIDTH - RIGHT
    now_x = frame.x(frame.now)
    out = [
        f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{right - LEFT}" height="{PLOT_H}" '
        'fill="#fafafa" stroke="#bbb"/>',
        f'<rect class="ahead" x="{now_x:.1f}" y="{TOP}" width="{right - now_x:.1f}" '
        f'height="{PLOT_H}" fill="#f0f0f0"/>',
        f'<line x1="{now_x:.1f}" x2="{now_x:.1f}" y1="{TOP}" y2="{BAND_Y + BAND_H}" '
        'stroke="#888" stroke-dasharray="2 2"/>',
        _text("now", now_x + 3, TOP + 10, "small"),
    ]
    for ratio in (0.0, 0.5, 1.0):
        out.append(_text(f"{ratio:.0%}", 4, y(ratio) + 4))
        out.append(
            f'<line x1="{LEFT}" x2="{right}" y1="{y(ratio):.1f}" y2="{y(ratio):.1f}" '
            'stroke="#e4e4e4"/>'
        )
    step = frame.tick
    midnight = frame.start.replace(hour=0, minute=0, second=0, microsecond=0)
    tick = midnight + step * -(-(frame.start - midnight) // step)
    end = frame.now + frame.ahead
    while tick <= end:
        if tick >= frame.start:
            at = frame.x(tick)
            midnight_tick = tick.hour == 0 and tick.minute == 0
            label = tick.strftime("%a %H:%M") if midnight_tick else tick.strftime("%H:%M")
            if step >= timedelta(days=1):
                label = tick.strftime("%a %d")
            out.append(
                f'<line x1="{at:.1f}" x2="{at:.1f}" y1="{TOP + PLOT_H}" '
                f'y2="{TOP + PLOT_H + 4}" stroke="#999"/>'
            )
            out.append(_text(label, at, HEIGHT - 8, "small tick"))
        tick += step
    return "".join(out)


def _span(past: timedelta) -> str:
    """The span drawn, in words: "48 hours", "7 days"."""
    hours = past.total_seconds() / 3600
    if hours > 48 and hours % 24 == 0:
        return f"{hours / 24:g} days"
    return f"{hours:g} hours"


def _line(points: Sequence[Point], frame: Frame) -> str:
    commands: list[str] = []
    previous: Point | None = None
    for point in points:
        pen = "M" if previous is None or point.at - previous.at > GAP else "L"
        commands.append(f"{pen}{frame.x(point.at):.1f},{y(point.ratio):.1f}")
        previous = point
    if len(commands) == 1:  # one estimate: a short stub, so it shows
        commands.append("l3,0")
    return " ".join(commands)


def _forecast(frame: Frame, ratio: float, eta_s: float) -> str:
    """A dashed line from now to where the budget runs out at the current burn."""
    out_at = moment_after(frame.now, eta_s) or datetime.max.replace(tzinfo=frame.now.tzinfo)
    end = min(out_at, frame.now + frame.ahead)
    share = (end - frame.now) / (out_at - frame.now) if out_at > frame.now else 1.0
    left_then = ratio * (1 - share)
    return (
        f'<path class="forecast" d="M{frame.x(frame.now):.1f},{y(ratio):.1f} '
        f'L{frame.x(end):.1f},{y(left_then):.1f}" fill="none" stroke="#d64545" '
        'stroke-width="2" stroke-dasharray="6 3"/>'
    )


def _band(points: Sequence[Point], frame: Frame) -> list[str]:
    """One rectangle per run of estimates on the same size, from its first to the next run."""
    out = [_text("tier", 4, BAND_Y + 13, "small")]
    runs: list[tuple[datetime, str]] = []
    for point in points:
        if not runs or runs[-1][1] != point.tier:
            runs.append((point.at, point.tier))
    for index, (start, tier) in enumerate(runs):
        end = runs[index + 1][0] if index + 1 < len(runs) else frame.now
        x0, x1 = frame.x(start), frame.x(end)
        width = max(2.0, x1 - x0)
        colour = TIER_COLOURS.get(tier, OTHER_TIER)
        out.append(
            f'<rect class="tier-band" data-tier="{escape(tier)}" x="{x0:.1f}" y="{BAND_Y}" '
            f'width="{width:.1f}" height="{BAND_H}" fill="{colour}"><title>{escape(tier)}</title>'
            "</rect>"
        )
        if width > 34:
            out.append(_text(tier, x0 + 4, BAND_Y + 13, "small"))
    return out
