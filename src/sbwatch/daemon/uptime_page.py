"""Availability in words and on the status page: the figures of each service against the
objective, the error budget, and a bar of days (red where the day had downtime)."""

from __future__ import annotations

from html import escape
from typing import Any

from sbwatch.core.durations import format_duration

STYLE = """
.days{display:flex;gap:1px;margin:2px 0 8px;max-width:720px}
.days span{flex:1 1 0;height:22px;border-radius:1px;background:#4caf50}
.days span.partial{background:#a5d6a7}.days span.down{background:#d64545}
.days span.unknown{background:#c9ced6}.days span.maintenance{background:#8fa3bf}
table.uptime td.num{text-align:right;font-variant-numeric:tabular-nums}
.uptime-bar{font-size:12px;color:#444}
"""
"""The page's rules for the bar of days and the table of figures."""


def percent(ratio: float | None) -> str:
    """An availability people read: 100%, 99.953%, or "no data"."""
    if ratio is None:
        return "no data"
    return "100%" if ratio >= 1 else f"{ratio * 100:.3f}%"


def budget_words(budget: dict[str, Any]) -> str:
    """The error budget: allowed, spent, and what is left (or overspent)."""
    allowed, spent = float(budget["allowed_s"]), float(budget["spent_s"])
    left = allowed - spent
    tail = (
        f"{format_duration(left)} left ({budget['remaining_ratio']:.0%})"
        if left >= 0 and budget["remaining_ratio"] is not None
        else f"overspent by {format_duration(-left)}"
    )
    return f"{format_duration(allowed)} allowed, {format_duration(spent)} down: {tail}"


def status_lines(uptime: dict[str, Any] | None) -> list[str]:
    """``sbwatch status``: one line per service, availability by window and the budget."""
    if not uptime:
        return []
    lines = []
    for s in uptime["services"]:
        windows = " ".join(f"{n} {percent(w['availability'])}" for n, w in s["windows"].items())
        lines.append(
            f"  uptime {s['service']:<5} {windows}; budget {uptime['budget_window']} at "
            f"{uptime['objective']:g}%: {budget_words(s['budget'])}"
        )
    return lines


def _day_class(day: dict[str, Any]) -> str:
    if day["down_s"] > 0:
        return "down"
    if day["availability"] is None:
        return "maintenance" if day["maintenance_s"] > 0 and not day["unknown_s"] else "unknown"
    return "partial" if day["unknown_s"] > 0 else "up"


def _day_title(day: dict[str, Any]) -> str:
    parts = [f"{day['date']}: {percent(day['availability'])}"]
    for key, word in (("down_s", "down"), ("unknown_s", "unknown"), ("maintenance_s", "maint.")):
        if day[key] > 0:
            parts.append(f"{word} {format_duration(float(day[key]))}")
    return ", ".join(parts)


def day_bar(days: list[dict[str, Any]]) -> str:
    """One cell a day, oldest first, each titled with the day's availability."""
    cells = "".join(
        f'<span class="{_day_class(d)}" data-date="{escape(d["date"])}" '
        f'title="{escape(_day_title(d))}"></span>'
        for d in days
    )
    return f'<div class="days">{cells}</div>'


def uptime_section(uptime: dict[str, Any] | None) -> str:
    """The availability block of a project on the status page."""
    if not uptime or not uptime["services"]:
        return ""
    head = "<tr><th>service</th>" + "".join(
        f'<th class="num">{escape(n)}</th>' for n in uptime["services"][0]["windows"]
    )
    head += f"<th>error budget ({escape(uptime['budget_window'])})</th></tr>"
    rows, bars = [], []
    for s in uptime["services"]:
        service = escape(s["service"])
        cells = "".join(
            f'<td class="num">{percent(w["availability"])}</td>' for w in s["windows"].values()
        )
        rows.append(
            f'<tr class="availability" data-service="{service}"><td>{service}</td>{cells}'
            f"<td>{escape(budget_words(s['budget']))}</td></tr>"
        )
        bars.append(
            f'<div class="uptime-bar" data-service="{service}">{service}: last '
            f"{len(s['days'])} days{day_bar(s['days'])}</div>"
        )
    return (
        f'<div class="uptime"><h3>Availability (objective {uptime["objective"]:g}%)</h3>'
        f'<table class="uptime list">{head}{"".join(rows)}</table>{"".join(bars)}</div>'
    )
