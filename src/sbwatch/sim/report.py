"""A replay report as one self-contained HTML page with an inline SVG timeline.

The header names the first message the phone got; the chart (``report_chart``) draws the true
and estimated budget with the compute size as a band beneath, says why a period sits at 0%,
and has one lane per probe; the timeline lists each alert as the phone showed it, each email
by its subject and each resize made outside sbwatch.
"""

from __future__ import annotations

from html import escape
from typing import Any

from sbwatch.core.durations import format_duration, format_offset
from sbwatch.sim.report_chart import (
    email_text,
    empty_periods,
    first_project_series,
    lanes_of,
    span_of,
    svg,
)

_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px}.pass{color:#3a9d5d}.fail{color:#d64545}
table{border-collapse:collapse;font-size:13px;margin-top:12px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
td .body{color:#555;font-size:12px;white-space:pre-line}
svg text{font-size:11px;fill:#333}
svg text.why{font-size:12px;fill:#a32020;paint-order:stroke;stroke:#fff;stroke-width:3px}
"""


def render_html(report: dict[str, Any]) -> str:
    """The whole page: verdict, chart of budget and events, probe lanes, checks and timeline."""
    name = escape(str(report.get("scenario", "scenario")))
    passed = bool(report.get("passed"))
    verdict = '<b class="pass">PASSED</b>' if passed else '<b class="fail">FAILED</b>'
    summary = (
        f"<p>{verdict} · patch calls {report.get('patch_calls', 0)} "
        f"(attempts {report.get('patch_attempts', 0)}) · downtime "
        f"{format_duration(float(report.get('downtime_s') or 0))} · "
        f'<span class="first-alert">first alert {_first_alert(report)}</span></p>'
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>sbwatch replay: {name}</title><style>{_STYLE}</style></head><body>"
        f"<h1>sbwatch replay: {name}</h1>{summary}{svg(report)}"
        f"<h2>Checks</h2>{_checks(report)}{uptime_table(report)}"
        f"<h2>Incidents</h2>{_incidents(report)}"
        f"<h2>Timeline</h2>{_timeline(report)}</body></html>"
    )


def uptime_table(report: dict[str, Any]) -> str:
    """Each service's availability as sbwatch measured it (thresholded states, time known)."""
    rows = "".join(
        f'<tr class="availability"><td>{escape(str(u["project"]))}</td>'
        f"<td>{escape(str(u['service']))}</td><td>{escape(str(u['availability_text']))}</td>"
        f"<td>{format_duration(float(u['down_s']))}</td></tr>"
        for u in report.get("uptime", []) or []
    )
    if not rows:
        return ""
    head = "<tr><th>project</th><th>service</th><th>availability</th><th>down</th></tr>"
    return f"<h2>Availability as sbwatch measured it</h2><table>{head}{rows}</table>"


def incident_lines(report: dict[str, Any]) -> list[str]:
    """The replay's incidents for a terminal: each as its changelog entry, then its timeline."""
    lines = []
    for incident in report.get("incidents", []) or []:
        lines.append(f"Incident #{incident['id']}: {incident['changelog']}")
        lines += [f"    {event['line']}" for event in incident["timeline"]]
    return lines or ["No incident."]


def _incidents(report: dict[str, Any]) -> str:
    """Each incident as its changelog entry, opening onto its timeline."""
    items = []
    for incident in report.get("incidents", []) or []:
        rows = "".join(f"<li>{escape(str(e['line']))}</li>" for e in incident["timeline"])
        items.append(
            f'<details class="incident"><summary>#{incident["id"]} '
            f"{escape(str(incident['changelog']))}</summary><ul>{rows}</ul></details>"
        )
    return "".join(items) or '<p class="quiet">none</p>'


def _first_alert(report: dict[str, Any]) -> str:
    """When the phone got its first message, and what it said."""
    alerts = sorted(report.get("alerts", []) or [], key=lambda a: float(a["at_s"]))
    if not alerts:
        return "none"
    first = alerts[0]
    return f"{format_offset(float(first['at_s']))}: {escape(str(first.get('title', '')))}"


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
    """Every event in time order; an alert as the phone showed it, an email by its subject."""
    rows: list[tuple[float, str, str]] = []
    for d in report.get("diagnoses", []) or []:
        rows.append((float(d["at_s"]), "diagnosis", escape(str(d.get("kind")))))
    for a in report.get("alerts", []) or []:
        body = str(a.get("body") or "").strip()
        text = escape(str(a.get("title"))) + (
            f'<div class="body">{escape(body)}</div>' * bool(body)
        )
        rows.append((float(a["at_s"]), "alert", text))
    for h in report.get("held", []) or []:
        rows.append((float(h["at_s"]), "held back", escape(f"{h.get('note')}: {h.get('title')}")))
    for e in report.get("escalations", []) or []:
        text = f"{e.get('from')} -> {e.get('to')} ({e.get('outcome')})"
        rows.append((float(e["at_s"]), "escalation", escape(text)))
    for r in report.get("outside_resizes", []) or []:
        text = f"{r.get('from')} -> {r.get('to')} in the dashboard" + (
            "" if r.get("applied") else " (not applied)"
        )
        rows.append((float(r["at_s"]), "outside resize", escape(text)))
    for m in report.get("emails", []) or []:
        rows.append((float(m["at_s"]), "email", escape(email_text(m))))
    series = first_project_series(report)
    for period in empty_periods(series, span_of(report)):
        text = f"0% left until {format_offset(period['end_s'])}: {period['why']}"
        rows.append((period["start_s"], "budget", escape(text)))
    lanes = lanes_of(report)
    several = len({project for project, _ in lanes}) > 1
    for s in report.get("probe_states", []) or []:
        who = f"{s.get('project')} {s.get('probe')}" if several else str(s.get("probe"))
        rows.append((float(s["at_s"]), "probe", escape(f"{who}: {s.get('state')}")))
    rows.sort(key=lambda row: row[0])
    body = "".join(
        f'<tr class="{kind.replace(" ", "-")}"><td>{format_offset(at)}</td><td>{kind}</td>'
        f"<td>{text}</td></tr>"
        for at, kind, text in rows
    )
    return f"<table><tr><th>at</th><th>what</th><th>detail</th></tr>{body}</table>"
