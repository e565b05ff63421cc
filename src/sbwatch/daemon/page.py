"""The local status page at ``/`` of the metrics server: one server-rendered HTML page.

Every project with its diagnosis, probe states, disk IO budget (estimate, forecast and the
chart of the last 48 h with the tier), open alerts and escalations; the silences in force and
failed deliveries. It refreshes itself, needs no login (it listens where the metrics do,
127.0.0.1 by default, and says so) and shows nothing secret: names, refs, states and the
texts the alerts already carry, never a token, key, DSN or route URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from html import escape
from typing import Any, TypeVar

from sbwatch import __version__
from sbwatch.alerting.auth_limits import auth_limits_line
from sbwatch.alerting.connections import connections_line
from sbwatch.alerting.disk import disk_line
from sbwatch.alerting.incident_text import incident_doc
from sbwatch.alerting.memory import cpu_line, memory_line
from sbwatch.alerting.words import assumed_line
from sbwatch.config.settings import Settings
from sbwatch.core.durations import format_duration, moment_after
from sbwatch.daemon.chart import Point, budget_chart
from sbwatch.daemon.page_rows import STYLE as ROWS_STYLE
from sbwatch.daemon.page_rows import check_rows, command_cell, probe_detail
from sbwatch.daemon.ranges import RANGES, chosen, links
from sbwatch.daemon.status import gather_status
from sbwatch.daemon.uptime_page import STYLE as UPTIME_STYLE
from sbwatch.daemon.uptime_page import uptime_section
from sbwatch.store import Store

T = TypeVar("T")
REFRESH_S = 10
"""The page reloads itself this often."""
WINDOW = timedelta(hours=48)
INCIDENT_WINDOW = timedelta(days=30)
"""Incidents open or closed this recently are listed, each opening onto its timeline."""
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#f4f5f7}
header{background:#23303d;color:#fff;padding:14px 28px}
header h1{margin:0;font-size:22px}header p{margin:4px 0 0;font-size:13px;color:#cfd8e3}
header a{color:#9cc9ff}main{padding:16px 28px;max-width:1240px}
section{background:#fff;border:1px solid #d9dde3;border-radius:6px;padding:14px 18px;
margin:0 0 16px}
h2{margin:0 0 8px;font-size:18px}h3{margin:12px 0 6px;font-size:14px;color:#444}
.ref{font:12px monospace;color:#666}.badge{font-size:13px;padding:2px 8px;border-radius:10px;
color:#fff;background:#d64545}.badge.healthy{background:#3a9d5d}.badge.none{background:#999}
.grid{display:flex;flex-wrap:wrap;gap:18px}.grid>div{flex:1 1 360px;min-width:0}
table{border-collapse:collapse;font-size:13px;width:100%}
td,th{border-bottom:1px solid #e6e6e6;padding:4px 8px;text-align:left;vertical-align:top}
.up{color:#2e7d4a;font-weight:600}.down{color:#c62828;font-weight:600}.unknown{color:#888}
.critical{color:#c62828;font-weight:600}.warning{color:#b26a00;font-weight:600}
.evidence{margin:4px 0 0 18px;padding:0;font-size:13px;color:#444}
.estimate{font-size:14px;margin:0 0 6px}.quiet{color:#777;font-size:13px}
table.list{width:auto;min-width:60%}
.budget-chart{display:block;width:100%;max-width:720px;height:auto}
svg text{font-size:11px;fill:#333}svg text.small{font-size:10px;fill:#555}
svg text.tick{text-anchor:middle}
"""


async def render_status_page(
    store: Store, settings: Settings, now: datetime, asked: str = ""
) -> str:
    """The page as of ``now``, from what the store holds; ``asked``: the chart range of the
    request's ``?range=`` (3h, 24h, 7d; anything else: each project's default)."""
    wanted = RANGES.get(asked)
    window = max(WINDOW, wanted.past) if wanted is not None else WINDOW
    doc = await gather_status(store, settings, now, window=window)
    doc["incidents"] = [
        incident_doc(i, await store.incident_events(i.id))
        for i in reversed(await store.incidents(since=now - INCIDENT_WINDOW))
    ]
    return render_page(doc, now=now, listen=settings.metrics.listen, asked=asked)


