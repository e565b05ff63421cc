"""Catalog queries over asyncpg: server version, schemas, tables, exact row counts, snapshots."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from sbwatch.backup.dsn import ConnInfo
from sbwatch.backup.manifest import TableEntry
from sbwatch.core.errors import BackupError
from sbwatch.supabase.schemas import PROVIDER_SCHEMAS

CONNECT_TIMEOUT_S = 10.0
APPLICATION_NAME = "sbwatch-backup"
SYSTEM_SCHEMAS = ("information_schema",)

_SCHEMAS = """
SELECT n.nspname FROM pg_namespace n
WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> ALL($1::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                  AND d.objid = n.oid AND d.deptype = 'e')
ORDER BY 1
"""
_TABLES = """
SELECT n.nspname AS schema, c.relname AS name, c.relkind = 'p' AS partitioned,
       c.reltuples::bigint AS estimate, pg_total_relation_size(c.oid) AS bytes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""
_CONNECT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    ssl.SSLError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


@dataclass(frozen=True)
class ServerVersion:
    """What the server says it runs."""

    text: str
    """``SHOW server_version``, like ``15.8 (Debian ...)``."""
    num: int
    """``SHOW server_version_num``, like 150008."""

    @property
    def major(self) -> int:
        """The major version (15 for 150008)."""
        return self.num // 10_000


def quote_ident(name: str) -> str:
    """An SQL identifier, always quoted."""
    return '"' + name.replace('"', '""') + '"'


@contextlib.asynccontextmanager
async def connect(info: ConnInfo, what: str) -> AsyncIterator[Any]:
    """A connection; BackupError naming ``what`` (never the DSN) when it cannot be had."""
    try:
        conn = await asyncpg.connect(
            info.full,
            timeout=CONNECT_TIMEOUT_S,
            server_settings={"application_name": APPLICATION_NAME},
        )
    except _CONNECT_ERRORS as exc:
        detail = info.redact(str(exc) or type(exc).__name__)
        raise BackupError(f"cannot connect to {what}: {detail}", transient=True) from None
    try:
        yield conn
    finally:
        await conn.close()


async def server_version(conn: Any) -> ServerVersion:
    """The server's version."""
    text = await conn.fetchval("SHOW server_version")
    num = await conn.fetchval("SHOW server_version_num")
    return ServerVersion(str(text), int(num))


async def user_schemas(conn: Any, extra: Sequence[str]) -> list[str]:
    """Every user schema, without the provider's own unless named in ``extra``."""
    names = [str(r[0]) for r in await conn.fetch(_SCHEMAS, list(SYSTEM_SCHEMAS))]
    wanted = set(extra)
    return [n for n in names if n not in PROVIDER_SCHEMAS or n in wanted]


async def tables(conn: Any, schemas: Sequence[str]) -> list[tuple[str, str, bool, int | None, int]]:
    """(schema, name, partitioned, row estimate, bytes) of the tables whose data is dumped."""
    rows = await conn.fetch(_TABLES, list(schemas))
    return [
        (
            str(r["schema"]),
            str(r["name"]),
            bool(r["partitioned"]),
            None if int(r["estimate"]) < 0 else int(r["estimate"]),
            int(r["bytes"]),
        )
        for r in rows
    ]


async def counted(conn: Any, schemas: Sequence[str]) -> list[TableEntry]:
    """The tables of ``schemas`` with their exact row counts, in the connection's snapshot."""
    out = []
    for schema, name, partitioned, estimate, size in await tables(conn, schemas):
        rows = await conn.fetchval(
            f"SELECT count(*) FROM {quote_ident(schema)}.{quote_ident(name)}"
        )
        out.append(TableEntry(schema, name, int(rows), estimate, size, partitioned))
    return out


@contextlib.asynccontextmanager
async def exported_snapshot(conn: Any) -> AsyncIterator[str]:
    """A repeatable-read snapshot exported for ``pg_dump --snapshot``, open while in the block."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
        yield str(snapshot)
