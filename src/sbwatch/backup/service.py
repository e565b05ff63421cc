"""Making a backup: pg_dump in the snapshot the rows are counted in, packed whole, pruned."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from sbwatch.backup import archive, catalog
from sbwatch.backup.dsn import ConnInfo
from sbwatch.backup.dump import Tool, dump_argv, find_tool, run_tool
from sbwatch.backup.manifest import Manifest, TableEntry, checksum, size_of
from sbwatch.backup.retention import Kept, expired
from sbwatch.config.settings import BackupSettings, ProjectSettings
from sbwatch.core.errors import BackupError

SOURCE = "the project database"
_QUERY_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
)


@dataclass(frozen=True)
class BackupOutcome:
    """A backup that was written, and what retention removed after it."""

    path: Path
    manifest: Manifest
    bytes: int
    replaced: bool
    removed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The outcome as JSON-ready values."""
        return {
            "file": self.path.name,
            "path": str(self.path),
            "bytes": self.bytes,
            "tables": len(self.manifest.tables),
            "rows": self.manifest.rows,
            "seconds": round(self.manifest.duration_s, 3),
            "checksum": self.manifest.checksum,
            "server_version": self.manifest.server_version,
            "replaced": self.replaced,
            "removed": self.removed,
        }


def backup_settings(project: ProjectSettings) -> BackupSettings:
    """The project's backup settings; BackupError when backups are not configured."""
    if project.backup is None or not project.backup.enabled:
        raise BackupError(
            f"backups of {project.ref} are off: add [projects.backup] to the configuration",
            transient=False,
        )
    return project.backup


def project_dir(project: ProjectSettings) -> Path:
    """``DIR/REF``."""
    return backup_settings(project).base_dir() / project.ref


def source(project: ProjectSettings) -> ConnInfo:
    """The project's database, from its ``db_dsn``."""
    if project.db_dsn is None:
        raise BackupError(f"{project.ref} has no db_dsn to back up from", transient=False)
    return ConnInfo.parse(project.db_dsn.get_secret_value())


def local_day(settings: BackupSettings, at: datetime) -> date:
    """The date a backup taken at ``at`` is named after (the schedule's time zone)."""
    zone = ZoneInfo(settings.timezone) if settings.timezone else None
    return at.astimezone(zone).date()


async def run_backup(project: ProjectSettings, now: datetime) -> BackupOutcome:
    """Dump, count, pack and rename; then apply retention. BackupError naming the cause."""
    settings = backup_settings(project)
    directory = project_dir(project)
    info = source(project)
    limit = settings.timeout.total_seconds()
    try:
        with archive.locked(directory):
            archive.clear_work(directory)
            async with asyncio.timeout(limit):
                path, manifest, size, replaced = await _dump_and_pack(
                    project, settings, info, directory, now
                )
            removed = await asyncio.to_thread(prune, directory, settings, local_day(settings, now))
    except TimeoutError:  # before OSError, of which it is a subclass
        raise BackupError(
            f"the backup did not finish within {limit:.0f}s", transient=True
        ) from None
    except OSError as exc:
        raise BackupError(f"writing the backup failed: {exc}", transient=True) from None
    return BackupOutcome(path, manifest, size, replaced, removed)


async def _dump_and_pack(
    project: ProjectSettings,
    settings: BackupSettings,
    info: ConnInfo,
    directory: Path,
    now: datetime,
) -> tuple[Path, Manifest, int, bool]:
    started = time.monotonic()
    work = directory / f"{archive.WORK_PREFIX}{secrets.token_hex(4)}"
    work.mkdir(mode=0o700)
    try:
        async with catalog.connect(info, SOURCE) as conn:
            try:
                version = await catalog.server_version(conn)
                pg_dump = await find_tool(
                    "pg_dump", settings.pg_dump, (version.major, version.text)
                )
                schemas = await _schemas(conn, settings)
                out = work / archive.DUMP
                tables = await _dump(conn, info, pg_dump, schemas, settings, out)
            except _QUERY_ERRORS as exc:
                raise BackupError(
                    f"reading {SOURCE} failed: {info.redact(str(exc))}", transient=True
                ) from None
        digest = await asyncio.to_thread(checksum, out)
        manifest = Manifest(
            project=project.ref,
            created_at=now,
            server_version=version.text,
            pg_dump_version=pg_dump.version,
            format=settings.format,
            schemas=schemas,
            checksum=digest,
            dump_bytes=await asyncio.to_thread(size_of, out),
            duration_s=time.monotonic() - started,
            tables=tables,
        )
        dest = directory / archive.archive_name(local_day(settings, now))
        replaced = dest.exists()
        size = await asyncio.to_thread(archive.pack, out, manifest, dest)
        return dest, manifest, size, replaced
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)


async def _schemas(conn: Any, settings: BackupSettings) -> list[str]:
    if settings.schemas is not None:
        wanted = [*settings.schemas, *settings.provider_schemas]
    else:
        wanted = await catalog.user_schemas(conn, settings.provider_schemas)
    schemas = list(dict.fromkeys(wanted))
    if not schemas:
        raise BackupError(f"{SOURCE} has no schema to back up", transient=False)
    return schemas


async def _dump(
    conn: Any,
    info: ConnInfo,
    tool: Tool,
    schemas: list[str],
    settings: BackupSettings,
    out: Path,
) -> list[TableEntry]:
    """pg_dump in an exported snapshot while the same snapshot counts every table's rows."""
    limit = settings.timeout.total_seconds()
    async with catalog.exported_snapshot(conn) as snapshot:
        argv = dump_argv(tool, info, schemas, settings.format, out, snapshot)
        try:
            async with asyncio.TaskGroup() as group:
                dumping = group.create_task(run_tool(argv, info, limit))
                tables = await catalog.counted(conn, schemas)
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
    finished = dumping.result()
    if finished.returncode != 0:
        raise BackupError(f"pg_dump failed: {finished.tail()}", transient=True)
    return tables


def prune(directory: Path, settings: BackupSettings, today: date) -> list[str]:
    """Remove the backups retention lets go; their names."""
    kept = []
    for backup in archive.stored(directory):
        try:
            digest: str | None = archive.read_manifest(backup.path).checksum
        except BackupError:
            digest = None
        record = archive.read_verify(backup, digest) if digest else None
        verified = None if record is None else bool(record.get("ok"))
        kept.append((Kept(backup.name, backup.day, verified), backup))
    gone = {k.name for k in expired([k for k, _ in kept], today, settings.retention)}
    for k, backup in kept:
        if k.name in gone:
            archive.remove(backup)
    return sorted(gone)
