"""Migrations through the Management API's query endpoint, against the simulator on a real
database: once each, in order, resumable after a failure, in the provider CLI's ledger."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_core import Config, OpenAPI
from pydantic import SecretStr
from tests.datachecks.conftest import Database

from sbwatch.core.clock import VirtualClock
from sbwatch.core.errors import ApiError, RateLimited
from sbwatch.core.results import Diagnosis, DiagnosisKind, Intent, IntentState
from sbwatch.core.tiers import Tier
from sbwatch.data import migrate
from sbwatch.data import migrations as m
from sbwatch.sim.app import create_app
from sbwatch.sim.world import SimWorld
from sbwatch.supabase.mgmt_api import ManagementApi

REF = "migrationsaaaaaaaaaa"
TOKEN = "sbp_c7c66de9cc2e76f96afdfe66bfd315a03c44c186"
FULL_SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "supabase-mgmt-openapi.json"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)

FILES = {
    "20260501090000_orders.sql": """
-- the orders table; the ; in this comment does not split
CREATE TABLE public.orders (id bigserial PRIMARY KEY, external_id text UNIQUE NOT NULL);
INSERT INTO public.orders (external_id) VALUES ('a;b'), ($$it's; fine$$);
""",
    "20260502090000_spend.sql": """
CREATE TABLE public.token_spend (created_at timestamptz NOT NULL, cost_usd numeric NOT NULL);
CREATE INDEX token_spend_created_at ON public.token_spend (created_at);
""",
    "20260503090000_total.sql": """
CREATE FUNCTION public.spend_total() RETURNS numeric LANGUAGE sql AS $fn$
  SELECT coalesce(sum(cost_usd), 0) FROM public.token_spend;
$fn$;
""",
}


def write(directory: Path, files: dict[str, str]) -> list[Path]:
    """The migration files written into ``directory``."""
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return sorted(directory.glob("*.sql"))


@pytest.fixture
async def api(database: Database) -> AsyncIterator[ManagementApi]:
    """A Management API client of an in-process simulator whose project runs SQL on the
    test's database."""
    clock = VirtualClock(NOW)
    world = SimWorld(clock)
    world.add_project(REF, Tier.MICRO)
    app = create_app(world, token=TOKEN, query_dsns={REF: database.dsn})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as http:
        yield ManagementApi(http, "http://sim.test", SecretStr(TOKEN), clock=clock)


async def ledger(database: Database) -> list[tuple[str, str, list[str]]]:
    """The ledger rows as the provider's CLI reads them (its SELECT_VERSION_TABLE)."""
    conn = await database.connect()
    try:
        rows = await conn.fetch(
            "SELECT version, coalesce(name, '') AS name, statements"
            " FROM supabase_migrations.schema_migrations ORDER BY version"
        )
    finally:
        await conn.close()
    return [(r["version"], r["name"], list(r["statements"])) for r in rows]


@pytest.mark.integration
async def test_three_files_apply_once_in_order_into_the_cli_ledger(
    api: ManagementApi, database: Database, tmp_path: Path
) -> None:
    """Each file applies once, in name order, recorded with its version, name and statements
    as the provider's CLI splits them; a second run finds nothing pending."""
    found = m.read_migrations(write(tmp_path / "migrations", FILES))
    assert [] == await migrate.read_ledger(api, REF)
    await migrate.ensure_ledger(api, REF)
    steps = await migrate.apply_all(api, REF, found, clock=VirtualClock(NOW))
    assert ["applied"] * 3 == [s.status for s in steps]
    assert [
        (
            "20260501090000",
            "orders",
            [
                "-- the orders table; the ; in this comment does not split\nCREATE TABLE"
                " public.orders (id bigserial PRIMARY KEY, external_id text UNIQUE NOT NULL)",
                "INSERT INTO public.orders (external_id) VALUES ('a;b'), ($$it's; fine$$)",
            ],
        ),
        (
            "20260502090000",
            "spend",
            [
                "CREATE TABLE public.token_spend (created_at timestamptz NOT NULL, cost_usd"
                " numeric NOT NULL)",
                "CREATE INDEX token_spend_created_at ON public.token_spend (created_at)",
            ],
        ),
        (
            "20260503090000",
            "total",
            [
                "CREATE FUNCTION public.spend_total() RETURNS numeric LANGUAGE sql AS $fn$\n"
                "  SELECT coalesce(sum(cost_usd), 0) FROM public.token_spend;\n$fn$"
            ],
        ),
    ] == await ledger(database)
    applied = await migrate.read_ledger(api, REF)
    assert [] == m.pending(found, applied)
    assert [0.0] == [r["spend_total"] for r in await api.run_query(REF, "SELECT spend_total()")]


@pytest.mark.integration
async def test_a_failure_stops_the_run_records_nothing_and_a_second_run_resumes(
    api: ManagementApi, database: Database, tmp_path: Path
) -> None:
    """A failing second statement names itself and the server's error; nothing of its file
    stays (its first statement's table included), the third is not tried; fixed, the next
    run applies the second and the third only."""
    broken = dict(FILES)
    broken["20260502090000_spend.sql"] = (
        "CREATE TABLE public.token_spend (created_at timestamptz, cost_usd numeric);\n"
        "CREATE INDEX ON public.token_spend (no_such_column);\n"
    )
    directory = tmp_path / "migrations"
    await migrate.ensure_ledger(api, REF)
    steps = await migrate.apply_all(
        api, REF, m.read_migrations(write(directory, broken)), clock=VirtualClock(NOW)
    )
    assert [("applied", None), ("failed", 2)] == [(s.status, s.statement) for s in steps]
    assert "CREATE INDEX ON public.token_spend (no_such_column)" == steps[1].failed_sql
    assert 'column "no_such_column" does not exist' in steps[1].error
    assert ["20260501090000"] == [row[0] for row in await ledger(database)]
    assert [{"t": None}] == await api.run_query(
        REF, "SELECT to_regclass('public.token_spend')::text AS t"
    )

    found = m.read_migrations(write(directory, FILES))
    todo = m.pending(found, await migrate.read_ledger(api, REF))
    assert ["20260502090000", "20260503090000"] == [t.version for t in todo]
    steps = await migrate.apply_all(api, REF, todo, clock=VirtualClock(NOW))
    assert ["applied", "applied"] == [s.status for s in steps]
    assert [v for v, _, _ in await ledger(database)] == [f.version for f in found]


@pytest.mark.integration
async def test_the_run_that_loses_a_race_says_another_run_applied_it(
    api: ManagementApi, database: Database, tmp_path: Path
) -> None:
    """Two `sql apply` at once: the one whose first file the other committed while it waited
    on the other's locks says so, counts it applied, and goes on with the rest; each file
    runs once."""
    found = m.read_migrations(write(tmp_path / "migrations", FILES))
    await migrate.ensure_ledger(api, REF)
    other, watching = await database.connect(), await database.connect()
    try:
        other_run = other.transaction()
        await other_run.start()
        await other.execute(m.apply_sql(found[0]))  # the other run, not yet committed
        losing = asyncio.create_task(migrate.apply_all(api, REF, found, clock=VirtualClock(NOW)))
        while not await watching.fetchval(  # outside a transaction: a fresh view each time
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        ):
            assert not losing.done(), losing.result()
            await asyncio.sleep(0.05)
        await other_run.commit()
        steps = await losing
    finally:
        await other.close()
        await watching.close()
    assert [
        ("applied", migrate.ANOTHER_RUN),
        ("applied", ""),
        ("applied", ""),
    ] == [(s.status, s.note) for s in steps]
    assert [f.version for f in found] == [v for v, _, _ in await ledger(database)]
    assert [{"n": 2}] == await api.run_query(REF, "SELECT count(*)::int AS n FROM public.orders")


@pytest.mark.integration
async def test_a_version_the_cli_recorded_is_not_applied_again(
    api: ManagementApi, database: Database, tmp_path: Path
) -> None:
    """The ledger is shared: a version ``supabase db push`` recorded counts as applied."""
    conn = await database.connect()
    try:
        await conn.execute(m.CREATE_LEDGER)
        await conn.execute(
            "INSERT INTO supabase_migrations.schema_migrations (version, name, statements)"
            " VALUES ('20260501090000', 'orders', ARRAY['CREATE TABLE public.orders (id int)'])"
        )
        await conn.execute("CREATE TABLE public.orders (id int)")
    finally:
        await conn.close()
    found = m.read_migrations(write(tmp_path / "migrations", FILES))
    todo = m.pending(found, await migrate.read_ledger(api, REF))
    assert ["20260502090000", "20260503090000"] == [t.version for t in todo]


@pytest.mark.integration
async def test_the_simulated_query_endpoint_answers_as_the_spec_says(database: Database) -> None:
    """201 with rows, 500 for an SQL error, 401 without the token: all in the published spec."""
    from tests.sim.conftest import validate_response

    spec = OpenAPI.from_dict(
        json.loads(FULL_SPEC.read_text(encoding="utf-8")), config=Config(spec_validator_cls=None)
    )
    world = SimWorld(VirtualClock(NOW))
    world.add_project(REF, Tier.MICRO)
    app = create_app(world, token=TOKEN, query_dsns={REF: database.dsn})
    path = f"/v1/projects/{REF}/database/query"
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim.test"
    ) as http:
        ok = await http.post(path, headers=bearer, json={"query": "SELECT 1 AS one"})
        bad = await http.post(path, headers=bearer, json={"query": "SELECT * FROM nowhere"})
        denied = await http.post(path, json={"query": "SELECT 1"})
    assert (201, [{"one": 1}]) == (ok.status_code, ok.json())
    assert (500, 401) == (bad.status_code, denied.status_code)
    assert bad.json()["message"].startswith("Failed to run sql query: ERROR:  42P01: ")
    for response in (ok, bad, denied):
        validate_response(spec, response)


