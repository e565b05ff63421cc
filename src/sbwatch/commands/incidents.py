"""``sbwatch incidents``: past and open incidents, each as a changelog entry and a timeline."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from typing import TextIO

from sbwatch.alerting.incident_text import incident_doc
from sbwatch.alerting.words import changelog, timeline
from sbwatch.commands import HELPS
from sbwatch.commands.common import settings_or_exit
from sbwatch.config.settings import StateSettings
from sbwatch.core.durations import parse_duration
from sbwatch.store import open_store
from sbwatch.store.base import IncidentStore

NAME = "incidents"
HELP = HELPS[NAME]


def configure(parser: argparse.ArgumentParser) -> None:
    """[REF | show ID], --since, --json."""
    parser.add_argument(
        "ref",
        nargs="?",
        metavar="REF",
        help="project ref (default: every project); 'show' followed by an ID prints one",
    )
    parser.add_argument("id", nargs="?", type=int, metavar="ID", help=argparse.SUPPRESS)
    parser.add_argument(
        "--since",
        metavar="DURATION|DATE",
        help="only incidents open or closed since then: '7d', '12h' or '2026-05-20' "
        "(default: every one)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def since_of(text: str | None, now: datetime) -> datetime | None:
    """A --since value: a duration before ``now`` or a date (UTC); SystemExit(2) otherwise."""
    if text is None:
        return None
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"sbwatch: --since {text!r} is neither a duration nor a date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:
    """List the incidents, or show one."""
    settings = settings_or_exit(args, watching=False)
    showing = args.ref == "show"
    if showing and args.id is None:
        raise SystemExit("sbwatch: incidents show needs an incident ID")
    since = since_of(args.since, datetime.now(UTC))
    return asyncio.run(_main(settings.state, args, since, showing))


async def _main(
    state: StateSettings, args: argparse.Namespace, since: datetime | None, showing: bool
) -> int:
    store = await open_store(state, create=False)
    try:
        if showing:
            return await show_incident(store, args.id, as_json=args.json)
        return await list_incidents(store, args.ref, since, as_json=args.json)
    finally:
        await store.close()


async def list_incidents(
    store: IncidentStore,
    ref: str | None,
    since: datetime | None,
    *,
    as_json: bool,
    out: TextIO | None = None,
) -> int:
    """One line per incident (its changelog entry), oldest first; or the JSON list."""
    found = await store.incidents(ref, since)
    if as_json:
        docs = [incident_doc(i, await store.incident_events(i.id)) for i in found]
        print(json.dumps(docs, indent=2), file=out)
        return 0
    if not found:
        print("no incidents recorded", file=out)
    for incident in found:
        state = "open" if incident.closed_at is None else "closed"
        entry = changelog(incident, await store.incident_events(incident.id))
        print(f"#{incident.id}  {incident.project}  {state}  {entry}", file=out)
    return 0


async def show_incident(
    store: IncidentStore, incident_id: int, *, as_json: bool, out: TextIO | None = None
) -> int:
    """One incident's timeline; exit 1 when there is no such incident."""
    incident = await store.incident(incident_id)
    if incident is None:
        print(f"sbwatch: no incident #{incident_id}", file=out)
        return 1
    events = await store.incident_events(incident_id)
    if as_json:
        print(json.dumps(incident_doc(incident, events), indent=2), file=out)
    else:
        print("\n".join(timeline(incident, events)), file=out)
    return 0
