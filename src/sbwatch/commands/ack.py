"""``sbwatch ack``: take an open alert: its reminders stop and it is not passed on."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from collections.abc import Sequence
from datetime import datetime
from typing import TextIO

from sbwatch.alerting.ack_link import ack_of
from sbwatch.alerting.incidents import record_ack
from sbwatch.commands import HELPS
from sbwatch.commands.alert import opened_store
from sbwatch.commands.common import settings_or_exit
from sbwatch.config.settings import Settings
from sbwatch.core.clock import SystemClock
from sbwatch.core.durations import format_duration
from sbwatch.core.results import Alert
from sbwatch.core.subjects import AlertKey
from sbwatch.store.base import Store

NAME = "ack"
HELP = HELPS[NAME]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments."""
    parser.add_argument(
        "alert",
        metavar="ALERT",
        help="an alert key as 'sbwatch alert list' shows it (REF:SUBJECT; the project's name "
        "may stand for its ref), or a project alone when it has one open alert",
    )
    parser.add_argument("--by", metavar="NAME", help="who takes it (default: your user name)")


def run(args: argparse.Namespace) -> int:
    """Acknowledge one open alert."""
    settings = settings_or_exit(args, watching=False)
    who = args.by or getpass.getuser()
    return asyncio.run(_run(settings, args.alert, who))


async def _run(settings: Settings, wanted: str, who: str) -> int:
    store = await opened_store(settings, create=False)
    try:
        return await acknowledge(store, settings, wanted, who, SystemClock().now())
    finally:
        await store.close()


def matching(settings: Settings, wanted: str, alerts: Sequence[Alert]) -> list[Alert]:
    """The open alerts ``wanted`` names: a key, a key with the project's name, or a project."""
    names = {p.name: p.ref for p in settings.projects if p.name}
    key = AlertKey.parse(wanted)
    ref = names.get(key.project, key.project)
    if ":" in wanted:
        return [a for a in alerts if a.key == str(AlertKey(ref, key.subject))]
    return [a for a in alerts if a.project == ref]


async def acknowledge(
    store: Store,
    settings: Settings,
    wanted: str,
    who: str,
    now: datetime,
    *,
    out: TextIO | None = None,
) -> int:
    """Record the acknowledgement; 0 when taken (or already taken), 1 when no open alert
    matches, 2 when a project has several (say which)."""
    alerts = await store.open_alerts()
    found = matching(settings, wanted, alerts)
    if len(found) != 1:
        why = f"no open alert {wanted!r}" if not found else f"{len(found)} open alerts match"
        print(f"{why}; open alerts:", file=out)
        for alert in sorted(alerts, key=lambda a: a.opened_at):
            print(f"  {alert.key}  {alert.severity.value}  {alert.title}", file=out)
        if not alerts:
            print("  none", file=out)
        return 1 if not found else 2
    [alert] = found
    taken = await ack_of(store, alert)
    age = format_duration((now - alert.opened_at).total_seconds())
    if taken is not None:
        print(
            f"{alert.key} ({alert.title}) was already acknowledged by {taken.acked_by} at "
            f"{taken.acked_at:%Y-%m-%d %H:%M} UTC",
            file=out,
        )
        return 0
    ack = await store.ack_alert(alert.key, alert.project, alert.opened_at, now, who)
    await record_ack(store, alert, ack)
    print(
        f"acknowledged {alert.key} ({alert.title}, open {age}) by {who} at {now:%H:%M} UTC: "
        "no more reminders, and it is not passed on",
        file=out,
    )
    return 0
