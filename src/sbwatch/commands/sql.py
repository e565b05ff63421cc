"""``sbwatch sql apply|status REF``: schema migrations through the Management API, each once."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx
from pydantic import SecretStr

from sbwatch.commands import HELPS
from sbwatch.commands.common import project_or_exit, settings_or_exit, token_or_exit
from sbwatch.config.settings import ProjectSettings, Settings
from sbwatch.core.clock import SystemClock
from sbwatch.core.errors import ApiError
from sbwatch.data import migrate
from sbwatch.data import migrations as m
from sbwatch.store import open_store
from sbwatch.supabase.mgmt_api import ManagementApi

NAME = "sql"
HELP = HELPS[NAME]
EPILOG = """\
examples:
  sbwatch sql status abcdefghijklmnopqrst supabase/migrations
  sbwatch sql apply abcdefghijklmnopqrst supabase/migrations/*.sql --dry-run
  sbwatch sql apply abcdefghijklmnopqrst supabase/migrations --yes
"""
DEFAULT_DIR = Path("supabase/migrations")


def configure(parser: argparse.ArgumentParser) -> None:
    """``apply REF [FILE...] [--dry-run] [--yes]`` and ``status REF [FILE...]``."""
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    apply = actions.add_parser("apply", help="apply the pending migrations, in order")
    apply.add_argument("ref", metavar="REF", help="project ref, as in the configuration")
    apply.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILE",
        help=f"migration files or directories (default: ./{DEFAULT_DIR} when present)",
    )
    apply.add_argument("--dry-run", action="store_true", help="print the plan, apply nothing")
    apply.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    status = actions.add_parser("status", help="applied and pending migrations")
    status.add_argument("ref", metavar="REF", help="project ref, as in the configuration")
    status.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILE",
        help=f"migration files or directories (default: ./{DEFAULT_DIR} when present)",
    )


def run(args: argparse.Namespace) -> int:
    """Plan, guard, confirm, apply; or list."""
    settings = settings_or_exit(args, watching=False)
    project = project_or_exit(settings, args.ref)
    token = token_or_exit(settings, project)
    files: list[Path] = args.files or ([DEFAULT_DIR] if DEFAULT_DIR.is_dir() else [])
    if not files and args.action == "apply":
        print(f"sbwatch sql apply: no FILE given and no ./{DEFAULT_DIR} here", file=sys.stderr)
        return 2
    try:
        found = m.read_migrations(files)
    except m.MigrationFileError as exc:
        print(f"sbwatch sql {args.action}: {exc}", file=sys.stderr)
        return 2
    try:
        if args.action == "status":
            return asyncio.run(_status(settings, project, token, found))
        return asyncio.run(_apply(settings, project, token, found, args.dry_run, args.yes))
    except ApiError as exc:
        print(f"sbwatch sql {args.action} {project.ref}: {exc}", file=sys.stderr)
        return 1


def _api(settings: Settings, token: SecretStr, http: httpx.AsyncClient) -> ManagementApi:
    return ManagementApi(http, settings.mgmt_api_url, token, clock=SystemClock())


async def _status(
    settings: Settings, project: ProjectSettings, token: SecretStr, found: Sequence[m.Migration]
) -> int:
    async with httpx.AsyncClient() as http:
        applied = await migrate.read_ledger(_api(settings, token, http), project.ref)
    todo = m.pending(found, applied)
    print(f"{project.ref}: {len(applied)} applied, {len(todo)} pending")
    for row in applied:
        print(f"  applied  {row.version}  {row.name}  ({row.statements} statements)")
    for migration in todo:
        print(f"  pending  {migration.version}  {migration.name}  {migration.path}")
    return 0


async def _refusal(settings: Settings, ref: str) -> str | None:
    store = await open_store(settings.state)
    try:
        diagnosis = await store.latest_diagnosis(ref)
        unfinished = await store.unfinished_intents(ref)
    finally:
        await store.close()
    return m.refusal(diagnosis, unfinished, SystemClock().now())


async def _apply(
    settings: Settings,
    project: ProjectSettings,
    token: SecretStr,
    found: Sequence[m.Migration],
    dry_run: bool,
    yes: bool,
) -> int:
    ref = project.ref
    refused = await _refusal(settings, ref)
    if refused is not None and not dry_run:
        print(f"sbwatch sql apply {ref}: refused: {refused}", file=sys.stderr)
        return 1
    async with httpx.AsyncClient() as http:
        api = _api(settings, token, http)
        applied = await migrate.read_ledger(api, ref)
        todo = m.pending(found, applied)
        _plan(ref, found, todo, applied)
        if refused is not None:
            print(f"would be refused now: {refused}")
        if not todo or dry_run:
            print("dry run: nothing applied" if dry_run and todo else "nothing to apply")
            return 0
        if not yes and not _ask(f"Apply {len(todo)} migration(s) to {ref}? [y/N] "):
            print("cancelled")
            return 1
        await migrate.ensure_ledger(api, ref)
        steps = await migrate.apply_all(api, ref, todo, clock=SystemClock())
    for step in steps:
        _report(step)
    left = len(todo) - sum(step.status == "applied" for step in steps)
    if left:
        stopped = steps[-1].migration.file_name
        print(
            f"{left} of {len(todo)} migration(s) not applied: the run stopped at {stopped}",
            file=sys.stderr,
        )
    return 1 if left else 0


def _plan(
    ref: str,
    found: Sequence[m.Migration],
    todo: Sequence[m.Migration],
    applied: Sequence[m.Applied],
) -> None:
    print(f"{ref}: {len(todo)} to apply, {len(found) - len(todo)} already applied")
    newest = max((row.version for row in applied), key=lambda v: (len(v), v), default=None)
    for migration in found:
        if migration in todo:
            late = newest is not None and (len(migration.version), migration.version) < (
                len(newest),
                newest,
            )
            note = f"; older than the newest applied, {newest}" if late else ""
            if migration.mode == m.OUTSIDE:
                note += (
                    "; outside a transaction, a statement at a time as the CLI runs it,"
                    " recorded once every statement succeeded"
                )
            elif migration.mode == m.OWN:
                note += "; its own transactions, run as written"
            print(f"  apply  {migration.file_name}  ({len(migration.statements)} statements{note})")
        else:
            print(f"  skip   {migration.file_name}  (in the ledger)")


def _report(step: migrate.Step) -> None:
    name = step.migration.file_name
    if step.status == "applied":
        note = f"; {step.note}" if step.note else ""
        print(f"applied  {name}  ({len(step.migration.statements)} statements{note})")
        return
    where = f" at statement {step.statement} of {len(step.migration.statements)}"
    print(f"{step.status}  {name}{where if step.statement else ''}: {step.note}", file=sys.stderr)
    if step.failed_sql:
        for line in step.failed_sql.splitlines()[:12]:
            print(f"    {line}", file=sys.stderr)
    if step.error:
        print(f"  provider: {step.error.strip()}", file=sys.stderr)


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        print("not a terminal: pass --yes to confirm", file=sys.stderr)
        return False
    return input(question).strip().lower() in {"y", "yes"}
