"""On call in the status document: each project's maintenance windows and who took which alert."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sbwatch.config.settings import Settings
from sbwatch.core.oncall import MaintenanceWindow
from sbwatch.policy.oncall import config_windows, next_config_start
from sbwatch.store.base import OnCallStore

PLANNED_AHEAD = timedelta(days=7)
"""Windows starting this soon are shown as planned."""


def _window(w: MaintenanceWindow, now: datetime) -> dict[str, Any]:
    return {
        "id": w.id if w.id > 0 else None,
        "starts_at": w.starts_at.isoformat(),
        "ends_at": w.ends_at.isoformat(),
        "reason": w.reason,
        "by": w.created_by,
        "in_force": w.starts_at <= now < w.ends_at,
    }


async def add_oncall(
    store: OnCallStore, settings: Settings, projects: list[dict[str, Any]], now: datetime
) -> None:
    """Give each project document its ``maintenance`` windows (in force or starting within a
    week, the configured ones included) and each open alert its ``acked_by``/``acked_at``."""
    refs = {p.name: p.ref for p in settings.projects if p.name}
    windows = [
        w
        for w in [
            *await store.maintenance_windows(ending_after=now),
            *config_windows(settings.maintenance, refs, now),
        ]
        if w.ends_at > now and w.starts_at < now + PLANNED_AHEAD
    ]
    for index, entry in enumerate(settings.maintenance, start=1):
        start = next_config_start(entry, now)
        if (
            entry.cron
            and entry.duration
            and start is not None
            and now < start < now + PLANNED_AHEAD
        ):
            project = refs.get(entry.project, entry.project)
            windows.append(
                MaintenanceWindow(
                    -index, project, start, start + entry.duration, entry.reason, "config"
                )
            )
    acks = {(a.alert_key, a.opened_at): a for a in await store.acks()} if projects else {}
    for doc in projects:
        mine = [w for w in windows if w.project in (doc["ref"], "*")]
        doc["maintenance"] = [_window(w, now) for w in sorted(mine, key=lambda w: w.starts_at)]
        for alert in doc["open_alerts"]:
            ack = acks.get((alert["key"], datetime.fromisoformat(alert["opened_at"])))
            alert["acked_by"] = ack.acked_by if ack else None
            alert["acked_at"] = ack.acked_at.isoformat() if ack else None
