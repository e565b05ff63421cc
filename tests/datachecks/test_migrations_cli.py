"""Migrations as the provider's CLI applies them, with the real CLI (supabase 2.117.0) as the
oracle: the same files applied both ways on the local PostgreSQL end alike, each tool sees
what the other applied, and a second run of either applies nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr
from tests.datachecks.conftest import PG_ADMIN_DSN, Database
from tests.supabase_cli import cli_env, run_cli

from sbwatch.core.clock import VirtualClock
from sbwatch.core.tiers import Tier
from sbwatch.data import migrate
from sbwatch.data import migrations as m
from sbwatch.sim.app import create_app
from sbwatch.sim.world import SimWorld
from sbwatch.supabase.mgmt_api import ManagementApi

pytestmark = pytest.mark.integration

REF = "clioracleaaaaaaaaaaa"
TOKEN = "sbp_" + "0dd" * 13 + "0"
FILES = {
    "20260101000000_orders.sql": (
        "-- the orders table\n"
        "create table public.orders (id int primary key, note text);\n"
        "insert into public.orders values (1, 'a;b'); -- trailing\n"
        "-- done\n"
    ),
    "20260101000001_own_transaction.sql": (
        "begin;\ncreate table public.items (id int);\n"
        "select 1 as one into public.copied;\ncommit;\n"
    ),
    "20260101000002_concurrently.sql": (
        "create index concurrently orders_note on public.orders (note);\n"
    ),
    "20260101000003_vacuum.sql": "vacuum public.orders;\n",
    "20260101000004_comment_only.sql": "-- nothing to do yet\n",
    "20260101000005_two_concurrently.sql": (
        "create index concurrently items_id on public.items (id);\n"
        "drop index concurrently public.orders_note;\n"
    ),
}
HOSTED_LEDGER = (
    "CREATE SCHEMA supabase_migrations;"
    " CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY,"
    " statements text[], name text, created_by text, idempotency_key text UNIQUE,"
    " rollback text[])"
)


@pytest.fixture
async def other() -> AsyncIterator[Database]:
    """A second fresh database, dropped after the test."""
    name = f"sbwatch_cli_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield Database(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A project directory holding supabase/migrations with the files."""
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    for name, text in FILES.items():
        (migrations / name).write_text(text, encoding="utf-8")
    return tmp_path


async def cli(workdir: Path, *args: str) -> str:
    """Run the CLI in the project directory; its output, failing the test on an error."""
    code, out, err = await run_cli(*args, cwd=workdir, env=cli_env(workdir))
    assert 0 == code, err
    return out + err


async def sbwatch_apply(database: Database, workdir: Path) -> list[migrate.Step]:
    """``sbwatch sql apply``'s steps: the files through the simulator's query endpoint."""
    world = SimWorld(VirtualClock())
    world.add_project(REF, Tier.MICRO)
    app = create_app(world, token=TOKEN, query_dsns={REF: database.dsn})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport) as http:
        api = ManagementApi(http, "http://sim.test", SecretStr(TOKEN), clock=VirtualClock())
        found = m.read_migrations([workdir / "supabase" / "migrations"])
        todo = m.pending(found, await migrate.read_ledger(api, REF))
        if not todo:
            return []
        await migrate.ensure_ledger(api, REF)
        return await migrate.apply_all(api, REF, todo, clock=VirtualClock())


async def fetch(database: Database, query: str) -> list[tuple[Any, ...]]:
    """Rows of a query, as tuples."""
    conn = await database.connect()
    try:
        return [tuple(row) for row in await conn.fetch(query)]
    finally:
        await conn.close()


LEDGER = (
    "SELECT version, name, statements FROM supabase_migrations.schema_migrations ORDER BY version"
)
SCHEMA = (
    "SELECT c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid ="
    " c.relnamespace WHERE n.nspname = 'public' ORDER BY 1"
)


def listed(out: str) -> list[tuple[str, str]]:
    """(local, remote) versions of ``supabase migration list``."""
    rows = []
    for line in out.splitlines():
        cells = [cell.strip().strip("`").strip() for cell in line.split("|")]
        if len(cells) == 3 and (cells[0].isdigit() or cells[1].isdigit()):
            rows.append((cells[0], cells[1]))
    return rows


async def test_both_tools_apply_the_same_files_alike(
    database: Database, other: Database, workdir: Path
) -> None:
    """Every file ``supabase db push`` applies (own BEGIN/COMMIT, SELECT INTO, CONCURRENTLY,
    VACUUM, comment-only) sbwatch applies with the same outcome and ledger rows; the CLI sees
    sbwatch's database up to date, and sbwatch the CLI's."""
    await cli(workdir, "db", "push", "--db-url", other.dsn, "--yes")
    steps = await sbwatch_apply(database, workdir)
    assert ["applied"] * len(FILES) == [step.status for step in steps], steps
    assert await fetch(other, LEDGER) == await fetch(database, LEDGER)
    assert await fetch(other, SCHEMA) == await fetch(database, SCHEMA)
    versions = [name.split("_", 1)[0] for name in FILES]
    assert [(v, v) for v in versions] == listed(
        await cli(workdir, "migration", "list", "--db-url", database.dsn)
    )
    pushed_again = await cli(workdir, "db", "push", "--db-url", database.dsn, "--yes")
    assert "Remote database is up to date" in pushed_again
    assert [] == await sbwatch_apply(other, workdir)
    assert [] == await sbwatch_apply(database, workdir)


async def test_the_hosted_ledger_gets_its_six_columns(database: Database, workdir: Path) -> None:
    """In a hosted project's six-column ledger each row also says who recorded it, a unique
    idempotency key and an empty rollback; the CLI reads that ledger as its own."""
    conn = await database.connect()
    try:
        await conn.execute(HOSTED_LEDGER)
    finally:
        await conn.close()
    steps = await sbwatch_apply(database, workdir)
    assert ["applied"] * len(FILES) == [step.status for step in steps]
    rows = await fetch(
        database,
        "SELECT created_by, idempotency_key, rollback FROM supabase_migrations.schema_migrations",
    )
    assert {(m.CREATED_BY, ())} == {(by, tuple(back)) for by, _, back in rows}
    keys = [key for _, key, _ in rows]
    assert len(FILES) == len(set(keys))
    assert all(key.startswith("sbwatch-2026") for key in keys)
    versions = [name.split("_", 1)[0] for name in FILES]
    assert [(v, v) for v in versions] == listed(
        await cli(workdir, "migration", "list", "--db-url", database.dsn)
    )


async def test_a_failing_concurrent_statement_is_not_recorded(
    database: Database, workdir: Path
) -> None:
    """A file run outside a transaction stops at its failing statement, naming it; the ledger
    does not record it, and the CLI, too, then sees it pending."""
    migrations = workdir / "supabase" / "migrations"
    for path in migrations.glob("*.sql"):
        path.unlink()
    (migrations / "20260201000000_broken.sql").write_text(
        "create table public.t (a int);\ncreate index concurrently t_b on public.t (b);\n",
        encoding="utf-8",
    )
    steps = await sbwatch_apply(database, workdir)
    assert [("failed", 2)] == [(step.status, step.statement) for step in steps]
    assert 'column "b" does not exist' in steps[0].error
    assert [] == await fetch(database, LEDGER)
    assert [("20260201000000", "")] == listed(
        await cli(workdir, "migration", "list", "--db-url", database.dsn)
    )
