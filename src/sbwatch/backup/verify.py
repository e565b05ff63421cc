"""Proving a backup restores: into a scratch database, compared with its manifest, dropped."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from sbwatch.backup import archive, catalog
from sbwatch.backup.dsn import LOCAL_SERVER, ConnInfo
from sbwatch.backup.dump import find_tool, restore_argv, restore_errors, run_tool
from sbwatch.backup.manifest import Manifest, checksum
from sbwatch.backup.service import backup_settings, project_dir
from sbwatch.config.settings import BackupSettings, ProjectSettings
from sbwatch.core.errors import BackupError

SCRATCH = "the scratch server"
SCRATCH_PREFIX = "sbwatch_verify_"


@dataclass(frozen=True)
class VerifyReport:
    """How a restore compared with its manifest."""

    file: str
    ok: bool
    tables: int
    rows: int
    seconds: float
    expected_tables: int
    expected_rows: int
    checksum_ok: bool
    restore_errors: int = 0
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    mismatched: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""

    def summary(self) -> str:
        """What differs, in one line."""
        if not self.checksum_ok:
            return "the dump does not match the checksum in its manifest"
        parts = [
            f"{len(self.missing)} table(s) missing" if self.missing else "",
            f"{len(self.extra)} unexpected table(s)" if self.extra else "",
            f"{len(self.mismatched)} table(s) with other row counts" if self.mismatched else "",
            f"{self.restore_errors} restore error(s): {self.detail}" if self.restore_errors else "",
        ]
        return "; ".join(p for p in parts if p) or "ok"

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values."""
        return {
            "ok": self.ok,
            "file": self.file,
            "tables": self.tables,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "expected_tables": self.expected_tables,
            "expected_rows": self.expected_rows,
            "checksum_ok": self.checksum_ok,
            "restore_errors": self.restore_errors,
            "missing": self.missing,
            "extra": self.extra,
            "mismatched": self.mismatched,
            "detail": self.detail,
        }


def scratch_server(settings: BackupSettings) -> ConnInfo:
    """Where restores go: ``verify_dsn``, else the local server."""
    dsn = settings.verify_dsn.get_secret_value() if settings.verify_dsn else LOCAL_SERVER
    return ConnInfo.parse(dsn)


def choose(directory: Path, name: str | None, ref: str) -> archive.StoredBackup:
    """The named backup (``2026-05-20`` or its file name) or the newest."""
    backups = archive.stored(directory)
    if not backups:
        raise BackupError(f"no backup of {ref} to verify in {directory}", transient=False)
    if name is None:
        return backups[-1]
    wanted = name if name.endswith(archive.SUFFIX) else name + archive.SUFFIX
    for backup in backups:
        if backup.name == wanted:
            return backup
    raise BackupError(f"no backup named {wanted} in {directory}", transient=False)


async def verify_backup(
    project: ProjectSettings, now: datetime, name: str | None = None
) -> VerifyReport:
    """Restore a backup into a scratch database, compare, record the result; always drop it."""
    settings = backup_settings(project)
    directory = project_dir(project)
    limit = settings.timeout.total_seconds()
    try:
        with archive.locked(directory):
            archive.clear_work(directory)
            backup = choose(directory, name, project.ref)
            manifest = await asyncio.to_thread(archive.read_manifest, backup.path)
            async with asyncio.timeout(limit):
                report = await _restore_and_compare(project.ref, settings, backup, manifest)
            record = {
                **report.to_dict(),
                "checksum": manifest.checksum,
                "archive_bytes": backup.size,
                "at": now.isoformat(),
            }
            await asyncio.to_thread(archive.write_verify, backup, record)
    except TimeoutError:  # before OSError, of which it is a subclass
        raise BackupError(
            f"the restore check did not finish within {limit:.0f}s", transient=True
        ) from None
    except OSError as exc:
        raise BackupError(f"the restore check failed: {exc}", transient=True) from None
    return report


