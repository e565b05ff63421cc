"""Fixtures of the backup tests: throwaway databases on 127.0.0.1:5432 and project settings."""

from __future__ import annotations

import asyncio
import os
import secrets
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sbwatch.config.settings import BackupSettings, ProjectSettings

_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
REF = ("bkproj" + "".join(chr(ord("a") + int(d)) for d in _WORKER if d.isdigit())).ljust(20, "a")
"""A project ref of each parallel worker's own: the restore checks' scratch databases (named
after it) of one worker are never another's."""
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_PASSWORD = "bk-leakcheck-db-password-31337"
VERIFY_PASSWORD = "bk-leakcheck-verify-password-4242"
SECRETS = (DB_PASSWORD, VERIFY_PASSWORD)
TABLES = 64
REAL_PG_DUMP = "/usr/bin/pg_dump"
REAL_PG_RESTORE = "/usr/bin/pg_restore"

SCHEMA_SQL = """
DO $$
BEGIN
  FOR i IN 0..63 LOOP
    EXECUTE format(
      'CREATE TABLE public.%I (id bigint PRIMARY KEY, name text NOT NULL, score numeric, '
      'created timestamptz NOT NULL DEFAULT now())', 't' || lpad(i::text, 2, '0'));
    EXECUTE format(
      'INSERT INTO public.%I (id, name, score) SELECT g, md5(g::text), g * 1.5 '
      'FROM generate_series(1, %s) g', 't' || lpad(i::text, 2, '0'), 20 * i + 3);
  END LOOP;
END $$;
ALTER TABLE public.t01 ADD COLUMN parent bigint REFERENCES public.t00 (id);
CREATE INDEX ON public.t02 (name);
ANALYZE;
"""
ROWS = sum(20 * i + 3 for i in range(TABLES))


@dataclass(frozen=True)
class Database:
    """A database of its own: its name and DSNs (one with a password trust auth ignores)."""

    name: str

    @property
    def dsn(self) -> str:
        """Connect as postgres, no password."""
        return f"postgresql://postgres@127.0.0.1:5432/{self.name}"

    @property
    def secret_dsn(self) -> str:
        """The same with a password: trust auth ignores it, so it must only never leak."""
        return f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:5432/{self.name}"


async def admin(sql: str, *args: Any) -> list[Any]:
    """Run one statement on the maintenance database; its rows."""
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def execute(dsn: str, sql: str) -> None:
    """Run SQL on a database."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def scratch_databases() -> list[str]:
    """Scratch databases of restore checks that exist right now."""
    rows = await admin(
        f"SELECT datname FROM pg_database WHERE starts_with(datname, 'sbwatch_verify_{REF}')"
    )
    return sorted(str(r[0]) for r in rows)


def _create(sql: str) -> Database:
    db = Database(f"sbwatch_bk_{secrets.token_hex(6)}")
    asyncio.run(admin(f'CREATE DATABASE "{db.name}"'))
    if sql:
        asyncio.run(execute(db.dsn, sql))
    return db


def _drop(db: Database) -> None:
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def db64() -> Iterator[Database]:
    """A database with 64 tables of data in public (read only for the tests), dropped at the end."""
    db = _create(SCHEMA_SQL)
    try:
        yield db
    finally:
        _drop(db)


@pytest.fixture
def small_db() -> Iterator[Database]:
    """A small database a test may change: two tables in two schemas."""
    db = _create(
        "CREATE TABLE public.a (id int PRIMARY KEY, t text);"
        "INSERT INTO public.a SELECT g, md5(g::text) FROM generate_series(1, 500) g;"
        "CREATE SCHEMA shop; CREATE TABLE shop.orders (id int, total numeric);"
        "INSERT INTO shop.orders VALUES (1, 9.5), (2, 12);"
    )
    try:
        yield db
    finally:
        _drop(db)


@pytest.fixture
async def no_scratch_left() -> AsyncIterator[None]:
    """Fails the test when a scratch database of a restore check outlives it."""
    yield
    assert [] == await scratch_databases()


def make_project(dsn: str, directory: Path, **backup: Any) -> ProjectSettings:
    """One project that backs up ``dsn`` into ``directory``, restoring on 127.0.0.1."""
    options: dict[str, Any] = {
        "dir": directory,
        "verify_dsn": f"postgresql://postgres:{VERIFY_PASSWORD}@127.0.0.1:5432/postgres",
        **backup,
    }
    return ProjectSettings(
        ref=REF,
        db_dsn=dsn,  # type: ignore[arg-type]  # pydantic turns the str into SecretStr
        probes={},
        backup=BackupSettings(**options),
    )


def fake_tool(directory: Path, name: str, body: str) -> Path:
    """An executable shell script ``directory/name``."""
    path = directory / name
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def complete_backups(directory: Path) -> list[str]:
    """Names in a project's backup directory that look like complete backups."""
    if not directory.is_dir():
        return []
    return sorted(
        n for n in os.listdir(directory) if n.endswith(".tar.gz") and not n.startswith(".")
    )


def write_config(path: Path, dsn: str, backup: str = "", top: str = "") -> Path:
    """A configuration with one project backing up ``dsn``; extra ``backup`` and ``top`` keys."""
    root = path.parent
    path.write_text(
        f"""\
log_format = "json"
{top}

[state]
path = "{root / "state.db"}"

[status_page]
enabled = false

[metrics]
enabled = false

[[projects]]
ref = "{REF}"
db_dsn = "{dsn}"
probes = {{}}

[projects.backup]
dir = "{root / "backups"}"
verify_dsn = "postgresql://postgres:{VERIFY_PASSWORD}@127.0.0.1:5432/postgres"
{backup}
""",
        encoding="utf-8",
    )
    return path


def run_cli(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    """``sbwatch ARGS`` as a subprocess of this interpreter, output captured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SBWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "sbwatch", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout_s,
        check=False,
    )
