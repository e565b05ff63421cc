"""``sbwatch db report REF``: the tables no writer touched since a given time, with sizes."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any

from sbwatch.commands import HELPS
from sbwatch.commands.common import project_or_exit, settings_or_exit
from sbwatch.config.settings import ProjectSettings, Settings
from sbwatch.core.clock import SystemClock
from sbwatch.core.durations import format_duration, parse_duration
from sbwatch.data import activity
from sbwatch.data.connect import InvalidDsn, Unreachable, connect
from sbwatch.store import open_store

NAME = "db"
HELP = HELPS[NAME]
EPILOG = """\
examples:
  sbwatch db report abcdefghijklmnopqrst              since the oldest kept sample
  sbwatch db report abcdefghijklmnopqrst --since 7d   since a sample at least 7 days old
  sbwatch db report abcdefghijklmnopqrst --since 2026-05-01 --json
"""


def configure(parser: argparse.ArgumentParser) -> None:
    """``report REF [--since WHEN] [--json]``."""
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    text = "tables without a write since a time, biggest first (each run keeps a sample)"
    sub = actions.add_parser("report", help=text, description=text)
    sub.add_argument("ref", metavar="REF", help="project ref, as in the configuration")
    sub.add_argument(
        "--since",
        metavar="WHEN",
        help="a duration back from now (7d, 12h) or an ISO date/time (UTC unless it says); "
        "default: the oldest kept sample",
    )
    sub.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Sample the tables, compare with the kept baseline, print the untouched ones."""
    settings = settings_or_exit(args, watching=False)
    project = project_or_exit(settings, args.ref)
    if project.db_dsn is None:
        print(f"project {project.ref} has no db_dsn: nothing to read", file=sys.stderr)
        return 2
    now = SystemClock().now()
    try:
        since = when(args.since, now) if args.since else None
    except ValueError as exc:
        print(f"--since: {exc}", file=sys.stderr)
        return 2
    doc = asyncio.run(_report(settings, project, since, now))
    print(json.dumps(doc) if args.json else "\n".join(lines(doc)))
    return 0


def when(text: str, now: datetime) -> datetime:
    """``7d`` (back from now) or an ISO date/time (UTC when it names no zone)."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither a duration (7d) nor a date (2026-05-01)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _report(
    settings: Settings, project: ProjectSettings, since: datetime | None, now: datetime
) -> dict[str, Any]:
    store = await open_store(settings.state)
    try:
        kept = activity.samples_slot(project.ref)
        samples = list((await kept.read(store) or activity.Samples(())).samples)
        sample, tables = await _sample(project, now)
        base = activity.baseline(samples, since)
        found = activity.report(base, sample, tables)
        keep = activity.kept(samples, sample)
        await kept.write(store, activity.Samples(tuple(keep)))
    finally:
        await store.close()
    return {
        "project": project.ref,
        "asked_since": since.isoformat() if since else None,
        "since": found.since.isoformat() if found.since else None,
        "baseline": found.baseline,
        "sampled_at": now.isoformat(),
        "samples_kept": len(keep),
        "oldest_sample": keep[0].at.isoformat(),
        "tables": found.tables,
        "untouched": [
            {"table": t.name, "bytes": int(t.bytes), "rows": int(t.rows), "reads": t.reads}
            for t in found.untouched
        ],
    }


async def _sample(
    project: ProjectSettings, now: datetime
) -> tuple[activity.Sample, list[activity.TableNow]]:
    dsn = project.db_dsn.get_secret_value() if project.db_dsn else ""
    try:
        conn = await connect(dsn, "sbwatch-db")
    except (InvalidDsn, Unreachable) as exc:
        raise type(exc)(f"cannot connect to {project.ref}'s database ({exc})") from None
    try:
        return await activity.take_sample(conn, now)
    finally:
        await conn.close()


def lines(doc: dict[str, Any]) -> list[str]:
    """The report for people."""
    untouched = doc["untouched"]
    now = datetime.fromisoformat(doc["sampled_at"])
    out = []
    if doc["baseline"] == "sample":
        since = datetime.fromisoformat(doc["since"])
        ago = format_duration((now - since).total_seconds())
        out.append(
            f"Tables of {doc['project']} without an insert, update or delete since "
            f"{since:%Y-%m-%d %H:%M} UTC ({ago} ago, the sample kept then):"
        )
    else:
        began = (
            f" ({datetime.fromisoformat(doc['since']):%Y-%m-%d %H:%M} UTC)"
            if doc["since"]
            else ", a time the server does not say"
        )
        out.append(
            f"Tables of {doc['project']} without any insert, update or delete since the "
            f"statistics began{began}:"
        )
    if doc["asked_since"] and doc["baseline"] != "sample":
        out.append(
            f"  (no kept sample reaches back to {doc['asked_since']}; the oldest is "
            f"{doc['oldest_sample']}: run this again later, each run keeps a sample)"
        )
    for table in untouched:
        reads = "" if table["reads"] is None else f"  {table['reads']:.0f} reads since"
        out.append(
            f"  {table['table']:40} {_size(table['bytes']):>10}  ~{table['rows']:,} rows{reads}"
        )
    total = sum(t["bytes"] for t in untouched)
    out.append(
        f"{len(untouched)} of {doc['tables']} tables, {_size(total)} in all. Candidates for a "
        "cleanup only: sbwatch drops nothing."
    )
    return out


def _size(size: float) -> str:
    if size < 1_000_000:
        return f"{size / 1000:.0f} kB"
    return f"{size / 1_000_000:.1f} MB"
