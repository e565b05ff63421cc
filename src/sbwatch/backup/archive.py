"""Backup files on disk: packed under a temporary name and renamed whole, listed, unpacked.

``DIR/REF/YYYY-MM-DD.tar.gz`` holds ``manifest.json`` (first) and ``dump`` (a custom-format
file or a directory dump). Work in progress has names starting with a dot, so nothing
half-written ever looks like a backup; a restore check is recorded beside its archive as
``YYYY-MM-DD.verify.json`` and counts only for the archive whose checksum it names.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import re
import secrets
import shutil
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sbwatch.backup.manifest import Manifest
from sbwatch.core.errors import BackupError

MANIFEST = "manifest.json"
DUMP = "dump"
SUFFIX = ".tar.gz"
VERIFY_SUFFIX = ".verify.json"
NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.tar\.gz$")
WORK_PREFIX = ".work-"
"""Temporary files and directories of a run; removed by the next run holding the lock."""


@dataclass(frozen=True)
class StoredBackup:
    """A complete backup archive in a project's directory."""

    path: Path
    day: date
    size: int
    modified: datetime

    @property
    def name(self) -> str:
        """``YYYY-MM-DD.tar.gz``."""
        return self.path.name

    @property
    def verify_path(self) -> Path:
        """Where its restore check is recorded."""
        return self.path.with_name(self.path.name.removesuffix(SUFFIX) + VERIFY_SUFFIX)


def archive_name(day: date) -> str:
    """The file name of a day's backup."""
    return f"{day.isoformat()}{SUFFIX}"


def stored(directory: Path) -> list[StoredBackup]:
    """Complete backups in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = NAME.match(path.name)
        if match is None or not path.is_file():
            continue
        stat = path.stat()
        modified = datetime.fromtimestamp(stat.st_mtime).astimezone()
        found.append(StoredBackup(path, date.fromisoformat(match[1]), stat.st_size, modified))
    return sorted(found, key=lambda b: b.day)


def pack(dump: Path, manifest: Manifest, dest: Path) -> int:
    """Write ``dest`` whole or not at all (temporary name, fsync, rename); its size in bytes."""
    tmp = dest.with_name(f"{WORK_PREFIX}{secrets.token_hex(4)}-{dest.name}")
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                body = manifest.to_json()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = (
                    len(body),
                    int(manifest.created_at.timestamp()),
                    0o600,
                )
                tar.addfile(info, io.BytesIO(body))
                tar.add(dump, arcname=DUMP)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_dir(dest.parent)
    return dest.stat().st_size


def read_manifest(path: Path) -> Manifest:
    """The manifest of an archive (read from its first member only)."""
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            member = tar.next()
            if member is None or member.name != MANIFEST:
                raise BackupError(f"{path.name} has no manifest", transient=False)
            handle = tar.extractfile(member)
            if handle is None:
                raise BackupError(f"{path.name}: the manifest is not a file", transient=False)
            return Manifest.from_json(handle.read())
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise BackupError(f"{path.name} cannot be read ({exc})", transient=False) from None


def unpack_dump(path: Path, into: Path) -> Path:
    """Extract the dump of an archive into ``into``; the path of the dump."""
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            members = [
                m for m in tar.getmembers() if m.name == DUMP or m.name.startswith(DUMP + "/")
            ]
            tar.extractall(into, members=members, filter="data")
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise BackupError(f"{path.name} cannot be unpacked ({exc})", transient=False) from None
    dump = into / DUMP
    if not dump.exists():
        raise BackupError(f"{path.name} holds no dump", transient=False)
    return dump


def write_verify(backup: StoredBackup, record: dict[str, Any]) -> None:
    """Record a restore check beside its archive (replaced whole)."""
    tmp = backup.path.with_name(f"{WORK_PREFIX}{secrets.token_hex(4)}{VERIFY_SUFFIX}")
    body = json.dumps(record, indent=1, sort_keys=True).encode("utf-8")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(body)
    os.replace(tmp, backup.verify_path)


def read_verify(backup: StoredBackup, checksum: str | None) -> dict[str, Any] | None:
    """The restore check of this archive; None when absent, unreadable, of an older one, or
    when the archive's size is no longer the one it had when checked (truncated, replaced)."""
    try:
        record: dict[str, Any] = json.loads(backup.verify_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if checksum is not None and record.get("checksum") != checksum:
        return None
    if record.get("archive_bytes", backup.size) != backup.size:
        return None
    return record


def changed_since_check(backup: StoredBackup) -> bool:
    """Whether a restore check was recorded for this archive at another size."""
    try:
        record = json.loads(backup.verify_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    checked = record.get("archive_bytes") if isinstance(record, dict) else None
    return checked is not None and checked != backup.size


def remove(backup: StoredBackup) -> None:
    """Delete an archive and its restore check."""
    backup.path.unlink(missing_ok=True)
    backup.verify_path.unlink(missing_ok=True)


def clear_work(directory: Path) -> None:
    """Remove what interrupted runs left behind (call with the lock held)."""
    for leftover in directory.glob(f"{WORK_PREFIX}*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold the project's backup lock: one run or restore check at a time, across processes."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (directory / ".lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                f"another backup or restore check of {directory.name} is running", transient=True
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
