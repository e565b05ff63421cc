"""``sbwatch status``: what is healthy and what is not, at a glance."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from sbwatch.commands.common import settings_or_exit
from sbwatch.config.settings import Settings
from sbwatch.core.durations import format_duration
from sbwatch.daemon.status import gather_status
from sbwatch.store import open_store

__all__ = ["gather_status", "render"]  # gather_status lives in daemon.status, shared with the page

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


def _ha_lines(ha: dict[str, Any] | None) -> list[str]:
    """One line per instance: its role, its epoch when it leads, and its last renewal."""
    if ha is None:
        return []
    lines = []
    for instance in ha["instances"]:
        epoch = f" (epoch {instance['epoch']})" if instance["epoch"] is not None else ""
        ago = format_duration(max(0.0, instance["renewed_s_ago"]))
        gone = "" if instance["current"] else " - not renewing"
        led = instance.get("projects")
        leads = "" if led is None else f", leads {len(led)} project(s)"
        lines.append(
            f"instance {instance['name']}: {instance['role']}{epoch}{leads},"
            f" last renewal {ago} ago{gone}"
        )
    return lines or ["no instance has taken part in the lease yet"]


async def _collect(settings: Settings) -> dict[str, Any]:
    store = await open_store(settings.state)
    try:
        return await gather_status(store, settings, datetime.now(UTC))
    finally:
        await store.close()


def render(report: dict[str, Any]) -> str:
    """The status as a few aligned lines per project."""
    lines: list[str] = [_daemon_line(report)] if "daemon" in report else []
    lines += _ha_lines(report.get("ha"))
    for p in report["projects"]:
        led = f" [led by {p['led_by'] or 'no instance'}]" if "led_by" in p else ""
        lines.append(f"{p['name']} ({p['ref']}): {p['diagnosis'] or 'no diagnosis yet'}{led}")
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
        for alert in p["open_alerts"]:
            lines.append(f"  ALERT {alert['severity']}: {alert['title']}")
        for intent in p["unfinished_escalations"]:
            lines.append(f"  escalation #{intent['id']} to {intent['to']}: {intent['state']}")
    for failed in report["failed_notifications"]:
        lines.append(
            f"notification to {failed['route']} FAILED: {failed['title']} ({failed['reason']})"
        )
    return "\n".join(lines) if lines else "no projects configured"
