"""Data check footprint benchmark: what each check costs the watched server, beside the db probe.

Run manually: ``python -m bench.bench_data [--runs N] [--rows N] [--dsn DSN]`` (loopback only).

On a fresh database of the local PostgreSQL holding an ``orders`` table (N rows, an index on
``updated_at``) and a month of hourly ``token_spend`` rows (an index on ``created_at``), each
data check runs alone in a data probe of its own (one kept connection), and the db probe runs
as it does in the daemon, in the same run. Per run: blocks (read + hit, from
``pg_stat_database``) and server CPU (of the exited backends, as accounted to the postmaster;
other activity on the server adds noise), then each as a ratio to the db probe's. The naive
``count(*)`` a row check could have been is measured too, for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
from bench.bench_probes import ADMIN_DSN, REF, DbMeter, _measure_db, _print_table, _settings

from sbwatch.config.settings import Settings
from sbwatch.core.clock import SystemClock
from sbwatch.probes.base import ProbeContext
from sbwatch.probes.data import DataProbe
from sbwatch.probes.db import DbProbe

SCHEMA = """
CREATE TABLE public.orders (
  id bigserial PRIMARY KEY, external_id text UNIQUE NOT NULL, amount numeric NOT NULL,
  updated_at timestamptz NOT NULL
);
INSERT INTO public.orders (external_id, amount, updated_at)
  SELECT 'ext-' || g, g % 1000, now() - make_interval(secs => g) FROM generate_series(1, {rows}) g;
CREATE INDEX ON public.orders (updated_at);
CREATE TABLE public.token_spend (
  id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, cost_usd numeric(12, 4) NOT NULL
);
INSERT INTO public.token_spend (created_at, cost_usd)
  SELECT now() - make_interval(mins => g * 6), 0.75 FROM generate_series(0, 30 * 24 * 10) g;
CREATE INDEX ON public.token_spend (created_at);
"""
CHECKS: list[tuple[str, dict[str, Any]]] = [
    ("not_empty orders", {"name": "rows", "kind": "not_empty", "table": "orders"}),
    ("fresh updated_at", {"name": "fresh", "kind": "fresh", "table": "orders",
                          "column": "updated_at", "max_age": "1h"}),
    ("sum spend today", {"name": "today", "kind": "sum", "table": "token_spend",
                         "column": "cost_usd", "critical_above": 500}),
    ("sum spend 24h", {"name": "day", "kind": "sum", "table": "token_spend",
                       "column": "cost_usd", "window": "24h", "critical_above": 500}),
    ("query max(id)", {"name": "newest", "kind": "query",
                       "sql": "SELECT max(id) FROM public.orders"}),
]  # fmt: skip
COLUMNS: list[tuple[str, str, float]] = [
    ("blocks", "blocks", 1),
    ("cpu", "server CPU ms", 1000),
    ("wall", "wall ms", 1000),
]


def _data_settings(dsn: str, check: dict[str, Any]) -> Settings:
    return Settings(
        projects=[
            {  # type: ignore[list-item]  # validated dict
                "ref": REF,
                "db_dsn": dsn,
                "probes": {"data": {}},
                "data_checks": [check],
            }
        ],
        status_page={"enabled": False},  # type: ignore[arg-type]  # validated dict
    )


async def bench_checks(admin_dsn: str, runs: int, rows: int) -> list[tuple[str, dict[str, float]]]:
    """The db probe, then each data check, then a naive count(*), on one fresh database."""
    admin = await asyncpg.connect(admin_dsn)
    database = f"sbwatch_bench_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{database}"')
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{database}"
    try:
        setup = await asyncpg.connect(dsn)
        try:
            await setup.execute(SCHEMA.format(rows=rows))
            await setup.execute("VACUUM ANALYZE")  # the visibility map: index-only scans
        finally:
            await setup.close()
        meter = DbMeter(admin, database)
        await meter.setup(dsn)
        results: list[tuple[str, dict[str, float]]] = []
        async with httpx.AsyncClient() as http:
            settings = _settings(dsn, "http://127.0.0.1:1")
            ctx = ProbeContext(settings, settings.projects[0], http, SystemClock())

            async def db_loop() -> None:
                probe = DbProbe(ctx)
                try:
                    for _ in range(runs):
                        await probe.run()
                finally:
                    await probe.aclose()

            results.append(("db probe", await _measure_db(meter, runs, db_loop)))
            for label, check in CHECKS:
                check_settings = _data_settings(dsn, check)
                check_ctx = ProbeContext(
                    check_settings, check_settings.projects[0], http, SystemClock()
                )

                async def check_loop(
                    probe_ctx: ProbeContext = check_ctx, name: str = check["name"]
                ) -> None:
                    probe = DataProbe(probe_ctx)
                    try:
                        for _ in range(runs):
                            result = await probe.run()
                            if not result.ok:
                                raise SystemExit(f"{name}: {result.detail}")
                    finally:
                        await probe.aclose()

                results.append((label, await _measure_db(meter, runs, check_loop)))

            async def count_loop() -> None:
                conn = await asyncpg.connect(dsn)
                try:
                    for _ in range(runs):
                        await conn.fetchval("SELECT count(*) FROM public.orders")
                finally:
                    await conn.close()

            results.append(("count(*) orders (naive)", await _measure_db(meter, runs, count_loop)))
        print(f"data: {runs} runs per check on {database}; orders {rows} rows")
        return results
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


async def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its table, ratios to the db probe below it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1000, help="runs per check (default 1000)")
    parser.add_argument("--rows", type=int, default=200_000, help="orders rows (default 200000)")
    parser.add_argument("--dsn", default=ADMIN_DSN, help="admin DSN of the local PostgreSQL")
    args = parser.parse_args(argv)
    runs = max(10, min(args.runs, 5000))
    rows = await bench_checks(args.dsn, runs, max(1000, args.rows))
    _print_table("data checks, per run (ratios: to the db probe)", rows, COLUMNS)


if __name__ == "__main__":
    asyncio.run(main())
