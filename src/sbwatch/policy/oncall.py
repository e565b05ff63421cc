"""Maintenance windows and unacknowledged criticals: pure decisions over values and ``now``.

- A window holds a project back (or every project, ``*``): nothing is sent and nothing
  escalates while it lasts; alerts still open and close (the caller passes the window as a
  silence to :func:`sbwatch.policy.alerts.evaluate`).
- What is sent within :func:`after_period` of a window's end names the window.
- A critical page nobody acknowledged within ``escalate_after`` is passed on once to the
  escalation routes; never while the alert is acknowledged, closed, or held back.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sbwatch.config.oncall import MaintenanceSettings
from sbwatch.config.settings import AlertingSettings
from sbwatch.core.cron import cron_trigger, previous_fire
from sbwatch.core.oncall import MaintenanceWindow
from sbwatch.core.results import Alert, Severity
from sbwatch.policy.escalation import EscalationDecision, Why

CONFIG_CREATOR = "config"
"""Who made a window written in the configuration."""
AFTER_PERIOD_DEFAULT = timedelta(hours=1)
"""How long messages name a window that ended, when criticals are never reminded."""


def config_windows(
    entries: Sequence[MaintenanceSettings], refs: Mapping[str, str], now: datetime
) -> list[MaintenanceWindow]:
    """The configured windows as of ``now``: each span, and each schedule's latest start
    (ended or not); ``refs`` maps project names to refs. Ids are negative (not in the store)."""
    windows = []
    for index, entry in enumerate(entries, start=1):
        project = refs.get(entry.project, entry.project)
        if entry.cron is not None and entry.duration is not None:
            trigger = cron_trigger(entry.cron, entry.timezone)
            started = previous_fire(trigger, now)
            if started is None:
                continue
            starts, ends = started, started + entry.duration
        elif entry.start is not None and entry.end is not None:
            starts, ends = entry.start, entry.end
        else:  # refused by the configuration's checks
            continue
        windows.append(
            MaintenanceWindow(-index, project, starts, ends, entry.reason, CONFIG_CREATOR)
        )
    return windows


def next_config_start(entry: MaintenanceSettings, now: datetime) -> datetime | None:
    """When a configured window next starts after ``now`` (None when it never does again)."""
    if entry.cron is not None:
        fire = cron_trigger(entry.cron, entry.timezone).get_next_fire_time(None, now)
        return fire.astimezone(UTC) if isinstance(fire, datetime) else None
    return entry.start if entry.start is not None and entry.start > now else None


def in_force(
    project: str, windows: Sequence[MaintenanceWindow], now: datetime
) -> MaintenanceWindow | None:
    """The window holding the project back at ``now`` (the one ending last)."""
    covering = [w for w in windows if w.covers(project, now)]
    return max(covering, key=lambda w: w.ends_at) if covering else None


def just_ended(
    project: str, windows: Sequence[MaintenanceWindow], now: datetime, within: timedelta
) -> MaintenanceWindow | None:
    """The window of the project that ended last, if it ended within ``within`` of ``now``
    (and none holds it back now)."""
    if in_force(project, windows, now) is not None:
        return None
    ended = [
        w
        for w in windows
        if w.project in (project, "*") and w.starts_at < w.ends_at <= now < w.ends_at + within
    ]
    return max(ended, key=lambda w: w.ends_at) if ended else None


def after_period(alerting: AlertingSettings) -> timedelta:
    """How long after a window messages name it: the first reminder period of a critical."""
    return alerting.remind_critical or AFTER_PERIOD_DEFAULT


def during_maintenance(
    decision: EscalationDecision, window: MaintenanceWindow | None
) -> EscalationDecision:
    """No compute change, asked or made, while a window holds the project back."""
    if window is None or decision.action == "none":
        return decision
    held = replace(decision.reason, why=Why.MAINTENANCE, until=window.ends_at, window=window.reason)
    return replace(decision, action="none", reason=held)


AlertId = tuple[str, datetime]
"""One alert: its key and when it opened (a later alert of the same key is another)."""


def alert_id(alert: Alert) -> AlertId:
    """The identity acknowledgements and escalations are kept under."""
    return (alert.key, alert.opened_at)


def due_escalations(
    alerts: Sequence[Alert],
    paged_at: Mapping[str, datetime],
    *,
    acked: Collection[AlertId],
    passed_on: Collection[AlertId],
    after: timedelta,
    now: datetime,
) -> list[Alert]:
    """The open criticals to pass on now: paged (``paged_at``: the first critical message of
    each key) at least ``after`` ago, neither acknowledged nor passed on before."""
    due = []
    for alert in alerts:
        paged = paged_at.get(alert.key)
        if (
            alert.closed_at is None
            and alert.severity is Severity.CRITICAL
            and paged is not None
            and paged >= alert.opened_at
            and now - paged >= after
            and alert_id(alert) not in acked
            and alert_id(alert) not in passed_on
        ):
            due.append(alert)
    return due
