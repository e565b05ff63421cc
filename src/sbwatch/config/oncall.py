"""On-call configuration: maintenance windows (``[[maintenance]]``) and their checks, and the
checks of passing an unacknowledged critical on (``[alerting] escalate_after/escalate_to``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pydantic import AwareDatetime

from sbwatch.config.types import CronExpr, PositiveDuration, TimeZoneName
from sbwatch.config.types import StrictModel as _Model
from sbwatch.core.problems import Problem, under

LONGEST_REPEATING = timedelta(days=7)
"""A repeating window lasts at most a week: its last start is looked for that far back."""


class MaintenanceSettings(_Model):
    """Planned work on a project: probes run and alerts record, nothing pages or escalates.

    Either one span (``start`` and ``end``) or a repeating one (``cron`` and ``duration``)."""

    project: str = "*"
    """A project ref or name, or "*" for every project."""
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    cron: CronExpr | None = None
    """When a repeating window starts: five cron fields, in ``timezone``."""
    duration: PositiveDuration | None = None
    """How long a repeating window lasts."""
    timezone: TimeZoneName = None
    """Of ``cron``; default the system's local time zone."""
    reason: str = "maintenance"


def maintenance_problems(
    windows: Sequence[MaintenanceSettings], projects: Sequence[tuple[str, str | None]]
) -> list[Problem]:
    """Every problem of the ``[[maintenance]]`` entries, located at ``maintenance[i].field``;
    ``projects``: the configured (ref, name) pairs."""
    known = {ref for ref, _ in projects} | {name for _, name in projects if name}
    problems: list[Problem] = []
    for index, window in enumerate(windows):
        where = f"maintenance[{index}]"
        if window.project != "*" and window.project not in known:
            refs = ", ".join(ref for ref, _ in projects) or "none configured"
            problems.append(
                Problem(
                    f"{where}.project", f"no project {window.project!r} (projects: {refs}; or '*')"
                )
            )
        problems += under(where, _span_problems(window))
    return problems


def _span_problems(window: MaintenanceSettings) -> list[Problem]:
    """Problems located at a window's field: one span or one schedule, each whole."""
    span = window.start is not None or window.end is not None
    if window.cron is not None:
        found = [
            Problem(key, "give start and end, or cron and duration, not both")
            for key in ("start", "end")
            if getattr(window, key) is not None
        ]
        if window.duration is None:
            found.append(
                Problem("duration", "required with cron: how long each window lasts, like '30m'")
            )
        elif window.duration > LONGEST_REPEATING:
            found.append(Problem("duration", "a repeating window lasts at most 7d"))
        return found
    if window.duration is not None:
        return [
            Problem("cron", "required with duration: when the window starts, like '0 2 * * sun'")
        ]
    if window.timezone is not None:
        return [Problem("timezone", "only for cron (start and end carry their own offset)")]
    if not span:
        return [
            Problem("start", "give start and end (like 2026-06-01T10:00:00Z), or cron and duration")
        ]
    if window.start is None:
        return [Problem("start", "required with end")]
    if window.end is None:
        return [Problem("end", "required with start")]
    if window.end <= window.start:
        return [Problem("end", "must be after start")]
    return []


def escalation_problems(
    route_names: Sequence[str], escalate_to: Sequence[str], escalate_after: timedelta | None
) -> list[Problem]:
    """Problems of passing unacknowledged criticals on, located at ``alerting.key``."""
    problems = []
    for name in escalate_to:
        if name not in route_names:
            known = ", ".join(route_names) or "none configured"
            problems.append(
                Problem(
                    "alerting.escalate_to",
                    f"no route named {name!r} in [[alerting.routes]] (routes: {known})",
                )
            )
    if escalate_to and escalate_after is None:
        problems.append(
            Problem(
                "alerting.escalate_after",
                "required with escalate_to: how long a critical waits for an acknowledgement, "
                "like '15m'",
            )
        )
    if escalate_after is not None and not escalate_to:
        problems.append(
            Problem(
                "alerting.escalate_to",
                "required with escalate_after: the route names an unacknowledged critical is "
                "passed on to",
            )
        )
    return problems
