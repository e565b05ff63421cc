"""What sbwatch measured of each service's availability in a replay, from the replay's store:
the thresholded states and maintenance windows, as the status page reads them, beside the
truth's downtime. The replayed daemon never stops, so the whole replay counts as known (the
fast path leaves out the result rows of quiet minutes, which the daemon's coverage reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sbwatch.config.settings import Settings
from sbwatch.core.probe_specs import service_probes
from sbwatch.core.results import ProbeState
from sbwatch.daemon.uptime_page import percent
from sbwatch.policy.uptime import maintenance_spans, service_uptime, state_spans
from sbwatch.store.base import Store

WINDOW = "90d"
"""Longer than any scenario: the whole replay (the time before it is unknown, left out)."""


async def replay_uptime(
    store: Store, settings: Settings, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """One row per (project, service) probed: availability and time down in the replay."""
    rows = []
    names = {p.name: p.ref for p in settings.projects if p.name}
    stored = await store.maintenance_windows()
    for project in settings.projects:
        ref = project.ref
        moves = await store.transitions(ref, start)
        maint = maintenance_spans(ref, stored, settings.maintenance, names, start, end)
        for service in service_probes():
            if service not in project.enabled_probes():
                continue
            mine = [t for t in moves if t.probe is service]
            states = state_spans(mine, ProbeState.UNKNOWN, start, end)
            figures = service_uptime(service, states, [(start, end)], maint, project.slo, end)
            tally = figures.windows[WINDOW]
            rows.append(
                {
                    "project": ref,
                    "service": service.value,
                    "availability": tally.availability,
                    "availability_text": percent(tally.availability),
                    "down_s": round(tally.down_s, 1),
                    "maintenance_s": round(tally.maintenance_s, 1),
                }
            )
    return rows