def threadsafe(
    render: Callable[[str], Coroutine[Any, Any, T]],
    loop: asyncio.AbstractEventLoop,
    timeout_s: float = 5.0,
) -> Callable[[str], T]:
    """A blocking ``render`` (the page, an acknowledgement) for the HTTP server's threads, run
    on the daemon's loop.

    The store belongs to that loop (aiosqlite, asyncpg), so the page is rendered there.
    Raises TimeoutError when the loop does not answer in time, RuntimeError once it is closed.
    """

    def page(asked: str) -> T:
        coro = render(asked)
        try:
            future = asyncio.run_coroutine_threadsafe(coro, loop)
        except RuntimeError:
            coro.close()
            raise
        try:
            return future.result(timeout_s)
        except TimeoutError:
            future.cancel()
            raise

    return page


def render_page(
    doc: dict[str, Any],
    *,
    now: datetime,
    listen: str,
    refresh_s: int = REFRESH_S,
    asked: str = "",
) -> str:
    """The whole page from a :func:`gather_status` document (gathered with a window)."""
    projects = doc["projects"]
    sick = [p for p in projects if p["diagnosis"] not in ("healthy", None)]
    headline = "all healthy" if not sick else f"{len(sick)} of {len(projects)} not healthy"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{refresh_s}">'
        f"<title>sbwatch: {headline}</title>"
        f"<style>{_STYLE}{UPTIME_STYLE}{ROWS_STYLE}</style></head><body>"
        f"{_header(now, listen, refresh_s)}<main>"
        + "".join(_project(p, now, asked) for p in projects)
        + _maintenance(projects)
        + _incidents(doc.get("incidents", []))
        + _silences(doc.get("silences", []))
        + _failed(doc.get("failed_notifications", []))
        + f'</main><footer class="quiet" style="padding:0 28px 16px">sbwatch {__version__}'
        "</footer></body></html>"
    )


def _header(now: datetime, listen: str, refresh_s: int) -> str:
    if listen in LOOPBACK:
        access = (
            f"No login: this page listens on {escape(listen)} only, so only this machine "
            "can open it. It shows no secrets."
        )
    else:
        access = (
            f"No login, and it listens on {escape(listen)}: whoever reaches this port can "
            "read it (it shows no secrets; metrics.listen = '127.0.0.1' keeps it local)."
        )
    return (
        '<header id="top"><h1>sbwatch</h1>'
        f"<p>as of {now:%Y-%m-%d %H:%M:%S} UTC · refreshes every {refresh_s} s · "
        f'<a href="/metrics">metrics</a></p><p class="access">{access}</p></header>'
    )


def _ago(iso: str | None, now: datetime) -> str:
    if not iso:
        return ""
    return format_duration(max(0.0, (now - datetime.fromisoformat(iso)).total_seconds()))


def _project(p: dict[str, Any], now: datetime, asked: str) -> str:
    diagnosis = p["diagnosis"] or "none"
    badge = "healthy" if diagnosis == "healthy" else ("none" if diagnosis == "none" else "")
    label = "no diagnosis yet" if diagnosis == "none" else diagnosis.replace("_", " ")
    evidence = "".join(f"<li>{escape(e)}</li>" for e in p["evidence"][:5])
    return (
        f'<section class="project" id="project-{escape(p["ref"])}">'
        f'<h2>{escape(p["name"])} <span class="ref">{escape(p["ref"])}</span> '
        f'<span class="badge {badge}" data-diagnosis="{escape(diagnosis)}">{escape(label)}'
        "</span></h2>"
        + (f'<ul class="evidence">{evidence}</ul>' if evidence else "")
        + f'<div class="grid"><div class="probes"><h3>Probes</h3>{_probes(p, now)}</div>'
        f'<div class="budget"><h3>Disk IO budget</h3>{_budget(p, now, asked)}</div></div>'
        + _connections(p)
        + uptime_section(p.get("uptime"))
        + f"<h3>Open alerts</h3>{_alerts(p, now)}"
        f"<h3>Escalations</h3>{_escalations(p)}</section>"
    )


