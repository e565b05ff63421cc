"""A replay report as one self-contained HTML page with an inline SVG timeline."""

from __future__ import annotations

from html import escape
from typing import Any

from sbwatch.core.durations import format_duration

WIDTH, LEFT, RIGHT = 960, 60, 20
CHART_TOP, CHART_H = 20, 220
LANE_H = 18
_STATE_COLOURS = {"up": "#3a9d5d", "down": "#d64545", "unknown": "#b8b8b8"}
_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px}.pass{color:#3a9d5d}.fail{color:#d64545}
table{border-collapse:collapse;font-size:13px;margin-top:12px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
svg text{font-size:11px;fill:#333}
"""


def render_html(report: dict[str, Any]) -> str:
    """The whole page: verdict, chart of budget and events, probe lanes, checks and timeline."""
    name = escape(str(report.get("scenario", "scenario")))
    passed = bool(report.get("passed"))
    verdict = '<b class="pass">PASSED</b>' if passed else '<b class="fail">FAILED</b>'
    summary = (
        f"<p>{verdict} · patch calls {report.get('patch_calls', 0)} "
        f"(attempts {report.get('patch_attempts', 0)}) · downtime "
        f"{format_duration(float(report.get('downtime_s') or 0))} · first alert "
        f"{_when(report.get('first_alert_s'))}</p>"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>sbwatch replay: {name}</title><style>{_STYLE}</style></head><body>"
        f"<h1>sbwatch replay: {name}</h1>{summary}{_svg(report)}"
        f"<h2>Checks</h2>{_checks(report)}<h2>Timeline</h2>{_timeline(report)}</body></html>"
    )


def _when(value: Any) -> str:
    return "none" if value is None else format_duration(float(value))


def _span(report: dict[str, Any]) -> float:
    times = [float(item["at_s"]) for key in _TIMED for item in report.get(key, []) or []]
    return max([*times, 1.0])


_LEGEND = (
    "IO budget: true (blue) and estimated (orange, dashed); "
    "email ✉, diagnosis ◆, alert ▲ (red line), escalation (purple line)"
)
_TIMED = ("series", "emails", "diagnoses", "alerts", "escalations", "probe_states")


def _lanes(report: dict[str, Any]) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    for item in report.get("probe_states", []) or []:
        lane = (str(item["project"]), str(item["probe"]))
        if lane not in seen:
            seen.append(lane)
    return seen


def _svg(report: dict[str, Any]) -> str:
    span = _span(report)
    lanes = _lanes(report)
    height = CHART_TOP + CHART_H + 40 + LANE_H * len(lanes) + 10

    def x(at: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * at / span

    def y(ratio: float) -> float:
        return CHART_TOP + CHART_H * (1 - max(0.0, min(1.0, ratio)))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img">'
    ]
    parts.append(_axes(span, x, y))
    series = first_project_series(report)
    for key, colour, dash in (("true", "#1f6fb2", ""), ("estimated", "#e08a1e", "6 3")):
        path = _path(series, key, x, y)
        if path:
            parts.append(
                f'<path class="series-{key}" d="{path}" fill="none" stroke="{colour}" '
                f'stroke-width="2" stroke-dasharray="{dash}"/>'
            )
    parts.extend(_markers(report, x))
    parts.extend(_probe_lanes(report, lanes, span, x))
    parts.append(_tag("text", _LEGEND, x=LEFT, y=CHART_TOP - 6) + "</svg>")
    return "".join(parts)


def first_project_series(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The budget series the chart draws: the first project's (a scenario may hold several)."""
    series: list[dict[str, Any]] = report.get("series", []) or []
    first = (report.get("projects") or [None])[0]
    return [p for p in series if first is None or p.get("project", first) == first]


def _tag(name: str, inner: str = "", **attrs: Any) -> str:
    """One SVG/HTML element; attribute names use ``_`` for ``-`` and a trailing ``_`` is dropped."""
    text = " ".join(
        f'{k.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items()
    )
    return f"<{name} {text}>{inner}</{name}>"


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>"


def _axes(span: float, x: Any, y: Any) -> str:
    bottom = CHART_TOP + CHART_H
    width = WIDTH - LEFT - RIGHT
    out = [
        _tag(
            "rect", x=LEFT, y=CHART_TOP, width=width, height=CHART_H, fill="#fafafa", stroke="#999"
        )
    ]
    for ratio in (0.0, 0.5, 1.0):
        out.append(_tag("text", f"{ratio:.0%}", x=LEFT - 40, y=f"{y(ratio) + 4:.1f}"))
    for i in range(6):
        at = span * i / 5
        tick = f"{x(at):.1f}"
        out.append(_tag("line", x1=tick, x2=tick, y1=bottom, y2=bottom + 5, stroke="#999"))
        out.append(_tag("text", format_duration(at), x=f"{x(at) - 12:.1f}", y=bottom + 18))
    return "".join(out)


def _path(series: list[dict[str, Any]], key: str, x: Any, y: Any) -> str:
    commands: list[str] = []
    pen_up = True
    for point in sorted(series, key=lambda p: float(p["at_s"])):
        value = point.get(key)
        if value is None:
            pen_up = True
            continue
        at, level = x(float(point["at_s"])), y(float(value))
        commands.append(f"{'M' if pen_up else 'L'}{at:.1f},{level:.1f}")
        pen_up = False
    return " ".join(commands)


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


def _markers(report: dict[str, Any], x: Any) -> list[str]:
    bottom = CHART_TOP + CHART_H
    out: list[str] = []
    for alert in report.get("alerts", []) or []:
        at = x(float(alert["at_s"]))
        out.append(_vline(at, "#d64545", f"{alert.get('severity', '')}: {alert.get('title', '')}"))
        out.append(_tag("text", "▲", x=f"{at - 4:.1f}", y=bottom - 4, fill="#d64545"))
    for step in report.get("escalations", []) or []:
        title = f"{step.get('from')} -> {step.get('to')}: {step.get('outcome')}"
        out.append(_vline(x(float(step["at_s"])), "#7b3fb5", title, width=2))
    for email in report.get("emails", []) or []:
        title = str(email.get("subject") or email.get("template") or "email")
        at = x(float(email["at_s"])) - 5
        out.append(_tag("text", "✉" + _title(title), x=f"{at:.1f}", y=CHART_TOP + 14))
    for diagnosis in report.get("diagnoses", []) or []:
        at = x(float(diagnosis["at_s"])) - 4
        mark = "◆" + _title(str(diagnosis.get("kind")))
        out.append(_tag("text", mark, x=f"{at:.1f}", y=CHART_TOP + 30, fill="#555"))
    return out


def _probe_lanes(
    report: dict[str, Any], lanes: list[tuple[str, str]], span: float, x: Any
) -> list[str]:
    top = CHART_TOP + CHART_H + 32
    out: list[str] = []
    states = sorted(report.get("probe_states", []) or [], key=lambda s: float(s["at_s"]))
    for index, lane in enumerate(lanes):
        lane_y = top + index * LANE_H
        out.append(_tag("text", escape(f"{lane[0]} {lane[1]}"), x=2, y=lane_y + 12))
        mine = [s for s in states if (str(s["project"]), str(s["probe"])) == lane]
        for i, state in enumerate(mine):
            start = float(state["at_s"])
            end = float(mine[i + 1]["at_s"]) if i + 1 < len(mine) else span
            width = max(1.0, x(end) - x(start))
            out.append(
                _tag(
                    "rect",
                    _title(f"{lane[0]} {lane[1]}: {state['state']}"),
                    class_="probe-state",
                    x=f"{x(start):.1f}",
                    y=lane_y,
                    width=f"{width:.1f}",
                    height=LANE_H - 4,
                    fill=_STATE_COLOURS.get(str(state["state"]), "#b8b8b8"),
                )
            )
    return out


def _checks(report: dict[str, Any]) -> str:
    rows = []
    for check in report.get("checks", []) or []:
        ok = bool(check.get("passed"))
        rows.append(
            f"<tr><td>{escape(str(check.get('name')))}</td>"
            f'<td class="{"pass" if ok else "fail"}">{"pass" if ok else "FAIL"}</td>'
            f"<td>{escape(str(check.get('detail', '')))}</td></tr>"
        )
    return f"<table><tr><th>check</th><th>result</th><th>detail</th></tr>{''.join(rows)}</table>"


def _timeline(report: dict[str, Any]) -> str:
    rows: list[tuple[float, str, str]] = []
    for d in report.get("diagnoses", []) or []:
        rows.append((float(d["at_s"]), "diagnosis", str(d.get("kind"))))
    for a in report.get("alerts", []) or []:
        rows.append((float(a["at_s"]), "alert", f"{a.get('severity')}: {a.get('title')}"))
    for h in report.get("held", []) or []:
        rows.append((float(h["at_s"]), "held back", f"{h.get('note')}: {h.get('title')}"))
    for e in report.get("escalations", []) or []:
        rows.append(
            (
                float(e["at_s"]),
                "escalation",
                f"{e.get('from')} -> {e.get('to')} ({e.get('outcome')})",
            )
        )
    for m in report.get("emails", []) or []:
        rows.append((float(m["at_s"]), "email", str(m.get("subject") or m.get("template") or "")))
    for s in report.get("probe_states", []) or []:
        rows.append(
            (float(s["at_s"]), "probe", f"{s.get('project')} {s.get('probe')}: {s.get('state')}")
        )
    rows.sort(key=lambda row: row[0])
    body = "".join(
        f"<tr><td>{format_duration(at)}</td><td>{escape(kind)}</td><td>{escape(text)}</td></tr>"
        for at, kind, text in rows
    )
    return f"<table><tr><th>at</th><th>what</th><th>detail</th></tr>{body}</table>"
