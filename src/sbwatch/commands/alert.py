"""``sbwatch alert``: send a test notification through the routes; list open alerts and failures."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TextIO

from sbwatch.alerting.dispatch import Delivery, deliver
from sbwatch.commands import HELPS
from sbwatch.commands.common import settings_or_exit
from sbwatch.config.settings import RouteSettings, Settings
from sbwatch.core.clock import SystemClock
from sbwatch.core.durations import format_duration, parse_duration
from sbwatch.core.results import Severity
from sbwatch.store import open_store
from sbwatch.store.base import Store

NAME = "alert"
HELP = HELPS[NAME]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``test`` and ``list`` subcommands."""
    sub = parser.add_subparsers(dest="alert_command", metavar="ACTION", required=True)
    test = sub.add_parser(
        "test",
        help="send a test notification now (exit 1 if any route fails)",
        description="Send a test notification through ROUTE, or every configured route, "
        "without the outbox, and print each route's outcome (sent, retry = transient "
        "failure, failed = permanent: fix the route URL).",
    )
    test.add_argument("route", nargs="?", metavar="ROUTE", help="route name (default: all)")
    listing = sub.add_parser(
        "list",
        help="show open alerts and failed notifications",
        description="Show open alerts, notifications still waiting to be delivered, and "
        "notifications that failed permanently, from the state store.",
    )
    listing.add_argument(
        "--since",
        type=parse_duration,
        default=timedelta(days=7),
        metavar="DURATION",
        help="how far back to look for notifications (default: 7d)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the chosen action."""
    settings = settings_or_exit(args, watching=False)
    if args.alert_command == "test":
        return asyncio.run(send_test(settings.alerting.routes, args.route))
    return asyncio.run(_list(settings, args.since))


async def send_test(
    routes: Sequence[RouteSettings], name: str | None, *, out: TextIO | None = None
) -> int:
    """Send one test message per chosen route; 0 when every one was accepted."""
    chosen = [r for r in routes if name is None or r.name == name]
    if not chosen:
        known = ", ".join(r.name for r in routes) or "none configured"
        print(f"no route {name!r} (routes: {known})" if name else "no routes configured", file=out)
        return 2 if name else 1
    ok = True
    for route in chosen:
        result = await deliver(
            route,
            f"sbwatch test: route {route.name}",
            "If you can read this on your phone, alerts through this route reach you.",
            Severity.INFO,
        )
        detail = f" ({result.reason})" if result.reason else ""
        print(f"{route.name}: {result.delivery.value}{detail}", file=out)
        ok = ok and result.delivery is Delivery.SENT
    return 0 if ok else 1


async def list_alerts(
    store: Store, now: datetime, since: timedelta, *, out: TextIO | None = None
) -> int:
    """Print open alerts, pending and failed notifications; 1 when some failed."""
    alerts = await store.open_alerts()
    print(f"open alerts: {len(alerts)}", file=out)
    acks = {(a.alert_key, a.opened_at): a for a in await store.acks()} if alerts else {}
    for alert in sorted(alerts, key=lambda a: a.opened_at):
        age = format_duration((now - alert.opened_at).total_seconds())
        ack = acks.get((alert.key, alert.opened_at))
        taken = f", acknowledged by {ack.acked_by} at {ack.acked_at:%H:%M} UTC" if ack else ""
        print(
            f"  {alert.severity.value:8} {alert.key}  {alert.title}  (open {age}{taken})", file=out
        )
    notes = await store.notifications(now - since)
    pending = [n for n in notes if n.sent_at is None and n.failed is None]
    failed = [n for n in notes if n.failed is not None]
    print(f"waiting to be delivered: {len(pending)}", file=out)
    for n in pending:
        print(f"  #{n.id} {n.route}  {n.title}  (attempts {n.attempts})", file=out)
    print(f"failed: {len(failed)}", file=out)
    for n in failed:
        print(f"  #{n.id} {n.route}  {n.title}  ({n.failed})", file=out)
    return 1 if failed else 0


async def opened_store(settings: Settings, *, create: bool = True) -> Store:
    """The configured state store, opened; ``create=False`` for a command that only reads."""
    return await open_store(settings.state, create=create)


async def _list(settings: Settings, since: timedelta) -> int:
    store = await opened_store(settings, create=False)
    try:
        return await list_alerts(store, SystemClock().now(), since)
    finally:
        await store.close()
