"""The data probe against the real PostgreSQL on 127.0.0.1:5432, on a fresh database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from tests.datachecks.conftest import DB_PASSWORD, Database, data_probe, data_settings

from sbwatch.core.clock import VirtualClock
from sbwatch.core.results import Outcome, ProbeResult, Verdict
from sbwatch.probes.data import DataProbe

pytestmark = pytest.mark.integration

ORDERS = """
CREATE TABLE public.orders (
  id bigserial PRIMARY KEY, external_id text UNIQUE NOT NULL, amount numeric NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO public.orders (external_id, amount) SELECT 'ext-' || g, g FROM generate_series(1, 50) g;
"""
NOT_EMPTY = {"name": "orders_rows", "kind": "not_empty", "table": "orders"}


@pytest.fixture
async def orders(database: Database) -> Database:
    """The database with a filled ``public.orders`` table."""
    await database.execute(ORDERS)
    return database


Probes = Callable[..., DataProbe]


@pytest.fixture
async def probes(orders: Database, http: httpx.AsyncClient) -> AsyncIterator[Probes]:
    """Makes data probes of some checks on the orders database; closes them after the test."""
    made: list[DataProbe] = []

    def make(*checks: dict[str, Any]) -> DataProbe:
        made.append(data_probe(data_settings(orders.dsn, list(checks) or [NOT_EMPTY]), http))
        return made[-1]

    try:
        yield make
    finally:
        for probe in made:
            await probe.aclose()


@pytest.fixture
def probe(probes: Probes) -> DataProbe:
    """A data probe of the not_empty check on public.orders."""
    return probes()


async def delete_then_reinsert(conn: Any) -> None:
    """The seed's pipeline: delete every row, commit, insert them again, commit."""
    await conn.execute("DELETE FROM public.orders")
    await conn.execute(
        "INSERT INTO public.orders (external_id, amount)"
        " SELECT 'ext-' || g, g * 2 FROM generate_series(1, 50) g"
    )
    await conn.execute("SELECT pg_stat_force_next_flush()")


async def upsert(conn: Any) -> None:
    """The fix: UPSERT on the stable external_id, every row rewritten in place."""
    await conn.execute(
        "INSERT INTO public.orders (external_id, amount)"
        " SELECT 'ext-' || g, g * 3 FROM generate_series(1, 50) g"
        " ON CONFLICT (external_id) DO UPDATE SET amount = excluded.amount, updated_at = now()"
    )
    await conn.execute("SELECT pg_stat_force_next_flush()")


def verdicts(result: ProbeResult) -> list[Verdict]:
    """The verdict of each check of one run."""
    return [check.verdict for check in result.checks]


async def test_a_filled_table_passes_and_an_emptied_one_fails_naming_it(
    orders: Database, probe: DataProbe
) -> None:
    """not_empty is ok on rows; after DELETE it fails, naming the check and table, and says
    the table had rows and since when it reads empty."""
    first = await probe.run()
    assert (Outcome.OK, [Verdict.OK]) == (first.outcome, verdicts(first))
    assert first.checks[0].value is not None
    assert first.checks[0].value >= 1
    await orders.execute("DELETE FROM public.orders")
    emptied = await probe.run()
    assert (Outcome.FAIL, [Verdict.WARNING], 0.0) == (
        emptied.outcome,
        verdicts(emptied),
        emptied.checks[0].value,
    )
    assert emptied.detail.startswith("orders_rows (public.orders): warning: emptied")
    assert "empty since" in emptied.detail
    assert emptied.checks[0].empty_since is not None
    await orders.execute("INSERT INTO public.orders (external_id, amount) VALUES ('back', 1)")
    back = await probe.run()
    assert [Verdict.OK] == verdicts(back)
    assert "rows again after reading empty for" in back.checks[0].detail


async def test_a_delete_then_reinsert_loop_is_caught_and_an_upsert_pipeline_never(
    orders: Database, http: httpx.AsyncClient
) -> None:
    """Every run after a delete-then-reinsert cycle says the table was emptied (though no run
    saw it empty), and the finding holds for 15 minutes after the loop stops; runs after
    UPSERT cycles on the same table all pass."""
    clock = VirtualClock(datetime(2026, 6, 1, 12, tzinfo=UTC))
    probe = data_probe(data_settings(orders.dsn, [NOT_EMPTY]), http, clock)
    writer = await orders.connect()
    try:
        assert [Verdict.OK] == verdicts(await probe.run())
        caught = []
        for _ in range(3):
            await delete_then_reinsert(writer)
            caught.append(await probe.run())
            clock.advance(60)
        assert [[Verdict.WARNING]] * 3 == [verdicts(r) for r in caught]
        assert all("delete-then-reinsert" in r.detail for r in caught)
        assert all(r.checks[0].value and r.checks[0].value >= 1 for r in caught)
        held = await probe.run()  # the loop stopped a minute ago: the finding holds
        assert [Verdict.WARNING] == verdicts(held)
        assert "(seen at 2026-06-01 12:02:00 UTC)" in held.detail
        clock.advance(15 * 60)
        assert [Verdict.OK] == verdicts(await probe.run())
        upserted = []
        for _ in range(5):
            await upsert(writer)
            upserted.append(await probe.run())
            clock.advance(60)
        assert [[Verdict.OK]] * 5 == [verdicts(r) for r in upserted]
    finally:
        await writer.close()
        await probe.aclose()


async def test_a_running_delete_then_reinsert_pipeline_trips_within_a_few_runs(
    orders: Database, probe: DataProbe
) -> None:
    """A writer looping on its own, unsynchronised with the probe, is caught within 10 runs."""
    writer = await orders.connect()
    stop = asyncio.Event()

    async def pipeline() -> None:
        while not stop.is_set():
            await delete_then_reinsert(writer)
            await asyncio.sleep(0.01)

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(pipeline())
            try:
                runs = []
                for _ in range(10):
                    await asyncio.sleep(0.05)
                    runs.append(await probe.run())
                    if runs[-1].outcome is Outcome.FAIL:
                        break
            finally:
                stop.set()
        assert Outcome.FAIL is runs[-1].outcome, [r.detail for r in runs]
        assert "orders_rows (public.orders)" in runs[-1].detail
    finally:
        await writer.close()


async def test_a_stopped_writer_trips_fresh(orders: Database, probes: Probes) -> None:
    """fresh passes while the writer writes; once it stops, the newest row ages past max_age."""
    probe = probes(
        {
            "name": "orders_fresh",
            "kind": "fresh",
            "table": "orders",
            "column": "updated_at",
            "max_age": "2s",
        }
    )
    await orders.execute("CREATE INDEX ON public.orders (updated_at)")
    await orders.execute("UPDATE public.orders SET updated_at = now() WHERE id = 1")
    fresh = await probe.run()
    assert [Verdict.OK] == verdicts(fresh)
    assert fresh.checks[0].value is not None
    assert fresh.checks[0].value < 2
    async with asyncio.timeout(10):
        while (stale := await probe.run()).outcome is Outcome.OK:  # noqa: ASYNC110 - the server clock ages the row
            await asyncio.sleep(0.25)
    assert [Verdict.WARNING] == verdicts(stale)
    assert stale.checks[0].value is not None
    assert stale.checks[0].value > 2
    assert "orders_fresh (public.orders): warning: newest updated_at is" in stale.detail


async def test_fresh_without_an_index_is_refused_not_run(probes: Probes) -> None:
    """Without an index on the column, fresh does not scan the table: it says what to create."""
    probe = probes(
        {
            "name": "orders_fresh",
            "kind": "fresh",
            "table": "orders",
            "column": "updated_at",
            "max_age": "1h",
        }
    )
    result = await probe.run()
    assert (Outcome.FAIL, [Verdict.ERROR]) == (result.outcome, verdicts(result))
    assert "CREATE INDEX ON public.orders (updated_at)" in result.checks[0].detail


TOKEN_SPEND = """
CREATE TABLE public.token_spend (
  id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, cost_usd numeric(12, 4) NOT NULL
);
CREATE INDEX ON public.token_spend (created_at);
"""


async def test_a_day_of_token_spend_trips_sum(orders: Database, probes: Probes) -> None:
    """A day of hourly spend rows worth $186 is critical above $100; yesterday's rows are left
    out; the sum is the check's value (the gauge Grafana shows)."""
    probe = probes(
        {
            "name": "spend_24h",
            "kind": "sum",
            "table": "token_spend",
            "column": "cost_usd",
            "time_column": "created_at",
            "window": "24h",
            "warn_above": 50,
            "critical_above": 100,
        },
        {
            "name": "spend_today",
            "kind": "sum",
            "table": "token_spend",
            "column": "cost_usd",
            "critical_above": 1000,
        },
    )
    await orders.execute(TOKEN_SPEND)
    quiet = await probe.run()
    assert ([Verdict.OK, Verdict.OK], [0.0, 0.0]) == (
        verdicts(quiet),
        [c.value for c in quiet.checks],
    )
    await orders.execute(
        "INSERT INTO public.token_spend (created_at, cost_usd)"
        " SELECT now() - make_interval(hours => h) - interval '1 minute', 7.75"
        " FROM generate_series(0, 23) h;"
        " INSERT INTO public.token_spend (created_at, cost_usd)"
        " VALUES (now() - interval '25 hours', 500), (now() - interval '3 days', 900)"
    )
    spent = await probe.run()
    day = spent.checks[0]
    assert (Outcome.FAIL, Verdict.CRITICAL, 186.0) == (spent.outcome, day.verdict, day.value)
    assert "spend_24h (public.token_spend): critical: " in spent.detail
    assert "above critical_above 100" in day.detail


async def test_query_checks_and_failures_of_one_check_leave_the_others(
    orders: Database, probes: Probes
) -> None:
    """A query's number is judged; text, a write, a timeout and a missing table are errors of
    their own check only, and the write was rolled back."""
    probe = probes(
        {
            "name": "big_orders",
            "kind": "query",
            "table": "orders",
            "sql": "SELECT count(*) FROM public.orders WHERE amount > 40",
            "warn_above": 5,
        },
        {"name": "text", "kind": "query", "sql": "SELECT 'x'"},
        {
            "name": "writes",
            "kind": "query",
            "sql": "WITH d AS (DELETE FROM public.orders RETURNING 1) SELECT count(*) FROM d",
        },
        {"name": "slow", "kind": "query", "sql": "SELECT 1 FROM pg_sleep(3)", "timeout": "0.2s"},
        {"name": "gone", "kind": "not_empty", "table": "nowhere.nothing"},
        {"name": "rows", "kind": "not_empty", "table": "public.orders"},
    )
    result = await probe.run()
    by_name = {c.name: c for c in result.checks}
    assert {
        "big_orders": Verdict.WARNING,
        "text": Verdict.ERROR,
        "writes": Verdict.ERROR,
        "slow": Verdict.ERROR,
        "gone": Verdict.ERROR,
        "rows": Verdict.OK,
    } == {name: c.verdict for name, c in by_name.items()}
    assert 10.0 == by_name["big_orders"].value
    assert "returned str" in by_name["text"].detail
    assert "read-only" in by_name["writes"].detail
    assert "statement timeout" in by_name["slow"].detail
    assert '"nowhere.nothing" does not exist' in by_name["gone"].detail
    conn = await orders.connect()
    try:
        assert 50 == await conn.fetchval("SELECT count(*) FROM public.orders")
    finally:
        await conn.close()
    assert DB_PASSWORD not in repr(result)


async def test_a_lost_connection_is_replaced_in_the_same_run(
    orders: Database, probe: DataProbe
) -> None:
    """A server that killed the kept connection between runs costs nothing: the run is ok."""
    assert Outcome.OK is (await probe.run()).outcome
    conn = await orders.connect()
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    assert Outcome.OK is (await probe.run()).outcome


async def test_no_database_reachable_is_an_outcome_with_no_checks(
    http: httpx.AsyncClient,
) -> None:
    """A refused connection is the run's outcome (error), with no check results."""
    settings = data_settings("postgresql://postgres@127.0.0.1:1/none", [NOT_EMPTY])
    probe = data_probe(settings, http)
    try:
        result = await probe.run()
    finally:
        await probe.aclose()
    assert (Outcome.ERROR, "connection refused", ()) == (
        result.outcome,
        result.detail,
        result.checks,
    )


async def test_a_huge_result_is_refused_before_it_is_read(probes: Probes) -> None:
    """Three million rows, or one 50 MB text, are refused by their shape (two rows fetched
    at most, a non-numeric column never fetched), not read whole and then judged."""
    probe = probes(
        {"name": "rows", "kind": "query", "sql": "SELECT g FROM generate_series(1, 3000000) g"},
        {"name": "text", "kind": "query", "sql": "SELECT repeat('x', 50000000)"},
        {"name": "one", "kind": "query", "sql": "SELECT max(g) FROM generate_series(1, 9) g"},
    )
    result = await probe.run()
    by_name = {c.name: (c.verdict, c.value, c.detail) for c in result.checks}
    assert {
        "rows": (Verdict.ERROR, None, "returned more than one row, not one number"),
        "text": (Verdict.ERROR, None, "returned str, not a number"),
        "one": (Verdict.OK, 9.0, "9"),
    } == by_name
