"""What the store says about every configured project: ``sbwatch status`` and the status page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sbwatch.alerting.words import evidence_lines
from sbwatch.config.settings import Settings
from sbwatch.core.lease import PROJECT_LEASE_PREFIX, ProjectLease
from sbwatch.core.results import BudgetEstimate, Intent, ProbeStatus
from sbwatch.daemon.oncall import add_oncall
from sbwatch.daemon.page_rows import proposed_command
from sbwatch.daemon.presence import Heartbeat, read_heartbeat
from sbwatch.daemon.uptime import project_uptime, uptime_doc
from sbwatch.ingest.watcher_state import MAIL_WATCHER
from sbwatch.remediation.disk_journal import disk_report
from sbwatch.store.base import LeaseStore, OnCallStore, Store
from sbwatch.watch.auth_limits import auth_limits_report
from sbwatch.watch.connections import connections_report
from sbwatch.watch.host_state import host_report

FAILED_LOOKBACK = timedelta(days=7)
"""Failed notifications this recent are listed."""


async def gather_status(
    store: Store, settings: Settings, now: datetime, *, window: timedelta | None = None
) -> dict[str, Any]:
    """The status document of every configured project.

    ``window``: also the budget estimates and escalations of that long before ``now``, and the
    silences active at ``now`` (what the status page draws; ``sbwatch status`` leaves it out);
    the page also keeps the probe slots it read, as the daemon's uptime job does.
    """
    projects = [await _project(store, settings, p.ref, window, now) for p in settings.projects]
    await add_oncall(store, settings, projects, now)
    failed = [
        {"route": n.route, "title": n.title, "reason": n.failed}
        for n in await store.notifications(now - FAILED_LOOKBACK)
        if n.failed
    ]
    report: dict[str, Any] = {
        "at": now.isoformat(),
        "daemon": _daemon(await read_heartbeat(store), now),
        "projects": projects,
        "failed_notifications": failed,
    }
    if settings.mail.enabled:
        mail = await MAIL_WATCHER.read(store)
        report["mail"] = None if mail is None else mail.to_doc()
    if settings.ha.enabled:
        report["ha"] = await _ha(store, settings, now)
    if settings.ha.enabled and settings.ha.share_projects:
        await _led_by(store, report)
    if window is not None:
        report["silences"] = await _silences(store, settings, now)
    return report


async def _ha(store: LeaseStore, settings: Settings, now: datetime) -> dict[str, Any]:
    """The lease and every instance: its role, and whether it renewed within one lease."""
    lease = await store.current_lease()
    gone_after = timedelta(seconds=settings.ha.lease_s)
    return {
        "lease": None
        if lease is None
        else {
            "holder": lease.holder,
            "epoch": lease.epoch,
            "expires_at": lease.expires_at.isoformat(),
            "renewed_at": lease.renewed_at.isoformat(),
        },
        "instances": [
            {
                "name": i.name,
                "role": i.role.value,
                "epoch": i.epoch,
                "renewed_at": i.renewed_at.isoformat(),
                "renewed_s_ago": round((now - i.renewed_at).total_seconds(), 1),
                "current": i.role.value != "stopped" and now - i.renewed_at <= gone_after,
            }
            for i in await store.instances()
        ],
    }


async def _led_by(store: LeaseStore, report: dict[str, Any]) -> None:
    """Projects shared out: which instance leads each project, and what each instance leads."""
    holders = {
        ProjectLease.parse(name).ref: lease.holder
        for name, lease in (await store.leases(PROJECT_LEASE_PREFIX)).items()
    }
    for project in report["projects"]:
        project["led_by"] = holders.get(project["ref"])
    for instance in report["ha"]["instances"]:
        instance["projects"] = sorted(r for r, h in holders.items() if h == instance["name"])


def _daemon(beat: Heartbeat | None, now: datetime) -> dict[str, Any]:
    """Whether a daemon runs on this store, and when it last completed a cycle."""
    if beat is None:
        return {"running": False, "owner": None, "last_cycle_at": None, "stale": True}
    return {
        "running": beat.running(now),
        "owner": beat.owner,
        "last_cycle_at": None if beat.last_cycle_at is None else beat.last_cycle_at.isoformat(),
        "stopped_at": None if beat.stopped_at is None else beat.stopped_at.isoformat(),
        "stale": beat.stale(now),
    }


async def _project(
    store: Store, settings: Settings, ref: str, window: timedelta | None, now: datetime
) -> dict[str, Any]:
    project = settings.project(ref)
    diagnosis = await store.latest_diagnosis(ref)
    budget = await store.latest_budget(ref)
    doc: dict[str, Any] = {
        "ref": ref,
        "name": project.display_name,
        "diagnosis": diagnosis.kind.value if diagnosis else None,
        "diagnosed_at": diagnosis.at.isoformat() if diagnosis else None,
        # a stored diagnosis: history, its evidence the lines as they were said
        "evidence": evidence_lines(diagnosis.evidence) if diagnosis else [],
        "probes": [_probe(s) for s in await store.probe_statuses(ref)],
        "budget": None if budget is None else _budget(budget),
        "disk": await disk_report(store, project, now),
        "connections": await connections_report(store, ref),
        "host": await host_report(store, ref),
        "auth_limits": await auth_limits_report(store, ref),
        "open_alerts": [
            {
                "key": a.key,
                "severity": a.severity.value,
                "title": a.title,
                "opened_at": a.opened_at.isoformat(),
                "command": proposed_command(a.body),
            }
            for a in await store.open_alerts(ref)
        ],
        "unfinished_escalations": [
            {"id": i.id, "to": i.to_tier.value, "state": i.state.value}
            for i in await store.unfinished_intents(ref)
        ],
        "uptime": uptime_doc(
            project.slo, await project_uptime(store, settings, ref, now, keep=window is not None)
        ),
    }
    if window is not None:
        since = now - window
        doc["budget_history"] = [_point(b) for b in await store.budget_history(ref, since)]
        doc["escalations"] = [_intent(i) for i in await store.intents(ref, since)]
    return doc


def _probe(status: ProbeStatus) -> dict[str, Any]:
    last = status.last
    return {
        "probe": status.probe.value,
        "state": status.state.value,
        "since": status.changed_at.isoformat() if status.changed_at else None,
        "last_outcome": last.outcome.value if last else None,
        "last_detail": last.detail if last else "",
        "last_at": last.at.isoformat() if last else None,
        "checks": [
            {
                "name": c.name,
                "kind": c.kind.value,
                "table": c.table,
                "verdict": c.verdict.value,
                "value": c.value,
                "detail": c.detail,
            }
            for c in (last.checks if last else ())
        ],
    }


def _budget(budget: BudgetEstimate) -> dict[str, Any]:
    return {
        "tier": budget.tier.value,
        "ratio": budget.ratio,
        "eta_s": budget.eta_s,
        "burn_mbps": budget.burn_mbps,
        "confidence": budget.confidence,
        "at": budget.at.isoformat(),
    }


def _point(budget: BudgetEstimate) -> dict[str, Any]:
    return {"at": budget.at.isoformat(), "ratio": budget.ratio, "tier": budget.tier.value}


def _intent(intent: Intent) -> dict[str, Any]:
    return {
        "id": intent.id,
        "from": intent.from_tier.value,
        "to": intent.to_tier.value,
        "state": intent.state.value,
        "actor": intent.actor,
        "reason": intent.reason,
        "at": intent.created_at.isoformat(),
        "recovered_s": intent.recovered_s,
    }


async def _silences(store: OnCallStore, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Silences in force now: those made with ``sbwatch silence`` and the configured windows."""
    found = [
        {
            "project": s.project,
            "until": s.ends_at.isoformat(),
            "reason": s.reason,
            "by": s.created_by,
        }
        for s in await store.silences(active_at=now)
    ]
    found += [
        {"project": s.project, "until": s.ends.isoformat(), "reason": s.reason, "by": "config"}
        for s in settings.alerting.silences
        if s.starts <= now < s.ends
    ]
    return found
