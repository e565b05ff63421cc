"""Each project's availability against its objective, read from the store: the ``uptime`` of
the status document (``sbwatch status``, the status page) and the availability metrics."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sbwatch.config.settings import Settings
from sbwatch.core.probe_specs import service_probes
from sbwatch.core.results import ProbeKind
from sbwatch.policy.oncall import config_windows, in_force
from sbwatch.policy.uptime import (
    BUDGET_WINDOW,
    LOOKBACK,
    WINDOWS,
    ServiceUptime,
    Span,
    Tally,
    covered,
    maintenance_spans,
    merge,
    service_uptime,
    state_spans,
)
from sbwatch.store.base import PROBE_SLOT, OnCallStore, Store, slot_start
from sbwatch.store.docs import Slot, field, moment, reading, slot

if TYPE_CHECKING:  # status reads uptime without loading prometheus_client
    from sbwatch.core.metrics import Metrics

CACHE_NAMESPACE = "uptime"
"""State documents (one a project) keeping the slot runs read so far, and up to when."""
MAINTENANCE_EVERY_S = 30.0
"""How often the maintenance gauge is set again."""
UPTIME_EVERY_S = 300.0
"""The availability metrics are computed again this often (a day of the bar is 288 of these)."""


async def coverage_runs(
    store: Store, ref: str, since: datetime, now: datetime, *, keep: bool = False
) -> dict[ProbeKind, list[Span]]:
    """The runs of ten-minute slots with results of each probe since ``since``: those the
    daemon kept (the past does not change) and the slots after them, read now; ``keep``
    writes the whole back for the next reader."""
    cache = cache_slot(ref)
    kept = None
    with contextlib.suppress(ValueError):  # a cache unreadable is read again from the slots
        kept = await cache.read(store)
    runs: dict[ProbeKind, list[Span]] = {}
    start = since
    if kept is not None:
        runs = {kind: list(spans) for kind, spans in kept.runs.items()}
        start = max(since, kept.through)
    for kind, at in await store.probe_slots(ref, start, tuple(service_probes())):
        runs.setdefault(kind, []).append((at, at + PROBE_SLOT))
    runs = {
        kind: [(a, b) for a, b in merge(spans) if b > since - PROBE_SLOT]
        for kind, spans in runs.items()
    }
    if keep:
        await cache.write(store, UptimeCache(slot_start(now), runs))
    return runs


@dataclass(frozen=True, slots=True)
class UptimeCache:
    """The runs of slots with results of each probe, read up to ``through``.

    Stored as ``{"through": ISO, "runs": {"rest": [[ISO, ISO], ...], ...}}``.
    """

    through: datetime
    runs: Mapping[ProbeKind, Sequence[Span]]

    def to_doc(self) -> dict[str, Any]:
        """The stored form."""
        runs = {
            kind.value: [[a.isoformat(), b.isoformat()] for a, b in spans]
            for kind, spans in self.runs.items()
        }
        return {"through": self.through.isoformat(), "runs": runs}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> UptimeCache:
        """The inverse of :meth:`to_doc`; ValueError naming the field when malformed."""

        def build() -> UptimeCache:
            runs = {
                ProbeKind(kind): [(_at(a), _at(b)) for a, b in spans]
                for kind, spans in field(doc, "runs", dict).items()
            }
            return cls(moment(doc, "through"), runs)

        return reading("uptime cache", build)


def cache_slot(ref: str) -> Slot[UptimeCache]:
    """Where a project's slot runs read so far are kept."""
    return slot(CACHE_NAMESPACE, ref, UptimeCache)


def _at(text: str) -> datetime:
    """A kept time (ISO text with its offset)."""
    found = datetime.fromisoformat(text)
    if found.tzinfo is None:
        raise ValueError(f"no offset in {text!r}")
    return found


