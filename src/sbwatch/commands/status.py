"""``sbwatch status``: what is healthy and what is not, at a glance."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from sbwatch.alerting.auth_limits import auth_limits_line
from sbwatch.alerting.connections import connections_line
from sbwatch.alerting.disk import disk_line
from sbwatch.alerting.memory import cpu_line, memory_line
from sbwatch.commands import HELPS
from sbwatch.commands.common import settings_or_exit
from sbwatch.config.settings import Settings, default_config_path
from sbwatch.core.durations import format_duration
from sbwatch.daemon.status import gather_status
from sbwatch.daemon.uptime_page import status_lines
from sbwatch.store import open_store

__all__ = ["gather_status", "render"]  # gather_status lives in daemon.status, shared with the page

NAME = "status"
HELP = HELPS[NAME]


def configure(parser: argparse.ArgumentParser) -> None:
    """``--json`` for scripts."""
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace) -> int:
    """Print the status; exit 0 when all is healthy, 3 when a project is not (see healthy), 4
    when no daemon has completed a cycle within two cycles (what the store says is then stale)."""
    settings = settings_or_exit(args, watching=False)
    report = asyncio.run(_collect(settings))
    report["config"] = str((args.config or default_config_path()).absolute())
    report["store"] = settings.state.location()
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(render(report))
    if report["daemon"]["stale"]:
        return 4
    return 0 if all(healthy(p) for p in report["projects"]) else 3


def healthy(project: dict[str, Any]) -> bool:
    """No diagnosis but healthy, no probe down (the data checks are a probe) and no alert open."""
    return (
        project["diagnosis"] in ("healthy", None)
        and all(probe["state"] != "down" for probe in project["probes"])
        and not project["open_alerts"]
    )


def maintenance_lines(windows: list[dict[str, Any]]) -> list[str]:
    """A line per maintenance window in force or planned."""
    lines = []
    for w in windows:
        start, end = (datetime.fromisoformat(w[k]) for k in ("starts_at", "ends_at"))
        state = (
            "MAINTENANCE until"
            if w["in_force"]
            else f"maintenance planned {start:%Y-%m-%d %H:%M} to"
        )
        lines.append(f"  {state} {end:%Y-%m-%d %H:%M} UTC: {w['reason']}")
    return lines


def _daemon_line(report: dict[str, Any]) -> str:
    daemon = report["daemon"]
    last = daemon["last_cycle_at"]
    if daemon["owner"] is None:
        # an empty store proves nothing about a daemon elsewhere: never advise starting one
        return (
            "no daemon has written to this state store yet: a daemon that runs reads another "
            "configuration or store"
        )
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


def _mail_lines(report: dict[str, Any]) -> list[str]:
    """The mail watcher, when mail is read: watching, or stopped and why."""
    if "mail" not in report:
        return []
    mail = report["mail"]
    if mail is None:
        return ["mail watcher: not started yet"]
    if mail.get("state") == "stopped":
        return [f"mail watcher STOPPED at {mail.get('at')}: {mail.get('error')}"]
    return [f"mail watcher: watching since {mail.get('at')}"]


async def _collect(settings: Settings) -> dict[str, Any]:
    store = await open_store(settings.state, create=False)
    try:
        return await gather_status(store, settings, datetime.now(UTC))
    finally:
        await store.close()


def render(report: dict[str, Any]) -> str:
    """The status as a few aligned lines per project."""
    lines: list[str] = [_daemon_line(report)] if "daemon" in report else []
    lines += _ha_lines(report.get("ha"))
    lines += _mail_lines(report)
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
        lines += status_lines(p.get("uptime"))
        lines += maintenance_lines(p.get("maintenance", []))
        if p.get("disk"):
            lines.append(f"  disk         {disk_line(p['disk'])}")
        if p.get("connections"):
            lines.append(f"  connections  {connections_line(p['connections'])}")
        host = p.get("host") or {}
        if host.get("memory"):
            lines.append(f"  memory       {memory_line(host['memory'])}")
        if host.get("cpu"):
            lines.append(f"  cpu          {cpu_line(host['cpu'])}")
        if p.get("auth_limits"):
            lines.append(f"  auth 429     {auth_limits_line(p['auth_limits'])}")
        for alert in p["open_alerts"]:
            taken = f" (acknowledged by {alert['acked_by']})" if alert.get("acked_by") else ""
            lines.append(f"  ALERT {alert['severity']}: {alert['title']}{taken}")
        for intent in p["unfinished_escalations"]:
            lines.append(f"  escalation #{intent['id']} to {intent['to']}: {intent['state']}")
    for failed in report["failed_notifications"]:
        lines.append(
            f"notification to {failed['route']} FAILED: {failed['title']} ({failed['reason']})"
        )
    if "config" in report:
        lines.append(f"read {report['config']}; state store {report['store']}")
    return "\n".join(lines) if lines else "no projects configured"
