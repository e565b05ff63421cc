"""What a backup holds: its tables with exact and estimated rows, sizes, checksum and origin."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sbwatch.core.errors import BackupError

MANIFEST_VERSION = 1
CHUNK = 1 << 20


@dataclass(frozen=True)
class TableEntry:
    """One table of a backup."""

    schema: str
    name: str
    rows: int
    """Exact ``count(*)`` in the dump's own snapshot."""
    row_estimate: int | None
    """``pg_class.reltuples``; None when the table was never analysed."""
    bytes: int
    """``pg_total_relation_size`` on the server."""
    partitioned: bool = False
    """A partitioned parent: its rows are those of its partitions, counted there too."""

    @property
    def qualified(self) -> str:
        """``schema.name``."""
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Manifest:
    """The first member of every backup archive, as ``manifest.json``."""

    project: str
    created_at: datetime
    server_version: str
    pg_dump_version: str
    format: str
    schemas: list[str]
    checksum: str
    """``sha256:<hex>`` of the dump (for a directory dump: of its files, names included)."""
    dump_bytes: int
    duration_s: float
    tables: list[TableEntry] = field(default_factory=list)
    version: int = MANIFEST_VERSION

    @property
    def rows(self) -> int:
        """Exact rows in all tables (a partitioned parent's rows counted once, in its parts)."""
        return sum(t.rows for t in self.tables if not t.partitioned)

    def counts(self) -> dict[str, int]:
        """Exact rows by ``schema.name``."""
        return {t.qualified: t.rows for t in self.tables}

    def to_json(self) -> bytes:
        """UTF-8 JSON, keys sorted."""
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["tables_count"] = len(self.tables)
        data["rows_total"] = self.rows
        return json.dumps(data, indent=1, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """The inverse of :meth:`to_json`; BackupError when it is not a manifest."""
        try:
            data: dict[str, Any] = json.loads(raw)
            if data.get("version") != MANIFEST_VERSION:
                raise ValueError(f"manifest version {data.get('version')!r}")
            return cls(
                project=str(data["project"]),
                created_at=datetime.fromisoformat(data["created_at"]),
                server_version=str(data["server_version"]),
                pg_dump_version=str(data["pg_dump_version"]),
                format=str(data["format"]),
                schemas=[str(s) for s in data["schemas"]],
                checksum=str(data["checksum"]),
                dump_bytes=int(data["dump_bytes"]),
                duration_s=float(data["duration_s"]),
                tables=[TableEntry(**t) for t in data["tables"]],
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"unreadable manifest ({exc})", transient=False) from None


def checksum(path: Path) -> str:
    """``sha256:<hex>`` of a file, or of every file under a directory with its relative name."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for item in files:
        if item != path:
            digest.update(item.relative_to(path).as_posix().encode("utf-8") + b"\0")
        with item.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def size_of(path: Path) -> int:
    """Bytes of a file, or of every file under a directory."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