async def project_uptime(
    store: Store, settings: Settings, ref: str, now: datetime, *, keep: bool = False
) -> list[ServiceUptime]:
    """The figures of each service the project probes, over the last 90 days (``keep``: the
    daemon's periodic run, which keeps what it read of the probe results for the next)."""
    project = settings.project(ref)
    since = now - LOOKBACK
    states = {s.probe: s.state for s in await store.probe_statuses(ref)}
    transitions = await store.transitions(ref, since)
    runs = await coverage_runs(store, ref, since, now, keep=keep)
    refs = {p.name: p.ref for p in settings.projects if p.name}
    stored = await store.maintenance_windows(ending_after=since)
    maint = maintenance_spans(ref, stored, settings.maintenance, refs, since, now)
    found = []
    for service in service_probes():
        if service not in project.enabled_probes():
            continue
        mine = [t for t in transitions if t.probe is service]
        current = states.get(service)
        spans = state_spans(mine, current, since, now) if current else {}
        interval = project.probes[service].interval
        coverage = covered(runs.get(service, []), PROBE_SLOT, interval)
        found.append(service_uptime(service, spans, coverage, maint, project.slo, now))
    return found


def _tally(t: Tally) -> dict[str, Any]:
    return {
        "availability": t.availability,
        "up_s": round(t.up_s, 1),
        "down_s": round(t.down_s, 1),
        "unknown_s": round(t.unknown_s, 1),
        "maintenance_s": round(t.maintenance_s, 1),
    }


def uptime_doc(objective: float, services: list[ServiceUptime]) -> dict[str, Any]:
    """The figures as JSON-ready data: each window, the budget, and one entry a day."""
    return {
        "objective": objective,
        "budget_window": BUDGET_WINDOW,
        "services": [
            {
                "service": s.service.value,
                "windows": {name: _tally(t) for name, t in s.windows.items()},
                "budget": {
                    "allowed_s": round(s.budget.allowed_s, 1),
                    "spent_s": round(s.budget.spent_s, 1),
                    "remaining_ratio": s.budget.remaining_ratio,
                },
                "days": [{"date": day.isoformat(), **_tally(t)} for day, t in s.days],
            }
            for s in services
        ],
    }


def record_uptime(
    metrics: Metrics, ref: str, objective: float, services: list[ServiceUptime]
) -> None:
    """Set the availability gauges of one project; a window with nothing known has none."""
    metrics.availability_objective.labels(ref).set(objective / 100)
    for s in services:
        service = s.service.value
        for name in WINDOWS:
            ratio = s.windows[name].availability
            if ratio is None:
                with contextlib.suppress(KeyError):
                    metrics.availability.remove(ref, service, name)
            else:
                metrics.availability.labels(ref, service, name).set(ratio)
        remaining = s.budget.remaining_ratio
        if remaining is not None:
            metrics.error_budget_remaining.labels(ref, service).set(remaining)


async def update_uptime_metrics(
    store: Store, settings: Settings, metrics: Metrics, ref: str, now: datetime
) -> None:
    """Compute one project's figures and export them."""
    project = settings.project(ref)
    services = await project_uptime(store, settings, ref, now, keep=True)
    record_uptime(metrics, ref, project.slo, services)


async def update_maintenance_metric(
    store: OnCallStore,
    settings: Settings,
    metrics: Metrics,
    now: datetime,
    *,
    runs: Callable[[str], bool] = lambda ref: True,
) -> None:
    """Whether a maintenance window holds each project back now (the burn alert waits), for
    each project ``runs`` says this instance runs."""
    refs = {p.name: p.ref for p in settings.projects if p.name}
    windows = [
        *await store.maintenance_windows(ending_after=now),
        *config_windows(settings.maintenance, refs, now),
    ]
    for project in [p for p in settings.projects if runs(p.ref)]:
        held = in_force(project.ref, windows, now) is not None
        metrics.maintenance_in_force.labels(project.ref).set(1 if held else 0)
