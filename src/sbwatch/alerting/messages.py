"""Alert messages a tired person understands on a lock screen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sbwatch.alerting.phone import Message, Target
from sbwatch.alerting.words import (
    alert_title,
    before_line,
    changed_title,
    dashboard_line,
    is_part_of_line,
    lasted_line,
    one_line,
    raised_title,
    resolved_title,
    said_body,
    since_line,
    still_title,
)
from sbwatch.core.durations import format_duration
from sbwatch.core.results import Severity
from sbwatch.policy.alerts import ActionKind, AlertAction

MessageKind = ActionKind
"""A message is said for each kind of alert action."""


def format_title(
    kind: MessageKind,
    *,
    name: str,
    severity: Severity,
    title: str,
    lasted_s: float = 0.0,
    previous: Severity | None = None,
    changed: bool = False,
) -> str:
    """The first line: state, project display name and what is wrong."""
    what = one_line(title)
    if kind == "update" and changed:
        return changed_title(severity, name, what)
    if kind == "resolve":
        return resolved_title(name, what, lasted_s)
    if kind == "remind":
        return still_title(severity, name, what, lasted_s)
    if kind == "update" and previous is not None:
        return raised_title(severity, previous, name, what)
    return alert_title(severity, name, what)


def format_body(
    kind: MessageKind,
    *,
    body: str,
    opened_at: datetime,
    now: datetime,
    dashboard_url: str | None = None,
) -> str:
    """The details: what sbwatch did or proposes (commands kept verbatim), since when, the link.

    For a resolve, ``now`` is when the problem ended, and the body says only what ended (with
    what it took in) and how long it lasted: the opening evidence is not said again.
    """
    lines = [line.rstrip() for line in body.strip().splitlines() if line.strip()]
    lasted = format_duration((now - opened_at).total_seconds())
    if kind == "resolve":
        # What ended and how long it lasted; the opening evidence is no longer true
        lines = [line for line in lines if is_part_of_line(line)]
        lines.append(lasted_line(lasted, opened_at, now))
    elif kind != "notice":
        lines.append(since_line(opened_at, lasted))
    if dashboard_url:
        lines.append(dashboard_line(dashboard_url))
    return "\n".join(lines)


def format_message(
    kind: MessageKind,
    *,
    name: str,
    severity: Severity,
    title: str,
    body: str,
    opened_at: datetime,
    now: datetime,
    dashboard_url: str | None = None,
    previous: Severity | None = None,
    was: str | None = None,
    part_of: Sequence[str] = (),
) -> tuple[str, str]:
    """The (title, body) of one notification; ``was``: the title a new cause replaces;
    ``part_of``: the titles of the alerts it took in."""
    lasted_s = (now - opened_at).total_seconds()
    head = format_title(
        kind,
        name=name,
        severity=severity,
        title=title,
        lasted_s=lasted_s,
        previous=previous,
        changed=was is not None,
    )
    body = said_body(body, part_of)
    if was is not None:
        body = f"{body}\n{before_line(was)}".strip()
    text = format_body(kind, body=body, opened_at=opened_at, now=now, dashboard_url=dashboard_url)
    return head, text


def render(action: AlertAction, target: Target, now: datetime) -> Message:
    """The message of one alert action; a resolve counts its duration to the problem's end."""
    alert = action.alert
    until = action.ended_at if action.kind == "resolve" and action.ended_at else now
    title, body = format_message(
        action.kind,
        name=target.name,
        severity=alert.severity,
        title=alert.title,
        body=alert.body,
        opened_at=alert.opened_at,
        now=until,
        dashboard_url=target.dashboard_url,
        previous=action.previous,
        was=action.was,
        part_of=alert.part_of,
    )
    return Message(title, body, good_news=action.kind == "resolve" or action.good_news)
