"""Builds diagnosis Signals from the watcher's latest observations (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sbwatch.core.probe_specs import service_probes
from sbwatch.core.readings import MgmtHealth, StatusPage
from sbwatch.core.results import (
    ApiFault,
    ApiTrouble,
    BudgetEstimate,
    Outcome,
    ProbeKind,
    ProbeResult,
    ProbeState,
    ProbeStatus,
    ProviderEmail,
)
from sbwatch.core.tiers import Tier
from sbwatch.policy.budget import Pressure
from sbwatch.policy.connections import ConnAssessment
from sbwatch.policy.cpu import CpuState
from sbwatch.policy.diagnosis import Signals
from sbwatch.policy.memory import MemoryState
from sbwatch.supabase.connections import refusing_pool
from sbwatch.supabase.disk import READ_ONLY_ERROR


def _mgmt(result: ProbeResult | None) -> tuple[dict[str, str] | None, str | None, bool | None]:
    """(service statuses, project status, reachable) from the last mgmt_health result."""
    if result is None:
        return None, None, None
    reading = result.reading
    if isinstance(reading, MgmtHealth):
        return dict(reading.services), reading.project_status, True
    if result.retry_after_s is not None:  # not asked: says nothing about reachability
        return None, None, None
    if result.outcome is Outcome.FAIL and (result.status_code or 0) < 500:
        return None, None, True  # it answered (token invalid, expired, lacking): reachable
    return None, None, False


def _lever(status: ProbeStatus | None) -> ApiTrouble | None:
    """What ails the Management API, once confirmed (its probe down): rate limited or failing.

    A token it rejects or services it reports unhealthy are answers, not a failing API."""
    if status is None or status.state is not ProbeState.DOWN or status.last is None:
        return None
    last = status.last
    if last.retry_after_s is not None:
        return ApiTrouble(ApiFault.RATE_LIMITED)
    code = last.status_code
    if code is not None and code >= 500:
        return ApiTrouble(ApiFault.SERVER_ERROR, code)
    if last.outcome is Outcome.TIMEOUT:
        return ApiTrouble(ApiFault.NO_ANSWER)
    if last.outcome is Outcome.ERROR:
        return ApiTrouble(ApiFault.UNREACHABLE)
    return None


def _status_page(result: ProbeResult | None) -> tuple[str | None, dict[str, str], bool | None]:
    if result is None:
        return None, {}, None
    if result.outcome is Outcome.OK:
        reading = result.reading
        if isinstance(reading, StatusPage):
            return reading.indicator, dict(reading.components), True
        return None, {}, True
    return None, {}, result.outcome is Outcome.FAIL


def _last_at(status: ProbeStatus | None) -> datetime | None:
    """When a probe last ran (None: never)."""
    return status.last.at if status is not None and status.last is not None else None


def build_signals(
    ref: str,
    now: datetime,
    statuses: Mapping[ProbeKind, ProbeStatus],
    *,
    provider: ProbeResult | None,
    budget: BudgetEstimate | None,
    pressure: Pressure | None,
    emails: Sequence[ProviderEmail],
    warn_horizon_s: float,
    low_ratio: float,
    connections: ConnAssessment | None = None,
    host: tuple[MemoryState | None, CpuState | None] = (None, None),
    tier: Tier | None = None,
    memory_warn_within_s: float = 86_400.0,
) -> Signals:
    """Everything diagnosis needs about one project at ``now``."""
    services: dict[str, ProbeState] = {}
    down_since: dict[str, datetime] = {}
    outcomes: dict[str, Outcome] = {}
    codes: dict[str, int] = {}
    answered: dict[str, float] = {}
    probed_at: dict[str, datetime] = {}
    for kind, name in service_probes().items():
        status = statuses.get(kind)
        if status is None:
            continue
        services[name] = status.state
        began = status.failing_since or status.changed_at
        if status.state is ProbeState.DOWN and began is not None:
            down_since[name] = began
        if status.last is not None:
            outcomes[name] = status.last.outcome
            probed_at[name] = status.last.at
            if status.last.ok:
                answered[name] = status.last.duration_s
            if status.last.status_code is not None:
                codes[name] = status.last.status_code
    mgmt = statuses.get(ProbeKind.MGMT_HEALTH)
    mgmt_services, project_status, mgmt_reachable = _mgmt(mgmt.last if mgmt else None)
    if mgmt is not None and mgmt.last is not None and mgmt.last.status_code == 402:
        codes["mgmt_api"] = 402  # the organization's quota: the API says so too
    indicator, components, status_reachable = _status_page(provider)
    db = statuses.get(ProbeKind.DB)
    read_only = db is not None and db.last is not None and READ_ONLY_ERROR in db.last.detail
    refusing = None
    if db is not None and db.last is not None and not db.last.ok:
        refusing = refusing_pool(db.last.detail)
    return Signals(
        ref=ref,
        now=now,
        services=services,
        down_since=down_since,
        outcomes=outcomes,
        status_codes=codes,
        answered_s=answered,
        probed_at=probed_at,
        mgmt_services=mgmt_services,
        project_status=project_status,
        mgmt_reachable=mgmt_reachable,
        status_indicator=indicator,
        status_components=components,
        status_reachable=status_reachable,
        status_seen_at=provider.at if provider is not None else None,
        budget=budget,
        iowait_ratio=pressure.iowait_ratio if pressure else None,
        cpu_busy_ratio=pressure.cpu_busy_ratio if pressure else None,
        mem_available_ratio=pressure.mem_available_ratio if pressure else None,
        disk_used_ratio=pressure.disk_used_ratio if pressure else None,
        pg_up=pressure.pg_up if pressure else None,
        read_only=read_only,
        connections=connections,
        refused_pool=refusing,
        emails=tuple(emails),
        mgmt_lever=_lever(mgmt),
        mgmt_seen_at=mgmt.last.at if mgmt is not None and mgmt.last is not None else None,
        metrics_seen_at=_last_at(statuses.get(ProbeKind.METRICS)),
        warn_horizon_s=warn_horizon_s,
        low_ratio=low_ratio,
        memory=host[0],
        cpu=host[1],
        tier=tier,
        memory_warn_within_s=memory_warn_within_s,
    )