async def _restore_and_compare(
    ref: str, settings: BackupSettings, backup: archive.StoredBackup, manifest: Manifest
) -> VerifyReport:
    started = time.monotonic()
    server = scratch_server(settings)
    work = backup.path.parent / f"{archive.WORK_PREFIX}{secrets.token_hex(4)}"
    work.mkdir(mode=0o700)
    try:
        dump = await asyncio.to_thread(archive.unpack_dump, backup.path, work)
        if await asyncio.to_thread(checksum, dump) != manifest.checksum:
            return _report(backup, manifest, started, checksum_ok=False, detail="checksum mismatch")
        major = int(manifest.pg_dump_version.split(".")[0])
        tool = await find_tool(
            "pg_restore",
            settings.pg_restore,
            (major, manifest.pg_dump_version),
            beside=str(settings.pg_dump) if settings.pg_dump else None,
        )
        async with _scratch(server, ref, manifest.schemas) as scratch:
            argv = restore_argv(tool, scratch, dump)
            finished = await run_tool(argv, scratch, settings.timeout.total_seconds())
            async with catalog.connect(scratch, "the scratch database") as conn:
                restored = await catalog.counted(conn, manifest.schemas)
        actual = {t.qualified: t.rows for t in restored}
        rows = sum(t.rows for t in restored if not t.partitioned)
        errors = restore_errors(finished)
        return _report(
            backup,
            manifest,
            started,
            actual=actual,
            rows=rows,
            errors=errors,
            detail=finished.tail() if errors else "",
        )
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        detail = server.redact(str(exc))
        raise BackupError(f"the restore check failed: {detail}", transient=True) from None
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)


def _report(
    backup: archive.StoredBackup,
    manifest: Manifest,
    started: float,
    *,
    checksum_ok: bool = True,
    actual: dict[str, int] | None = None,
    rows: int = 0,
    errors: int = 0,
    detail: str = "",
) -> VerifyReport:
    expected = manifest.counts()
    found = actual or {}
    missing = sorted(expected.keys() - found.keys())
    extra = sorted(found.keys() - expected.keys())
    mismatched = [
        {"table": key, "expected": expected[key], "actual": found[key]}
        for key in sorted(expected.keys() & found.keys())
        if expected[key] != found[key]
    ]
    ok = checksum_ok and not (missing or extra or mismatched or errors)
    return VerifyReport(
        file=backup.name,
        ok=ok,
        tables=len(found),
        rows=rows,
        seconds=time.monotonic() - started,
        expected_tables=len(expected),
        expected_rows=manifest.rows,
        checksum_ok=checksum_ok,
        restore_errors=errors,
        missing=missing if checksum_ok else [],
        extra=extra,
        mismatched=mismatched,
        detail=detail,
    )


@contextlib.asynccontextmanager
async def _scratch(server: ConnInfo, ref: str, schemas: list[str]) -> Any:
    """A new empty database on the scratch server, dropped on the way out whatever happened."""
    prefix = f"{SCRATCH_PREFIX}{ref}_"
    name = f"{prefix}{secrets.token_hex(4)}"
    async with catalog.connect(server, SCRATCH) as conn:
        # Left by a restore check that was killed: nobody is connected to it. One that a
        # check running now (the daemon's, a person's) uses is left alone, never forced.
        stale = await conn.fetch(
            "SELECT datname FROM pg_database d WHERE starts_with(datname, $1)"
            " AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
            prefix,
        )
        for row in stale:
            with contextlib.suppress(asyncpg.ObjectInUseError):
                await conn.execute(f"DROP DATABASE IF EXISTS {catalog.quote_ident(row[0])}")
        await conn.execute(f"CREATE DATABASE {catalog.quote_ident(name)} TEMPLATE template0")
    try:
        scratch = server.with_database(name)
        async with catalog.connect(scratch, "the scratch database") as conn:
            for schema in schemas:  # the dump creates them (``public`` included)
                await conn.execute(f"DROP SCHEMA IF EXISTS {catalog.quote_ident(schema)} CASCADE")
        yield scratch
    finally:
        await asyncio.shield(_drop(server, name))


async def _drop(server: ConnInfo, name: str) -> None:
    async with catalog.connect(server, SCRATCH) as conn:
        await conn.execute(f"DROP DATABASE IF EXISTS {catalog.quote_ident(name)} WITH (FORCE)")
