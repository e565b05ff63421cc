"""``sbwatch history``: past compute escalations from the journal, with time to recover."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from typing import Any, TextIO

from sbwatch.commands import HELPS
from sbwatch.commands.common import settings_or_exit
from sbwatch.config.settings import StateSettings
from sbwatch.core.durations import format_duration
from sbwatch.core.results import Intent
from sbwatch.store import open_store
from sbwatch.store.base import JournalStore

NAME = "history"
HELP = HELPS[NAME]


def configure(parser: argparse.ArgumentParser) -> None:
    """REF and --json."""
    parser.add_argument(
        "ref", nargs="?", metavar="REF", help="project ref (default: every project)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    """Print the journal."""
    settings = settings_or_exit(args, watching=False)
    return asyncio.run(_main(settings.state, args.ref, args.json))


async def _main(state: StateSettings, ref: str | None, as_json: bool) -> int:
    store = await open_store(state, create=False)
    try:
        return await show_history(store, ref, as_json=as_json)
    finally:
        await store.close()


def intent_dict(intent: Intent) -> dict[str, Any]:
    """One journal entry as JSON-ready data."""
    return {
        "id": intent.id,
        "project": intent.project,
        "from": str(intent.from_tier),
        "to": str(intent.to_tier),
        "state": str(intent.state),
        "actor": intent.actor,
        "reason": intent.reason,
        "created_at": intent.created_at.isoformat(),
        "updated_at": intent.updated_at.isoformat(),
        "recovered_s": intent.recovered_s,
        "detail": intent.detail,
    }


def render(intents: Sequence[Intent]) -> list[str]:
    """Table lines for people."""
    if not intents:
        return ["no escalations recorded"]
    row = "{:>4}  {:16}  {:20}  {:14}  {:11}  {:9}  {}"
    lines = [row.format("#", "when (UTC)", "project", "change", "state", "recovered", "by")]
    for i in intents:
        recovered = format_duration(i.recovered_s) if i.recovered_s is not None else "-"
        change = f"{i.from_tier} -> {i.to_tier}"
        when = i.created_at.strftime("%Y-%m-%d %H:%M")
        lines.append(row.format(i.id, when, i.project, change, str(i.state), recovered, i.actor))
        if i.detail:
            lines.append(f"{'':6}{i.detail}")
    return lines


async def show_history(
    store: JournalStore, ref: str | None, *, as_json: bool, out: TextIO | None = None
) -> int:
    """Print the escalations of one project (or all); always 0."""
    intents = await store.intents(ref)
    if as_json:
        print(json.dumps([intent_dict(i) for i in intents], indent=2), file=out)
    else:
        for line in render(intents):
            print(line, file=out)
    return 0
