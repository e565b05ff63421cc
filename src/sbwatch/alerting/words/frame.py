"""The frame of an alert's message: its title line (the state, the project, what is wrong)
and the lines around its body (since when, how long it lasted, what it took in, the link)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sbwatch.core.durations import format_duration
from sbwatch.core.results import Severity

PART_OF = "Part of it:"
"""Begins the line of a cause's alert naming the alerts it took in."""

_LABEL = {Severity.CRITICAL: "CRITICAL", Severity.WARNING: "WARNING", Severity.INFO: "INFO"}


def one_line(text: str, limit: int = 120) -> str:
    """Collapse whitespace and newlines; cut long text with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def severity_label(severity: Severity) -> str:
    """How a title names a severity: "CRITICAL"."""
    return _LABEL[severity]


def alert_title(severity: Severity, name: str, what: str) -> str:
    """An alert opened (or said again): "WARNING shop: disk IO budget 20% left"."""
    return f"{severity_label(severity)} {name}: {what}"


def changed_title(severity: Severity, name: str, what: str) -> str:
    """An open alert whose cause changed: "CRITICAL shop: now Supabase platform outage"."""
    return f"{severity_label(severity)} {name}: now {what}"


def raised_title(severity: Severity, previous: Severity, name: str, what: str) -> str:
    """An open alert raised to a higher severity: "CRITICAL (was warning) shop: ..."."""
    return f"{severity_label(severity)} (was {previous.value}) {name}: {what}"


def still_title(severity: Severity, name: str, what: str, lasted_s: float) -> str:
    """The reminder of an open alert: "STILL CRITICAL shop: rest is down (1h)"."""
    return f"STILL {severity_label(severity)} {name}: {what} ({format_duration(lasted_s)})"


def resolved_title(name: str, what: str, lasted_s: float) -> str:
    """An alert that ended: "RESOLVED shop: rest is down (lasted 20m)"."""
    return f"RESOLVED {name}: {what} (lasted {format_duration(lasted_s)})"


def since_line(opened_at: datetime, lasted: str) -> str:
    """When an open alert began, and how long ago: "Since 2026-05-20 12:00 UTC (20m)."."""
    return f"Since {opened_at:%Y-%m-%d %H:%M} UTC ({lasted})."


def lasted_line(lasted: str, opened_at: datetime, ended: datetime) -> str:
    """How long an alert that ended lasted: "Lasted 20m: 2026-05-20 12:00 to 12:20 UTC."."""
    return f"Lasted {lasted}: {opened_at:%Y-%m-%d %H:%M} to {ended:%H:%M} UTC."


def dashboard_line(url: str) -> str:
    """The link to the project's dashboard."""
    return f"Dashboard: {url}"


def before_line(was: str) -> str:
    """The title a new cause replaces."""
    return f"Before: {one_line(was)}"


def said_body(body: str, part_of: Sequence[str] = ()) -> str:
    """An alert's body as said: with the titles of the alerts it took in, when any."""
    if not part_of:
        return body
    return f"{body}\n{PART_OF} {', '.join(part_of)}.".strip()


def is_part_of_line(line: str) -> bool:
    """Whether a line of a body names the alerts its cause took in (a RESOLVED keeps it)."""
    return line.startswith(PART_OF)
