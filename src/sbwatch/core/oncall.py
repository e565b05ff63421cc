"""What on-call people tell sbwatch: maintenance windows and acknowledged alerts, as values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """Planned work on a project (or ``*``): probes run and alerts record, nothing pages and
    nothing escalates from ``starts_at`` until ``ends_at``."""

    id: int
    project: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str = ""

    def covers(self, project: str, at: datetime) -> bool:
        """Whether the window holds back ``project`` at ``at`` (start included, end not)."""
        return self.project in (project, "*") and self.starts_at <= at < self.ends_at


@dataclass(frozen=True, slots=True)
class Ack:
    """A person took an open alert: its reminders stop and it is not passed on."""

    alert_key: str
    project: str
    opened_at: datetime
    """With the key, names one alert: a later alert of the same key is a new one."""
    acked_at: datetime
    acked_by: str


@dataclass(frozen=True, slots=True)
class AlertEscalation:
    """An unacknowledged critical passed on to the escalation routes (once per alert)."""

    alert_key: str
    project: str
    opened_at: datetime
    escalated_at: datetime
    routes: tuple[str, ...]
