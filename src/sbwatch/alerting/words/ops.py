"""The daemon's own affairs: high availability, its state store and configuration, a message
a route refused, the Management API token's expiry, maintenance windows, a critical passed
on unacknowledged and the Acknowledge button of an ntfy message with its answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sbwatch.alerting.phone import Message, Target
from sbwatch.alerting.words.frame import dashboard_line, one_line, said_body, since_line
from sbwatch.core.durations import format_duration
from sbwatch.core.oncall import MaintenanceWindow
from sbwatch.core.results import (
    Alert,
)
from sbwatch.policy.credentials import ExpiryNotice

# --- delivery ----------------------------------------------------------------------------


TIMED_OUT = "timeout"
"""Why a send failed: the route did not answer in time."""
CONNECTION_FAILED = "connection error"
"""Why a send failed: the route could not be reached."""
UNRECOGNISED = "unrecognised failure"
"""Why a send failed, when nothing tells."""
INVALID_URL = "invalid route url"
"""Why a route refuses every message: apprise cannot read its URL."""
ROUTE_GONE = "route no longer configured"
"""Why a queued message cannot be sent: its route was taken out of the configuration."""


def http_failure(status: int) -> str:
    """Why a send failed: the route answered this HTTP status."""
    return f"http {status}"


def raised_failure(error: str) -> str:
    """Why a send failed: apprise raised this exception (its type only: the text may hold the
    route's URL)."""
    return f"apprise raised {error}"


def undelivered_title(route: str, title: str) -> str:
    """The report of a message a route refused for good, sent to the other routes."""
    return f"sbwatch could not deliver to route {route}: {title}"


def undelivered_body(route: str, reason: str, body: str) -> str:
    """Why the route refused it, how to check the route, and the message itself."""
    return (
        f"Route {route} refused this message for good ({reason}); fix the route "
        f"(`sbwatch alert test {route}`). The message was:\n{body}"
    )


# --- the Management API token ------------------------------------------------------------

_RENEW = (
    "Create a new access token in the dashboard (Account > Access Tokens), put it where "
    "mgmt_token reads it, set mgmt_token_expires to its expiry and restart sbwatch."
)


def expiry_title(notice: ExpiryNotice) -> str:
    """When the token expires, or that it has."""
    if notice.stage == 0:
        return f"the Management API token expired on {notice.expires:%Y-%m-%d}"
    return (
        f"the Management API token expires in {notice.days_left} days ({notice.expires:%Y-%m-%d})"
    )


def expiry_body(notice: ExpiryNotice) -> str:
    """What an expired token stops, and how to renew it."""
    if notice.stage == 0:
        return "sbwatch cannot read the provider's view nor change the compute size. " + _RENEW
    return (
        "Then sbwatch can no longer read the provider's view nor change the compute size. " + _RENEW
    )


# --- the daemon --------------------------------------------------------------------------


def took_over_title(instance: str) -> str:
    """High availability: this instance leads now."""
    return f"sbwatch instance {instance} took over the lead"


def took_over_body(instance: str, epoch: int, previous: str | None) -> str:
    """Under which epoch, and which instance stopped renewing its lease."""
    return f"Instance {instance} leads under epoch {epoch}" + (
        f"; {previous} stopped renewing its lease." if previous else "."
    )


STORE_REPLACED_TITLE = "sbwatch stopped: its state store was replaced"


def store_replaced_body(why: str) -> str:
    """Why sbwatch stopped acting, and what to do."""
    return (
        f"{why}. sbwatch stopped acting so that no second daemon acts beside it; "
        "start it again once the state file is where it belongs."
    )


STORE_AWAY_TITLE = "state store unavailable"


def store_away_body(why: str, direct_after_s: float) -> str:
    """What sbwatch does with alerts and messages while its state store is away."""
    return (
        f"sbwatch cannot write its state store ({why}). Alerts and messages "
        f"are kept in memory and written when it returns; held beyond "
        f"{direct_after_s:.0f}s they are sent directly."
    )


CONFIG_REFUSED_TITLE = "configuration reload refused"


def config_refused_body(problems: Sequence[str]) -> str:
    """The first problems of a refused configuration; the old one keeps running."""
    return "\n".join(problems[:10]) + "\nThe previous configuration keeps running."


# --- on-call -----------------------------------------------------------------------------


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
    said = said_body(alert.body, alert.part_of)
    lines = [
        f"Nobody acknowledged this page for {waited}: it is passed on to you.",
        *(line.rstrip() for line in said.strip().splitlines() if line.strip()),
        since_line(alert.opened_at, lasted),
        f"Take it: sbwatch ack {alert.key}",
    ]
    if target.dashboard_url:
        lines.append(dashboard_line(target.dashboard_url))
    title = f"UNACKNOWLEDGED CRITICAL {target.name}: {one_line(alert.title)} ({lasted})"
    return Message(title, "\n".join(lines))


ACK_LABEL = "Acknowledge"
"""The label of the ntfy button that acknowledges an open alert."""
NO_ACK_LINK = "no such acknowledgement link"
"""The answer to a link that names no alert."""
ACK_REFUSED = "this link acknowledges nothing"
"""The answer to a link whose token is wrong."""


def acked_by_button(route: str) -> str:
    """Who acknowledged an alert with the button of one route's message."""
    return f"{route} ({ACK_LABEL} button)"


def ack_closed(key: str) -> str:
    """The answer to a link of an alert that closed since."""
    return f"{key} is no longer open: nothing to acknowledge"


def ack_before(key: str, acked_by: str) -> str:
    """The answer to a link of an alert someone already took."""
    return f"{key} was already acknowledged by {acked_by}"


def ack_taken(key: str, title: str) -> str:
    """The answer to a link that acknowledged its alert."""
    return f"acknowledged {key} ({title}): no more reminders"
