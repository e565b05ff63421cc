"""``sbwatch silence``: hold back notifications of a project for a while (alerts still record)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from datetime import datetime, timedelta
from typing import TextIO

from sbwatch.commands import HELPS
from sbwatch.commands.alert import opened_store
from sbwatch.commands.common import settings_or_exit
from sbwatch.config.settings import Settings
from sbwatch.core.clock import SystemClock
from sbwatch.core.durations import format_duration, parse_duration
from sbwatch.store.base import OnCallStore

NAME = "silence"
HELP = HELPS[NAME]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments."""
    parser.add_argument("ref", nargs="?", metavar="REF", help="project ref or name, or '*' for all")
    parser.add_argument(
        "--for", dest="duration", type=parse_duration, metavar="DURATION", help="how long, like 2h"
    )
    parser.add_argument("--reason", default="", help="why (shown in lists and logs)")
    parser.add_argument("--list", action="store_true", help="show silences (active and planned)")
    parser.add_argument("--remove", type=int, metavar="ID", help="delete a silence by id")


def run(args: argparse.Namespace) -> int:
    """Add, list or remove a silence."""
    chosen = sum([args.ref is not None, args.list, args.remove is not None])
    if chosen != 1:
        print("give exactly one of: REF --for DURATION, --list, --remove ID")
        return 2
    if args.ref is not None and (args.duration is None or args.duration <= timedelta(0)):
        print("--for DURATION is required with REF, like --for 2h")
        return 2
    settings = settings_or_exit(args, watching=False)
    project = None
    if args.ref is not None:
        project = resolve_project(settings, args.ref)
        if project is None:
            refs = ", ".join(p.ref for p in settings.projects) or "none configured"
            print(f"unknown project {args.ref!r} (projects: {refs}; or '*')")
            return 2
    return asyncio.run(_run(settings, args, project))


def resolve_project(settings: Settings, ref: str) -> str | None:
    """A configured ref from a ref, a display name or ``*``; None if unknown."""
    if ref == "*":
        return ref
    for project in settings.projects:
        if ref in (project.ref, project.name):
            return project.ref
    return None


async def _run(settings: Settings, args: argparse.Namespace, project: str | None) -> int:
    store = await opened_store(settings, create=not args.list)
    now = SystemClock().now()
    try:
        if args.list:
            return await list_silences(store, now)
        if args.remove is not None:
            return await remove_silence(store, args.remove)
        assert project is not None  # checked by run()
        return await add_silence(store, project, args.duration, args.reason, now)
    finally:
        await store.close()


async def add_silence(
    store: OnCallStore,
    project: str,
    duration: timedelta,
    reason: str,
    now: datetime,
    *,
    out: TextIO | None = None,
) -> int:
    """Add a silence starting now."""
    who = f"cli:{getpass.getuser()}"
    silence = await store.add_silence(project, now, now + duration, reason, who)
    until = f"{silence.ends_at:%Y-%m-%d %H:%M} UTC"
    print(
        f"silence #{silence.id}: {project} until {until} ({reason or 'no reason given'})", file=out
    )
    return 0


async def list_silences(store: OnCallStore, now: datetime, *, out: TextIO | None = None) -> int:
    """Print every silence with its state."""
    rows = sorted(await store.silences(), key=lambda s: s.starts_at)
    if not rows:
        print("no silences", file=out)
    for s in rows:
        if s.ends_at <= now:
            state = "ended"
        elif s.starts_at > now:
            state = f"starts in {format_duration((s.starts_at - now).total_seconds())}"
        else:
            state = f"active, {format_duration((s.ends_at - now).total_seconds())} left"
        span = f"{s.starts_at:%Y-%m-%d %H:%M} to {s.ends_at:%Y-%m-%d %H:%M} UTC"
        print(f"#{s.id} {s.project}  {span}  {state}  {s.reason}  by {s.created_by}", file=out)
    return 0


async def remove_silence(store: OnCallStore, silence_id: int, *, out: TextIO | None = None) -> int:
    """Delete a silence; 1 if there was none."""
    if await store.remove_silence(silence_id):
        print(f"silence #{silence_id} removed", file=out)
        return 0
    print(f"no silence #{silence_id}", file=out)
    return 1