def _connections(p: dict[str, Any]) -> str:
    """Each limit beside the IO budget, a line each, as ``sbwatch status`` says them."""
    host = p.get("host") or {}
    said = [
        ("disk", "Disk", p.get("disk"), disk_line),
        ("connections", "Connections", p.get("connections"), connections_line),
        ("memory", "Memory", host.get("memory"), memory_line),
        ("cpu", "CPU", host.get("cpu"), cpu_line),
        ("auth", "Auth 429", p.get("auth_limits"), auth_limits_line),
    ]
    return "".join(
        f'<p class="{name}"><b>{label}</b> {escape(line(doc))}</p>'
        for name, label, doc, line in said
        if doc
    )


def _probes(p: dict[str, Any], now: datetime) -> str:
    if not p["probes"]:
        return '<p class="quiet">no probe has run yet</p>'
    rows = "".join(
        f'<tr class="probe" data-probe="{escape(s["probe"])}"><td>{escape(s["probe"])}</td>'
        f'<td class="{escape(s["state"])}">{escape(s["state"])}</td>'
        f"<td>{_ago(s['since'], now)}</td><td>{escape(s['last_outcome'] or '')}</td>"
        f"<td>{escape(probe_detail(s))}</td></tr>" + check_rows(s.get("checks"))
        for s in p["probes"]
    )
    head = "<tr><th>probe</th><th>state</th><th>for</th><th>last</th><th>detail</th></tr>"
    return f"<table>{head}{rows}</table>"


def _budget(p: dict[str, Any], now: datetime, asked: str) -> str:
    budget = p["budget"]
    if budget is None:
        text = '<p class="estimate quiet">no estimate yet</p>'
        ratio = eta = None
    else:
        ratio, eta = float(budget["ratio"]), budget["eta_s"]
        if eta is None:
            runs_out = "not draining"
        else:
            at = moment_after(now, float(eta))
            runs_out = f"runs out in {format_duration(float(eta))}" + (
                f" ({at:%a %H:%M} UTC)" if at is not None else ""
            )
        text = (
            f'<p class="estimate"><b>{ratio:.0%} left</b> on {escape(budget["tier"])} · '
            f"{runs_out} · net burn {float(budget['burn_mbps']):+.1f} MB/s · confidence "
            f"{float(budget.get('confidence', 0)):.2f}</p>"
        )
        if budget.get("assumed"):
            text += f'<p class="estimate assumed">{escape(assumed_line(p["ref"]))}</p>'
    points = [
        Point(datetime.fromisoformat(h["at"]), float(h["ratio"]), str(h["tier"]))
        for h in p.get("budget_history", [])
    ]
    eta_s = None if eta is None else float(eta)
    shown, why = chosen(p, asked)
    chart = budget_chart(points, shown.frame(now), ratio=ratio, eta_s=eta_s)
    return text + links(p["ref"], shown, why) + chart


def _alerts(p: dict[str, Any], now: datetime) -> str:
    if not p["open_alerts"]:
        return '<p class="quiet">none</p>'
    rows = "".join(
        f'<tr class="alert"><td class="{escape(a["severity"])}">{escape(a["severity"])}</td>'
        f"<td>{escape(a['title'])}</td><td>open for {_ago(a.get('opened_at'), now)}"
        + (f", acknowledged by {escape(a['acked_by'])}" if a.get("acked_by") else "")
        + "</td>"
        + command_cell(a.get("command"))
        + "</tr>"
        for a in p["open_alerts"]
    )
    return f'<table class="list">{rows}</table>'


