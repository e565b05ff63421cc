"""``sbwatch maintenance``: planned work on a project: nothing pages and nothing escalates."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from datetime import datetime, timedelta
from typing import TextIO

from sbwatch.alerting.words import window_span
from sbwatch.commands import HELPS
from sbwatch.commands.alert import opened_store
from sbwatch.commands.common import settings_or_exit
from sbwatch.commands.silence import resolve_project
from sbwatch.config.settings import Settings
from sbwatch.core.clock import SystemClock
from sbwatch.core.durations import format_duration, parse_duration
from sbwatch.core.oncall import MaintenanceWindow
from sbwatch.policy.oncall import config_windows, next_config_start
from sbwatch.store.base import OnCallStore

NAME = "maintenance"
HELP = HELPS[NAME]


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("give the offset, like 2026-06-01T10:00+02:00 or ...Z")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``add``, ``list`` and ``end`` subcommands."""
    sub = parser.add_subparsers(dest="maintenance_command", metavar="ACTION", required=True)
    add = sub.add_parser(
        "add",
        help="start a window now (or at --start) for --for DURATION",
        description="Add a maintenance window for REF (a project ref or name, or '*' for "
        "every project): probes keep running and alerts are recorded, but nothing pages and "
        "no compute change is asked or made until it ends.",
    )
    add.add_argument("ref", metavar="REF", help="project ref or name, or '*' for all")
    add.add_argument(
        "--for", dest="duration", type=parse_duration, required=True, metavar="DURATION"
    )
    add.add_argument("--reason", default="maintenance", help="what is done (said after it)")
    add.add_argument(
        "--start", type=_aware, metavar="TIME", help="when it starts (ISO time; default: now)"
    )
    add.add_argument("--by", metavar="NAME", help="who plans it (default: your user name)")
    sub.add_parser("list", help="show windows in force, planned and just ended")
    end = sub.add_parser(
        "end",
        help="end a window now, by ID or every window of a project (REF)",
        description="End a window now: by its ID (see 'maintenance list'), or every window of "
        "the project REF in force or planned. Windows written in the configuration end there.",
    )
    end.add_argument("which", metavar="ID|REF")


def run(args: argparse.Namespace) -> int:
    """Add, list or end windows."""
    settings = settings_or_exit(args, watching=False)
    return asyncio.run(_run(settings, args))


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    command = args.maintenance_command
    now = SystemClock().now()
    project = None
    if command == "add":
        project = resolve_project(settings, args.ref)
        if project is None:
            refs = ", ".join(p.ref for p in settings.projects) or "none configured"
            print(f"unknown project {args.ref!r} (projects: {refs}; or '*')")
            return 2
        if args.duration <= timedelta(0):
            print("--for must be longer than 0s, like --for 30m")
            return 2
    store = await opened_store(settings, create=command != "list")
    try:
        if project is not None:
            who = args.by or getpass.getuser()
            start = args.start or now
            return await add_window(store, project, start, args.duration, args.reason, who)
        if command == "list":
            return await list_windows(store, settings, now)
        return await end_windows(store, settings, args.which, now)
    finally:
        await store.close()


async def add_window(
    store: OnCallStore,
    project: str,
    start: datetime,
    duration: timedelta,
    reason: str,
    who: str,
    *,
    out: TextIO | None = None,
) -> int:
    """Store a window and say it."""
    window = await store.add_maintenance(project, start, start + duration, reason, who)
    print(
        f"maintenance #{window.id}: {project} {window_span(window)} "
        f"({format_duration(duration.total_seconds())}): {reason}",
        file=out,
    )
    return 0


def _state(window: MaintenanceWindow, now: datetime) -> str:
    if window.ends_at <= now:
        return f"ended {format_duration((now - window.ends_at).total_seconds())} ago"
    if window.starts_at > now:
        return f"starts in {format_duration((window.starts_at - now).total_seconds())}"
    return f"in force, {format_duration((window.ends_at - now).total_seconds())} left"


async def list_windows(
    store: OnCallStore, settings: Settings, now: datetime, *, out: TextIO | None = None
) -> int:
    """Print stored windows not ended a day ago and the configured ones."""
    stored = await store.maintenance_windows(ending_after=now - timedelta(days=1))
    refs = {p.name: p.ref for p in settings.projects if p.name}
    configured = config_windows(settings.maintenance, refs, now)
    if not stored and not settings.maintenance:
        print("no maintenance windows", file=out)
    for w in stored:
        span = f"{w.starts_at:%Y-%m-%d %H:%M} to {w.ends_at:%Y-%m-%d %H:%M} UTC"
        line = f"#{w.id} {w.project}  {span}  {_state(w, now)}  {w.reason}  by {w.created_by}"
        print(line, file=out)
    for entry, found in zip(settings.maintenance, _aligned(settings, configured), strict=True):
        what = f"every '{entry.cron}' for {_duration(entry.duration)}" if entry.cron else "once"
        state = _state(found, now) if found is not None else "not started yet"
        upcoming = next_config_start(entry, now)
        nxt = f", next {upcoming:%Y-%m-%d %H:%M %Z}" if upcoming and entry.cron else ""
        print(f"config {entry.project}  {what}  {state}{nxt}  {entry.reason}", file=out)
    return 0


def _duration(value: timedelta | None) -> str:
    return format_duration(value.total_seconds()) if value is not None else "?"


def _aligned(
    settings: Settings, configured: list[MaintenanceWindow]
) -> list[MaintenanceWindow | None]:
    """One window (or None: a schedule not started yet) per configured entry, in order."""
    by_id = {-w.id: w for w in configured}
    return [by_id.get(index) for index in range(1, len(settings.maintenance) + 1)]


async def end_windows(
    store: OnCallStore, settings: Settings, which: str, now: datetime, *, out: TextIO | None = None
) -> int:
    """End one window by id, or the project's windows in force or planned; 1 when none."""
    if which.isdigit():
        ids = [int(which)]
    else:
        project = resolve_project(settings, which)
        if project is None:
            print(f"no window #{which} and no project {which!r}", file=out)
            return 2
        ids = [
            w.id for w in await store.maintenance_windows(ending_after=now) if w.project == project
        ]
    ended = [w for w in [await store.end_maintenance(i, now) for i in ids] if w is not None]
    for w in ended:
        print(f"maintenance #{w.id} ({w.project}: {w.reason}) ended at {now:%H:%M} UTC", file=out)
    if not ended:
        print(f"no window in force or planned for {which}", file=out)
        return 1
    return 0
