"""The words of on-call: a message after a maintenance window, a page passed on unanswered."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sbwatch.alerting.messages import Message, Target, one_line
from sbwatch.core.durations import format_duration
from sbwatch.core.oncall import MaintenanceWindow
from sbwatch.core.results import Alert


def window_span(window: MaintenanceWindow) -> str:
    """``10:00-10:30 UTC`` within a day, with the dates when it spans days."""
    start, end = window.starts_at, window.ends_at
    if start.date() == end.date():
        return f"{start:%H:%M}-{end:%H:%M} UTC"
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"


def after_maintenance_line(window: MaintenanceWindow) -> str:
    """The line a message sent just after a window begins with."""
    return f"After maintenance {window_span(window)}: {window.reason}"


def after_maintenance(message: Message, window: MaintenanceWindow) -> Message:
    """``message`` naming the window that just ended, first thing in its body."""
    return replace(message, body=f"{after_maintenance_line(window)}\n{message.body}".strip())


def passed_on(alert: Alert, target: Target, paged_at: datetime, now: datetime) -> Message:
    """The message of a critical nobody acknowledged, to the escalation routes."""
    waited = format_duration((now - paged_at).total_seconds())
    lasted = format_duration((now - alert.opened_at).total_seconds())
    lines = [
        f"Nobody acknowledged this page for {waited}: it is passed on to you.",
        *(line.rstrip() for line in alert.body.strip().splitlines() if line.strip()),
        f"Since {alert.opened_at:%Y-%m-%d %H:%M} UTC ({lasted}).",
        f"Take it: sbwatch ack {alert.key}",
    ]
    if target.dashboard_url:
        lines.append(f"Dashboard: {target.dashboard_url}")
    title = f"UNACKNOWLEDGED CRITICAL {target.name}: {one_line(alert.title)} ({lasted})"
    return Message(title, "\n".join(lines))