# -- the retry rules, on a scripted API ---------------------------------------------------------
class ScriptedApi:
    """Answers each apply from a script; the ledger says what ``ledger`` holds."""

    def __init__(self, answers: list[BaseException | None], ledger: set[str] | None = None):
        self.answers = answers
        self.ledger = ledger if ledger is not None else set()
        self.calls: list[str] = []

    async def run_query(
        self, ref: str, query: str, *, read_only: bool = False, timeout_s: float | None = None
    ) -> list[dict[str, Any]]:
        """Apply from the script, or answer a ledger question."""
        if query.startswith("SELECT CASE"):
            self.calls.append("ledger?")
            return [{"applied": any(f"$m0${v}$m0$" in query for v in self.ledger)}]
        self.calls.append("apply")
        answer = self.answers.pop(0)
        if answer is not None:
            raise answer
        return [{"version": "v"}]


MIGRATION = m.Migration(Path("20260501090000_x.sql"), "20260501090000", "x", ("SELECT 1",))


def server_error(status: int = 500, retry_after_s: float | None = None) -> ApiError:
    """An error answer without an SQL error in it."""
    return ApiError(
        f"POST: HTTP {status}", status=status, transient=status >= 500, retry_after_s=retry_after_s
    )


@pytest.mark.parametrize(
    ("answers", "ledger", "calls", "status"),
    [
        ([RateLimited(5), None], set(), ["apply", "ledger?", "apply"], "applied"),
        ([server_error(), None], set(), ["apply", "ledger?"], "unknown"),
        ([server_error(503, 2), None], set(), ["apply", "ledger?", "ledger?", "apply"], "applied"),
        ([server_error()], {"20260501090000"}, ["apply", "ledger?"], "applied"),
        ([ApiError("POST: timed out", transient=True)], set(), ["apply", "ledger?"], "unknown"),
        ([server_error(400)], set(), ["apply", "ledger?"], "failed"),
        ([RateLimited(500)], set(), ["apply"], "failed"),
    ],
    ids=["429", "500", "503-retry-after", "500-but-applied", "lost", "400", "429-too-long"],
)
async def test_a_resend_only_when_the_api_allows_and_never_before_asking_the_ledger(
    answers: list[BaseException | None], ledger: set[str], calls: list[str], status: str
) -> None:
    """429 is resent after its wait; a 5xx or a lost answer is resent only with Retry-After,
    and every resend, like every doubt, asks the ledger first."""
    api = ScriptedApi(answers, ledger)
    step = await migrate.apply_one(api, REF, MIGRATION, clock=VirtualClock(NOW))
    assert (calls, status) == (api.calls, step.status)


