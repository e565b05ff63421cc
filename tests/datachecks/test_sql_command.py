"""``sbwatch sql apply|status`` against ``sbwatch sim serve`` (a process) on a real database."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.datachecks.conftest import DB_PASSWORD, Database
from tests.datachecks.test_migrations import FILES, ledger, write
from tests.system.conftest import Proc, child_env, run_cli, sbwatch_argv, wait_for

from sbwatch.core.clock import SystemClock
from sbwatch.core.facts import recorded
from sbwatch.core.results import Diagnosis, DiagnosisKind
from sbwatch.core.tiers import Tier
from sbwatch.store.sqlite import SqliteStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REF = "sqlcommandaaaaaaaaaa"
TOKEN = "sbp_b28e3b0fdff5044f8f0e20cdd86f9763abbf1b18"


@dataclass
class Setup:
    """A running simulator whose project runs SQL on the test's database, and a config."""

    config: Path
    state: Path
    migrations: Path
    database: Database

    def sql(self, *args: str) -> Any:
        """``sbwatch --config CONFIG sql ARGS`` to completion; no secret in its output."""
        done = run_cli("--config", str(self.config), "sql", *args, timeout_s=60)
        printed = done.stdout + done.stderr
        assert TOKEN not in printed
        assert DB_PASSWORD not in printed
        return done


@pytest.fixture
async def setup(database: Database, tmp_path: Path) -> AsyncIterator[Setup]:
    """``sbwatch sim serve`` with ``db_dsn`` for the project, and a config pointing at it."""
    sim_toml = tmp_path / "sim.toml"
    sim_toml.write_text(
        f'port = 0\ntoken = "{TOKEN}"\n[[projects]]\nref = "{REF}"\ntier = "micro"\n'
        f'db_dsn = "{database.dsn}"\n',
        encoding="utf-8",
    )
    env = child_env(XDG_RUNTIME_DIR=str(tmp_path))
    proc = Proc("sim", sbwatch_argv("sim", "serve", "--config", str(sim_toml)), tmp_path, env)
    try:

        def listening() -> int | None:
            assert proc.alive(), proc.stderr
            found = re.search(r"Management API: http://127\.0\.0\.1:(\d+)/", proc.stdout)
            return int(found.group(1)) if found else None

        port = await asyncio.to_thread(wait_for, "the simulator to listen", listening)
        state = tmp_path / "state.db"
        config = tmp_path / "config.toml"
        config.write_text(
            f'mgmt_api_url = "http://127.0.0.1:{port}"\nmgmt_token = "{TOKEN}"\n'
            f'[state]\npath = "{state}"\n'
            # no db_dsn nor service_key: sql only speaks to the Management API
            f'[[projects]]\nref = "{REF}"\ntier = "micro"\n',
            encoding="utf-8",
        )
        yield Setup(config, state, tmp_path / "migrations", database)
    finally:
        proc.close()


async def test_sql_apply_applies_three_files_once_and_a_second_run_nothing(setup: Setup) -> None:
    """The three files apply in order and land in the CLI's ledger; the second run applies
    nothing; status lists them applied; the dry run and status list pending ones."""
    write(setup.migrations, FILES)
    dry = await asyncio.to_thread(setup.sql, "apply", REF, str(setup.migrations), "--dry-run")
    assert (0, "dry run: nothing applied") == (dry.returncode, dry.stdout.splitlines()[-1])
    assert "3 to apply, 0 already applied" in dry.stdout
    pending = await asyncio.to_thread(setup.sql, "status", REF, str(setup.migrations))
    assert f"{REF}: 0 applied, 3 pending" == pending.stdout.splitlines()[0]

    first = await asyncio.to_thread(setup.sql, "apply", REF, str(setup.migrations), "--yes")
    assert 0 == first.returncode, first.stderr
    assert [
        "applied  20260501090000_orders.sql  (2 statements)",
        "applied  20260502090000_spend.sql  (2 statements)",
        "applied  20260503090000_total.sql  (1 statements)",
    ] == [line for line in first.stdout.splitlines() if line.startswith("applied")]
    assert ["20260501090000", "20260502090000", "20260503090000"] == [
        row[0] for row in await ledger(setup.database)
    ]

    second = await asyncio.to_thread(setup.sql, "apply", REF, str(setup.migrations), "--yes")
    assert (0, "nothing to apply") == (second.returncode, second.stdout.splitlines()[-1])
    assert "0 to apply, 3 already applied" in second.stdout
    status = await asyncio.to_thread(setup.sql, "status", REF, str(setup.migrations))
    assert f"{REF}: 3 applied, 0 pending" == status.stdout.splitlines()[0]


async def test_a_failing_file_is_reported_with_its_statement_and_exit_1(setup: Setup) -> None:
    """The run stops at the failing statement, quoting it and the provider's error."""
    broken = dict(FILES)
    broken["20260502090000_spend.sql"] = (
        "CREATE TABLE public.t (a int);\nSELECT nope FROM public.t;\n"
    )
    write(setup.migrations, broken)
    done = await asyncio.to_thread(setup.sql, "apply", REF, str(setup.migrations), "--yes")
    assert 1 == done.returncode
    assert "failed  20260502090000_spend.sql at statement 2 of 2: rolled back" in done.stderr
    assert "    SELECT nope FROM public.t" in done.stderr
    assert 'column "nope" does not exist' in done.stderr
    assert (
        "2 of 3 migration(s) not applied: the run stopped at 20260502090000_spend.sql"
        in done.stderr
    )
    assert ["20260501090000"] == [row[0] for row in await ledger(setup.database)]


async def test_refused_while_the_budget_is_exhausted_and_while_a_resize_runs(
    setup: Setup,
) -> None:
    """A fresh io_budget_exhausted diagnosis in the store, then an unfinished compute change,
    each refuse the run (exit 1) and say why; nothing reaches the database."""
    write(setup.migrations, FILES)
    store = SqliteStore(setup.state)
    await store.open()
    try:
        now = SystemClock().now()
        await store.record_diagnosis(
            Diagnosis(REF, now, DiagnosisKind.IO_BUDGET_EXHAUSTED, 0.9, (recorded("budget at 0%"),))
        )
        exhausted = await asyncio.to_thread(setup.sql, "apply", REF, str(setup.migrations), "-y")
        await store.record_diagnosis(
            Diagnosis(REF, now + timedelta(seconds=1), DiagnosisKind.HEALTHY, 0.9)
        )
        await store.create_intent(REF, Tier.MICRO, Tier.SMALL, "budget", "daemon", now)
        resizing = await asyncio.to_thread(setup.sql, "apply", REF, str(setup.migrations), "-y")
    finally:
        await store.close()
    assert (1, 1) == (exhausted.returncode, resizing.returncode)
    assert "refused: the last diagnosis" in exhausted.stderr
    assert "is io_budget_exhausted" in exhausted.stderr
    assert "refused: a compute change is under way (#1 micro -> small" in resizing.stderr
    conn = await setup.database.connect()
    try:
        assert (
            await conn.fetchval("SELECT to_regclass('supabase_migrations.schema_migrations')")
            is None
        )
    finally:
        await conn.close()
