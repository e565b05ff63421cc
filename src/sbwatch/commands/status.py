"""``sbwatch status``: what is healthy and what is not, at a glance."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sbwatch.commands.common import settings_or_exit
from sbwatch.config.settings import Settings
from sbwatch.core.durations import format_duration
from sbwatch.daemon.presence import Heartbeat, read_heartbeat
from sbwatch.store import Store, open_store
from sbwatch.watch.state import STATE_NAMESPACE, hold_key

NAME = "status"
HELP = (
    "Show each project's probe states, diagnosis, disk IO budget, open alerts, unfinished "
    "escalations and failed notifications, from the state store the daemon writes."
)


def configure(parser: argparse.ArgumentParser) -> None:
    """``--json`` for scripts."""
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace) -> int:
    """Print the status; exit 0 when all is healthy, 3 when a project is not, 4 when no daemon
    has completed a cycle within two cycles (what the store says is then stale)."""
    settings = settings_or_exit(args)
    report = asyncio.run(_collect(settings))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(render(report))
    if report["daemon"]["stale"]:
        return 4
    healthy = all(p["diagnosis"] in ("healthy", None) for p in report["projects"])
    return 0 if healthy else 3


def _daemon_line(report: dict[str, Any]) -> str:
    daemon = report["daemon"]
    last = daemon["last_cycle_at"]
    if daemon["owner"] is None:
        return "daemon not running (never seen on this state store): start `sbwatch run`"
    if daemon["stale"]:
        seen = f"last cycle {last}" if last else "no cycle completed"
        return f"daemon not running ({seen}); what follows may be out of date"
    ago = (
        format_duration(
            (datetime.fromisoformat(report["at"]) - datetime.fromisoformat(last)).total_seconds()
        )
        if last
        else "-"
    )
    return f"daemon running ({daemon['owner']}), last cycle {ago} ago"


async def _collect(settings: Settings) -> dict[str, Any]:
    store = await open_store(settings.state)
    try:
        return await gather_status(store, settings, datetime.now(UTC))
    finally:
        await store.close()


async def gather_status(store: Store, settings: Settings, now: datetime) -> dict[str, Any]:
    """The status document of every configured project."""
    projects = []
    for project in settings.projects:
        ref = project.ref
        statuses = await store.probe_statuses(ref)
        diagnosis = await store.latest_diagnosis(ref)
        budget = await store.latest_budget(ref)
        hold = await store.get_state(STATE_NAMESPACE, hold_key(ref))
        projects.append(
            {
                "ref": ref,
                "name": project.display_name,
                "diagnosis": diagnosis.kind.value if diagnosis else None,
                "diagnosed_at": diagnosis.at.isoformat() if diagnosis else None,
                "evidence": list(diagnosis.evidence) if diagnosis else [],
                "probes": [
                    {
                        "probe": s.probe.value,
                        "state": s.state.value,
                        "since": s.changed_at.isoformat() if s.changed_at else None,
                        "last_outcome": s.last.outcome.value if s.last else None,
                        "last_detail": s.last.detail if s.last else "",
                        "last_at": s.last.at.isoformat() if s.last else None,
                    }
                    for s in statuses
                ],
                "budget": None
                if budget is None
                else {
                    "tier": budget.tier.value,
                    "ratio": budget.ratio,
                    "eta_s": budget.eta_s,
                    "burn_mbps": budget.burn_mbps,
                    "at": budget.at.isoformat(),
                },
                "budget_alerts_held": None
                if hold is None
                else {"tier": hold.get("tier"), "since": hold.get("since")},
                "open_alerts": [
                    {"key": a.key, "severity": a.severity.value, "title": a.title}
                    for a in await store.open_alerts(ref)
                ],
                "unfinished_escalations": [
                    {"id": i.id, "to": i.to_tier.value, "state": i.state.value}
                    for i in await store.unfinished_intents(ref)
                ],
            }
        )
    failed = [
        {"route": n.route, "title": n.title, "reason": n.failed}
        for n in await store.notifications(now - timedelta(days=7))
        if n.failed
    ]
    return {
        "at": now.isoformat(),
        "daemon": _daemon(await read_heartbeat(store), now),
        "projects": projects,
        "failed_notifications": failed,
    }


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


def render(report: dict[str, Any]) -> str:
    """The status as a few aligned lines per project."""
    lines: list[str] = [_daemon_line(report)] if "daemon" in report else []
    for p in report["projects"]:
        lines.append(f"{p['name']} ({p['ref']}): {p['diagnosis'] or 'no diagnosis yet'}")
        for probe in p["probes"]:
            detail = f"  {probe['last_detail']}" if probe["last_detail"] else ""
            lines.append(
                f"  {probe['probe']:<12} {probe['state']:<8} {probe['last_outcome']}{detail}"
            )
        budget = p["budget"]
        if budget:
            eta = (
                format_duration(budget["eta_s"]) if budget["eta_s"] is not None else "not draining"
            )
            lines.append(
                f"  io budget    {budget['ratio']:.0%} left on {budget['tier']}, runs out: {eta}"
            )
        held = p["budget_alerts_held"]
        if held:
            lines.append(
                f"  io alerts    quiet on {held['tier']} since {held['since']}: sbwatch raised the "
                "size and said what to expect; they return once its budget refills"
            )
        for alert in p["open_alerts"]:
            lines.append(f"  ALERT {alert['severity']}: {alert['title']}")
        for intent in p["unfinished_escalations"]:
            lines.append(f"  escalation #{intent['id']} to {intent['to']}: {intent['state']}")
    for failed in report["failed_notifications"]:
        lines.append(
            f"notification to {failed['route']} FAILED: {failed['title']} ({failed['reason']})"
        )
    return "\n".join(lines) if lines else "no projects configured"