# -- pure parts ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "statements"),
    [
        ("select 1; select 2;", ["select 1", "select 2"]),
        ("select ';'; select \"a;b\" from t", ["select ';'", 'select "a;b" from t']),
        ("select 'it''s; ok'; select 2", ["select 'it''s; ok'", "select 2"]),
        ("select E'a\\';b'; select 2", ["select E'a\\';b'", "select 2"]),
        ("select $$;$$; select $x$ $$ ; $x$", ["select $$;$$", "select $x$ $$ ; $x$"]),
        ("select 1 /* ; /* in ; */ ; */; select 2", ["select 1 /* ; /* in ; */ ; */", "select 2"]),
        ("select 1; -- trailing comment; only\n", ["select 1", "-- trailing comment; only"]),
        ("-- nothing but a comment\n", ["-- nothing but a comment"]),
        ("select 1;\n\n", ["select 1"]),
        ("select $1; select a$b$c", ["select $1", "select a$b$c"]),
        (
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;"
            " select 3",
            ["CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END",
             "select 3"],
        ),
    ],
)  # fmt: skip
def test_statements_split_as_the_provider_cli_splits_them(text: str, statements: list[str]) -> None:
    """Semicolons in quotes, dollar quotes, comments and atomic bodies do not split."""
    assert statements == m.split_statements(text)


