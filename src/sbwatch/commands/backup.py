"""``sbwatch backup run|verify|list REF``: make a backup, prove one restores, list them."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from sbwatch.backup import archive
from sbwatch.backup.service import project_dir, run_backup
from sbwatch.backup.verify import verify_backup
from sbwatch.commands import HELPS
from sbwatch.commands.common import project_or_exit, settings_or_exit
from sbwatch.config.settings import ProjectSettings
from sbwatch.core import log as logging_setup
from sbwatch.core.clock import SystemClock
from sbwatch.core.errors import BackupError

NAME = "backup"
HELP = HELPS[NAME]
EPILOG = """\
examples:
  sbwatch backup run abcdefghijklmnopqrst
  sbwatch backup verify abcdefghijklmnopqrst --json
  sbwatch backup verify abcdefghijklmnopqrst --file 2026-05-20
  sbwatch backup list abcdefghijklmnopqrst
"""


def configure(parser: argparse.ArgumentParser) -> None:
    """``run REF``, ``verify REF [--file NAME]``, ``list REF``; each with ``--json``."""
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, text in (
        ("run", "make a backup now, whatever the IO budget (replaces today's, if any)"),
        ("verify", "restore the newest (or a named) backup into a scratch database and compare"),
        ("list", "the backups kept, newest last, with their last restore check"),
    ):
        sub = actions.add_parser(action, help=text, description=text)
        sub.add_argument("ref", metavar="REF", help="project ref, as in the configuration")
        sub.add_argument("--json", action="store_true", help="print one JSON object")
        if action == "verify":
            sub.add_argument("--file", metavar="NAME", help="YYYY-MM-DD or YYYY-MM-DD.tar.gz")


def run(args: argparse.Namespace) -> int:
    """Dispatch to the action; errors are one line on stderr."""
    settings = settings_or_exit(args, watching=False)
    project = project_or_exit(settings, args.ref)
    if not project.backs_up:
        print(f"backups of {project.ref} are off: add [projects.backup]", file=sys.stderr)
        return 2
    logging_setup.configure(settings.log_level, settings.log_format, stream=sys.stderr)
    try:
        if args.action == "run":
            return _run(project, args.json)
        if args.action == "verify":
            return _verify(project, args.json, args.file)
        return _list(project, args.json)
    except BackupError as exc:
        print(f"backup {args.action} {project.ref}: {exc}", file=sys.stderr)
        return 1


def _run(project: ProjectSettings, as_json: bool) -> int:
    outcome = asyncio.run(run_backup(project, SystemClock().now()))
    out = outcome.to_dict()
    if as_json:
        print(json.dumps(out))
        return 0
    verb = "replaced" if out["replaced"] else "wrote"
    print(
        f"{project.ref}: {verb} {out['path']} ({_size(out['bytes'])}, {out['tables']} tables, "
        f"{out['rows']} rows, {out['seconds']:.1f}s)"
    )
    for name in out["removed"]:
        print(f"{project.ref}: removed {name} (past the retention)")
    return 0


def _verify(project: ProjectSettings, as_json: bool, name: str | None) -> int:
    report = asyncio.run(verify_backup(project, SystemClock().now(), name))
    out = report.to_dict()
    if as_json:
        print(json.dumps(out))
    else:
        verdict = "ok" if report.ok else "MISMATCH"
        print(
            f"{project.ref}: {report.file} {verdict}: {report.tables}/{report.expected_tables} "
            f"tables, {report.rows}/{report.expected_rows} rows, {report.seconds:.1f}s"
        )
        for key in ("missing", "extra", "mismatched"):
            if out[key]:
                print(f"  {key}: {out[key]}")
        if report.detail:
            print(f"  {report.detail}")
    return 0 if report.ok else 1


def _list(project: ProjectSettings, as_json: bool) -> int:
    rows = [_row(b) for b in archive.stored(project_dir(project))]
    if as_json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print(f"{project.ref}: no backups in {project_dir(project)}")
    for row in rows:
        verified = row["verified"]
        if verified is None:
            check = "not verified" + (" (changed since its check)" if row["changed"] else "")
        else:
            check = "restores" if verified["ok"] else "FAILED"
        print(
            f"{row['file']}  {_size(row['bytes'])}  {row['tables']} tables  {row['rows']} rows  "
            f"{check}"
        )
    return 0


def _row(backup: archive.StoredBackup) -> dict[str, Any]:
    try:
        manifest = archive.read_manifest(backup.path)
    except BackupError as exc:
        return {
            "file": backup.name,
            "bytes": backup.size,
            "tables": None,
            "rows": None,
            "verified": None,
            "changed": archive.changed_since_check(backup),
            "error": str(exc),
        }
    record = archive.read_verify(backup, manifest.checksum)
    return {
        "file": backup.name,
        "bytes": backup.size,
        "created_at": manifest.created_at.isoformat(),
        "tables": len(manifest.tables),
        "rows": manifest.rows,
        "server_version": manifest.server_version,
        "checksum": manifest.checksum,
        "verified": None if record is None else {"ok": record.get("ok"), "at": record.get("at")},
        "changed": archive.changed_since_check(backup),
    }


def _size(size: int) -> str:
    return f"{size / 1000:.0f} kB" if size < 1_000_000 else f"{size / 1_000_000:.1f} MB"