def _escalations(p: dict[str, Any]) -> str:
    recent = {e["id"]: e for e in p.get("escalations", [])}
    unfinished = [e for e in p["unfinished_escalations"] if e["id"] not in recent]
    if not recent and not unfinished:
        return '<p class="quiet">none in the last 48 h</p>'
    rows = [
        f'<tr class="escalation"><td>#{e["id"]}</td><td>{escape(e["from"])} → '
        f"{escape(e['to'])}</td><td>{escape(e['state'])}"
        + (f" in {format_duration(float(e['recovered_s']))}" if e.get("recovered_s") else "")
        + f"</td><td>{escape(e['actor'])}, {escape(e['at'][:16].replace('T', ' '))} UTC</td>"
        f"<td>{escape(e['reason'])}</td></tr>"
        for e in recent.values()
    ]
    rows += [
        f'<tr class="escalation"><td>#{e["id"]}</td><td>→ {escape(e["to"])}</td>'
        f"<td>{escape(e['state'])}</td><td></td><td></td></tr>"
        for e in unfinished
    ]
    return f'<table class="list">{"".join(rows)}</table>'


def _maintenance(projects: list[dict[str, Any]]) -> str:
    rows = "".join(
        f'<tr class="maintenance{" in-force" if w["in_force"] else ""}">'
        f"<td>{escape(p['name'])}</td><td>{'in force' if w['in_force'] else 'planned'}</td>"
        f"<td>{escape(w['starts_at'][:16].replace('T', ' '))} to "
        f"{escape(w['ends_at'][:16].replace('T', ' '))} UTC</td><td>{escape(w['reason'])}</td>"
        f"<td>{escape(w['by'])}</td></tr>"
        for p in projects
        for w in p.get("maintenance", [])
    )
    body = f'<table class="list">{rows}</table>' if rows else '<p class="quiet">none</p>'
    return f'<section id="maintenance"><h2>Maintenance windows</h2>{body}</section>'


def _incidents(incidents: list[dict[str, Any]]) -> str:
    """The last 30 days' incidents, newest first, each opening onto its timeline."""
    items = "".join(
        f'<details class="incident" id="incident-{i["id"]}"><summary>'
        f'<b>#{i["id"]}</b> <span class="ref">{escape(str(i["project"]))}</span> '
        + ('<b class="critical">open</b> ' if i["closed_at"] is None else "")
        + f'{escape(str(i["changelog"]))}</summary><ul class="evidence">'
        + "".join(f"<li>{escape(str(e['line']))}</li>" for e in i["timeline"])
        + "</ul></details>"
        for i in incidents
    )
    body = items or '<p class="quiet">none in the last 30 days</p>'
    return f'<section id="incidents"><h2>Incidents</h2>{body}</section>'


def _silences(silences: list[dict[str, Any]]) -> str:
    if not silences:
        body = '<p class="quiet">none in force</p>'
    else:
        rows = "".join(
            f'<tr class="silence"><td>{escape(s["project"])}</td><td>until '
            f"{escape(s['until'][:16].replace('T', ' '))} UTC</td><td>{escape(s['reason'])}</td>"
            f"<td>{escape(s['by'])}</td></tr>"
            for s in silences
        )
        body = f'<table class="list">{rows}</table>'
    return f'<section id="silences"><h2>Silences</h2>{body}</section>'


def _failed(failed: list[dict[str, Any]]) -> str:
    if not failed:
        return ""
    rows = "".join(
        f"<tr><td>{escape(f['route'])}</td><td>{escape(f['title'])}</td>"
        f"<td>{escape(str(f['reason']))}</td></tr>"
        for f in failed
    )
    return (
        '<section id="failed"><h2>Notifications that failed (last 7 days)</h2>'
        f"<table>{rows}</table></section>"
    )