def test_file_names_must_be_migrations_and_versions_unique(tmp_path: Path) -> None:
    """A file not named <version>_<name>.sql, or a version twice, is refused naming it."""
    (tmp_path / "notes.sql").write_text("select 1", encoding="utf-8")
    with pytest.raises(m.MigrationFileError, match=r"notes\.sql: not a migration name"):
        m.read_migrations([tmp_path])
    (tmp_path / "notes.sql").unlink()
    for name in ("1_a.sql", "1_b.sql"):
        (tmp_path / name).write_text("select 1", encoding="utf-8")
    with pytest.raises(m.MigrationFileError, match=r"1_b\.sql: version 1 is also 1_a\.sql's"):
        m.read_migrations([tmp_path])


def test_a_dollar_quote_never_closes_early() -> None:
    """The tag is one its text does not hold, nor ends with."""
    assert "$m1$a$m0$m1$" == m.dollar_quote("a$m0")
    assert "$m0$plain$m0$" == m.dollar_quote("plain")
    assert "$m2$x $m0$ $m1$ y$m2$" == m.dollar_quote("x $m0$ $m1$ y")


def _intent(state: IntentState) -> Intent:
    return Intent(3, REF, Tier.MICRO, Tier.SMALL, "budget", "daemon", NOW, state, NOW)


@pytest.mark.parametrize(
    ("kind", "age", "intents", "refused"),
    [
        (DiagnosisKind.IO_BUDGET_EXHAUSTED, timedelta(minutes=5), [], "io_budget_exhausted"),
        (DiagnosisKind.IO_BUDGET_EXHAUSTED, timedelta(hours=3), [], None),
        (DiagnosisKind.HEALTHY, timedelta(0), [_intent(IntentState.APPLIED)], "#3 micro -> small"),
        (DiagnosisKind.IO_BUDGET_LOW, timedelta(0), [], None),
    ],
)
def test_migrations_wait_for_a_throttled_disk_and_a_resize(
    kind: DiagnosisKind, age: timedelta, intents: list[Intent], refused: str | None
) -> None:
    """A fresh io_budget_exhausted diagnosis or an unfinished compute change refuses, saying
    why; a stale diagnosis or a merely low budget does not."""
    diagnosis = Diagnosis(REF, NOW - age, kind, 0.9)
    said = m.refusal(diagnosis, intents, NOW)
    assert (refused is None) == (said is None)
    if refused is not None:
        assert said is not None
        assert refused in said
