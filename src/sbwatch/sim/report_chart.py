"""The replay report's SVG: budget lines, 0% periods, events, the tier band and probe lanes.

One time axis for all of them, ticked at day boundaries (hours for short replays).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from sbwatch.core.durations import format_duration

WIDTH, LEFT, RIGHT = 980, 90, 20
CHART_TOP, CHART_H = 24, 220
BAND_H, LANE_H = 16, 18
EMPTY = 0.001
"""A true budget below this share is empty."""
_STATE_COLOURS = {"up": "#3a9d5d", "down": "#d64545", "unknown": "#b8b8b8"}
_TIER_COLOURS = {"nano": "#c9d6df", "micro": "#a8c8e8", "small": "#8fd19e", "medium": "#f3d17a"}
_OTHER_TIER = "#d7b5e8"
_STEPS_S = (86_400, 43_200, 21_600, 10_800, 3_600, 1_800, 900, 600, 300, 60)
_LEGEND = (
    "IO budget: true (blue) and estimated (orange, dashed); "
    "email ✉, diagnosis ◆, alert ▲ (red line), escalation (purple line), 0% left (red shade)"
)
_TIMED = ("series", "emails", "diagnoses", "alerts", "escalations", "probe_states")

X = Callable[[float], float]


def span_of(report: dict[str, Any]) -> float:
    """The seconds the report covers: its duration, or its last event if later."""
    times = [float(item["at_s"]) for key in _TIMED for item in report.get(key, []) or []]
    return max([float(report.get("duration_s") or 0), *times, 1.0])


def lanes_of(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(project, probe) of each probe lane, in order of first appearance."""
    seen: list[tuple[str, str]] = []
    for item in report.get("probe_states", []) or []:
        lane = (str(item["project"]), str(item["probe"]))
        if lane not in seen:
            seen.append(lane)
    return seen


def svg(report: dict[str, Any]) -> str:
    """The whole chart as one inline SVG element."""
    span = span_of(report)
    lanes = lanes_of(report)
    band_y = CHART_TOP + CHART_H + 26
    lanes_y = band_y + BAND_H + 10
    height = lanes_y + LANE_H * len(lanes) + 10

    def x(at: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * at / span

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img">',
        _axes(span, x),
    ]
    series = first_project_series(report)
    parts.extend(_empty_periods(series, span, x))
    for key, colour, dash in (("true", "#1f6fb2", ""), ("estimated", "#e08a1e", "6 3")):
        path = _path(series, key, x)
        if path:
            parts.append(
                f'<path class="series-{key}" d="{path}" fill="none" stroke="{colour}" '
                f'stroke-width="2" stroke-dasharray="{dash}"/>'
            )
    parts.extend(_markers(report, x))
    parts.extend(_tier_band(series, span, x, band_y))
    parts.extend(_probe_lanes(report, lanes, span, x, lanes_y))
    parts.append(_tag("text", escape(_LEGEND), x=LEFT, y=CHART_TOP - 8) + "</svg>")
    return "".join(parts)


def _tag(name: str, inner: str = "", **attrs: Any) -> str:
    """One SVG/HTML element; attribute names use ``_`` for ``-`` and a trailing ``_`` is dropped."""
    text = " ".join(
        f'{k.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items()
    )
    return f"<{name} {text}>{inner}</{name}>"


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>"


def _y(ratio: float) -> float:
    return CHART_TOP + CHART_H * (1 - max(0.0, min(1.0, ratio)))


def ticks(span: float) -> list[float]:
    """Tick times: every day for a replay of two days or more, else the largest even step
    (12 h, 6 h, ... 1 min) that still gives at least four ticks."""
    step = next((s for s in _STEPS_S if span / s >= (2 if s == 86_400 else 4)), _STEPS_S[-1])
    return [i * step for i in range(int(span // step) + 1)]


def _axes(span: float, x: X) -> str:
    bottom = CHART_TOP + CHART_H
    width = WIDTH - LEFT - RIGHT
    out = [
        _tag(
            "rect", x=LEFT, y=CHART_TOP, width=width, height=CHART_H, fill="#fafafa", stroke="#999"
        )
    ]
    for ratio in (0.0, 0.5, 1.0):
        out.append(_tag("text", f"{ratio:.0%}", x=LEFT - 36, y=f"{_y(ratio) + 4:.1f}"))
    for at in ticks(span):
        tick = f"{x(at):.1f}"
        out.append(
            _tag(
                "line",
                class_="tick",
                x1=tick,
                x2=tick,
                y1=CHART_TOP,
                y2=bottom + 5,
                stroke="#e2e2e2" if 0 < at < span else "#999",
            )
        )
        label = format_duration(at) if at else "0"
        out.append(
            _tag("text", label, class_="tick-label", x=tick, y=bottom + 18, text_anchor="middle")
        )
    return "".join(out)


def first_project_series(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The budget series the chart draws, by time: the first project's (a scenario may hold
    several; the others are in the JSON report)."""
    series: list[dict[str, Any]] = report.get("series", []) or []
    first = (report.get("projects") or [None])[0]
    mine = [p for p in series if first is None or p.get("project", first) == first]
    return sorted(mine, key=lambda p: float(p["at_s"]))


def _path(series: list[dict[str, Any]], key: str, x: X) -> str:
    commands: list[str] = []
    pen_up = True
    for point in series:
        value = point.get(key)
        if value is None:
            pen_up = True
            continue
        at, level = x(float(point["at_s"])), _y(float(value))
        commands.append(f"{'M' if pen_up else 'L'}{at:.1f},{level:.1f}")
        pen_up = False
    return " ".join(commands)


def empty_periods(series: list[dict[str, Any]], span: float) -> list[dict[str, Any]]:
    """Each run of samples with the true budget at 0%: start, end, and why it sits there
    (told by the sample most throttled in the run)."""
    runs: list[tuple[float, float, list[dict[str, Any]]]] = []
    for index, point in enumerate(series):
        if point.get("true") is None or float(point["true"]) >= EMPTY:
            continue
        end = float(series[index + 1]["at_s"]) if index + 1 < len(series) else span
        if runs and runs[-1][1] == float(point["at_s"]):
            runs[-1] = (runs[-1][0], end, [*runs[-1][2], point])
        else:
            runs.append((float(point["at_s"]), end, [point]))
    return [
        {"start_s": start, "end_s": end, "why": why(max(points, key=_cut))}
        for start, end, points in runs
    ]


def _cut(point: dict[str, Any]) -> float:
    """How much of what was asked the disk did not serve, MB/s."""
    return float(point.get("asked_mbps") or 0) - float(point.get("served_mbps") or 0)


def why(point: dict[str, Any]) -> str:
    """Why the budget is empty: what was asked on which size, and what the disk served."""
    tier = point.get("tier", "?")
    asked, served = point.get("asked_mbps"), point.get("served_mbps")
    if asked is None or served is None:
        return f"empty on {tier}"
    if float(asked) > float(served) + 0.05:
        return f"throttled on {tier} at {float(asked):g} MB/s ({float(served):g} MB/s served)"
    return f"empty on {tier}, {float(asked):g} MB/s asked"


def _empty_periods(series: list[dict[str, Any]], span: float, x: X) -> list[str]:
    out: list[str] = []
    for period in empty_periods(series, span):
        left, right = x(period["start_s"]), x(period["end_s"])
        out.append(
            _tag(
                "rect",
                _title(f"0% left: {period['why']}"),
                class_="empty-period",
                x=f"{left:.1f}",
                y=CHART_TOP,
                width=f"{max(1.0, right - left):.1f}",
                height=CHART_H,
                fill="#d64545",
                fill_opacity="0.12",
            )
        )
        anchor, at = ("end", right) if right > WIDTH / 2 else ("start", left)
        out.append(
            _tag(
                "text",
                escape(f"0%: {period['why']}"),
                class_="why",
                x=f"{at:.1f}",
                y=CHART_TOP + CHART_H - 24,
                text_anchor=anchor,
            )
        )
    return out


def _vline(at: float, colour: str, title: str, width: int = 1) -> str:
    bottom = CHART_TOP + CHART_H
    return _tag(
        "line",
        _title(title),
        x1=f"{at:.1f}",
        x2=f"{at:.1f}",
        y1=CHART_TOP,
        y2=bottom,
        stroke=colour,
        stroke_width=width,
    )


def _markers(report: dict[str, Any], x: X) -> list[str]:
    bottom = CHART_TOP + CHART_H
    out: list[str] = []
    for alert in report.get("alerts", []) or []:
        at = x(float(alert["at_s"]))
        out.append(_vline(at, "#d64545", str(alert.get("title", ""))))
        out.append(_tag("text", "▲", x=f"{at - 4:.1f}", y=bottom - 4, fill="#d64545"))
    for step in report.get("escalations", []) or []:
        title = f"{step.get('from')} -> {step.get('to')}: {step.get('outcome')}"
        out.append(_vline(x(float(step["at_s"])), "#7b3fb5", title, width=2))
    for email in report.get("emails", []) or []:
        at = x(float(email["at_s"])) - 5
        out.append(_tag("text", "✉" + _title(email_text(email)), x=f"{at:.1f}", y=CHART_TOP + 14))
    for diagnosis in report.get("diagnoses", []) or []:
        at = x(float(diagnosis["at_s"])) - 4
        mark = "◆" + _title(str(diagnosis.get("kind")))
        out.append(_tag("text", mark, x=f"{at:.1f}", y=CHART_TOP + 30, fill="#555"))
    return out


def email_text(email: dict[str, Any]) -> str:
    """An email as the report names it: its subject, marked when it was not trusted."""
    subject = str(email.get("subject") or email.get("kind") or email.get("template") or "email")
    return subject if email.get("trusted", True) else f"{subject} (untrusted)"


def _tier_band(series: list[dict[str, Any]], span: float, x: X, top: float) -> list[str]:
    """The compute size over time: one coloured run per size, named."""
    runs: list[tuple[float, str]] = []
    for point in series:
        tier = str(point.get("tier") or "")
        if tier and (not runs or runs[-1][1] != tier):
            runs.append((float(point["at_s"]), tier))
    out = [_tag("text", "tier", x=LEFT - 36, y=top + 12)] if runs else []
    for index, (start, tier) in enumerate(runs):
        end = runs[index + 1][0] if index + 1 < len(runs) else span
        width = max(1.0, x(end) - x(start))
        out.append(
            _tag(
                "rect",
                _title(f"{tier} from {format_duration(start)}"),
                class_="tier-band",
                data_tier=tier,
                x=f"{x(start):.1f}",
                y=top,
                width=f"{width:.1f}",
                height=BAND_H,
                fill=_TIER_COLOURS.get(tier, _OTHER_TIER),
            )
        )
        if width > 40:
            out.append(_tag("text", escape(tier), x=f"{x(start) + 4:.1f}", y=top + 12))
    return out


def _probe_lanes(
    report: dict[str, Any], lanes: list[tuple[str, str]], span: float, x: X, top: float
) -> list[str]:
    out: list[str] = []
    states = sorted(report.get("probe_states", []) or [], key=lambda s: float(s["at_s"]))
    several = len({project for project, _ in lanes}) > 1
    for index, lane in enumerate(lanes):
        lane_y = top + index * LANE_H
        label = f"{lane[0][:6]} {lane[1]}" if several else lane[1]
        out.append(_tag("text", escape(label), class_="lane-label", x=4, y=lane_y + 12))
        mine = [s for s in states if (str(s["project"]), str(s["probe"])) == lane]
        for i, state in enumerate(mine):
            start = float(state["at_s"])
            end = float(mine[i + 1]["at_s"]) if i + 1 < len(mine) else span
            out.append(
                _tag(
                    "rect",
                    _title(f"{lane[1]}: {state['state']}"),
                    class_="probe-state",
                    x=f"{x(start):.1f}",
                    y=lane_y,
                    width=f"{max(1.0, x(end) - x(start)):.1f}",
                    height=LANE_H - 4,
                    fill=_STATE_COLOURS.get(str(state["state"]), "#b8b8b8"),
                )
            )
    return out
