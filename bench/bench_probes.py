"""Probe footprint benchmark: what one probe run costs the watched server and the watcher.

Run manually: ``python -m bench.bench_probes [--runs N] [--dsn DSN]`` (loopback only).

Database: on a fresh database of the local PostgreSQL, the db probe (one kept connection, a
fresh one every ``fresh_connection_every`` runs) against a baseline measured in the same run:
a fresh asyncpg connection per probe. Per run: statements (pg_stat_statements when loaded,
else committed transactions), blocks read+hit, sessions, and server CPU (CPU of exited
backends as accounted to the postmaster; other activity on the server adds noise).
HTTP: process CPU per REST/auth probe run against a local endpoint (served by a child
process, so only the client is measured) versus a plain httpx GET loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from sbwatch.config.settings import DbProbeSettings, ProjectSettings, Settings
from sbwatch.core.clock import SystemClock
from sbwatch.probes.auth import AuthProbe
from sbwatch.probes.base import ProbeContext
from sbwatch.probes.db import DbProbe
from sbwatch.probes.rest import RestProbe

REF = "benchbenchbenchbench"
KEY = "bench-service-key"
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

SERVER = r"""
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_GET(self):
        body = json.dumps({"name": "GoTrue", "version": "bench"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def _settings(dsn: str, url: str) -> Settings:
    project = ProjectSettings(
        ref=REF,
        url=url,
        db_dsn=dsn,  # type: ignore[arg-type]  # pydantic turns the str into SecretStr
        service_key=KEY,  # type: ignore[arg-type]  # same
        mgmt_token="sbp_06d69bef9886085d9a137c2e850632455098debf",  # type: ignore[arg-type]  # same
        db=DbProbeSettings(connect_timeout=timedelta(seconds=5)),
    )
    return Settings(projects=[project], status_page={"enabled": False})  # type: ignore[arg-type]  # validated dict


def _proc_cpu_s(pid: int, children: bool) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    # After the ")" field 0 is state (3rd overall): utime=11, stime=12, cutime=13, cstime=14.
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


class DbMeter:
    """Counters of one database, read once every session has ended."""

    def __init__(self, admin: Any, database: str) -> None:
        self.admin = admin
        self.database = database
        self.postmaster: int | None = None
        self.statements = False

    async def setup(self, dsn: str) -> None:
        """Find the postmaster and whether pg_stat_statements is usable."""
        pid = await self.admin.fetchval("SELECT pg_backend_pid()")
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as handle:  # noqa: ASYNC230  # /proc
                self.postmaster = int(handle.read().rsplit(")", 1)[1].split()[1])
            _proc_cpu_s(self.postmaster, children=True)
        except OSError:
            self.postmaster = None
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await conn.fetchval("SELECT count(*) FROM pg_stat_statements")
            self.statements = True
        except asyncpg.PostgresError:
            self.statements = False
        finally:
            await conn.close()

    async def read(self, sessions_at_least: int = 0) -> dict[str, float]:
        """Statements, blocks, sessions and server CPU seconds so far."""
        async with asyncio.timeout(20):
            while True:
                await self.admin.execute("SELECT pg_stat_clear_snapshot()")
                row = await self.admin.fetchrow(
                    "SELECT xact_commit, blks_read + blks_hit AS blocks, sessions"
                    " FROM pg_stat_database WHERE datname = $1",
                    self.database,
                )
                if row["sessions"] >= sessions_at_least:
                    break
                await asyncio.sleep(0.05)
        statements = float(row["xact_commit"])
        if self.statements:
            statements = float(
                await self.admin.fetchval(
                    "SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s"
                    " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1",
                    self.database,
                )
            )
        cpu = _proc_cpu_s(self.postmaster, children=True) if self.postmaster else float("nan")
        return {
            "statements": statements,
            "blocks": float(row["blocks"]),
            "sessions": float(row["sessions"]),
            "cpu": cpu,
        }


async def _measure_db(
    meter: DbMeter, runs: int, body: Callable[[], Awaitable[None]]
) -> dict[str, float]:
    before = await meter.read()
    started = time.perf_counter()
    await body()
    wall = time.perf_counter() - started
    after = await meter.read(int(before["sessions"]) + 1)
    await asyncio.sleep(0.2)  # let the postmaster reap the last backend
    after["cpu"] = (await meter.read())["cpu"]
    per_run = {key: (after[key] - before[key]) / runs for key in before}
    per_run["wall"] = wall / runs
    return per_run


async def bench_db(admin_dsn: str, runs: int) -> list[tuple[str, dict[str, float]]]:
    """The db probe versus a fresh connection per probe, on a fresh database."""
    admin = await asyncpg.connect(admin_dsn)
    database = f"sbwatch_bench_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{database}"')
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{database}"
    try:
        meter = DbMeter(admin, database)
        await meter.setup(dsn)
        async with httpx.AsyncClient() as http:
            settings = _settings(dsn, "http://127.0.0.1:1")
            ctx = ProbeContext(settings, settings.projects[0], http, SystemClock())

            async def probe_loop() -> None:
                probe = DbProbe(ctx)
                try:
                    for _ in range(runs):
                        await probe.run()
                finally:
                    await probe.aclose()

            async def fresh_loop() -> None:
                for _ in range(runs):
                    conn = await asyncpg.connect(dsn)
                    await conn.execute("SELECT 1")
                    await conn.close()

            baseline = await _measure_db(meter, runs, fresh_loop)
            ours = await _measure_db(meter, runs, probe_loop)
        label = "statements" if meter.statements else "xacts"
        print(f"db: {runs} runs on {database}; statements counted as {label}")
        return [("fresh connection per probe", baseline), ("sbwatch db probe", ours)]
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


async def bench_http(runs: int) -> list[tuple[str, dict[str, float]]]:
    """Client CPU per REST/auth probe run versus a plain httpx GET loop."""
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVER, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        port = int(await server.stdout.readline())
        url = f"http://127.0.0.1:{port}/p/{REF}"
        settings = _settings("postgresql://127.0.0.1/none", url)
        async with httpx.AsyncClient() as http:
            ctx = ProbeContext(settings, settings.projects[0], http, SystemClock())
            rest, auth = RestProbe(ctx), AuthProbe(ctx)
            headers = {"apikey": KEY, "Authorization": f"Bearer {KEY}"}

            async def plain() -> None:
                (await http.get(f"{url}/rest/v1/", headers=headers)).raise_for_status()

            async def rest_run() -> None:
                await rest.run()

            async def auth_run() -> None:
                await auth.run()

            rows = []
            for name, call in (
                ("plain httpx GET", plain),
                ("sbwatch rest probe", rest_run),
                ("sbwatch auth probe", auth_run),
            ):
                for _ in range(20):
                    await call()
                cpu0, wall0 = time.process_time(), time.perf_counter()
                for _ in range(runs):
                    await call()
                rows.append(
                    (
                        name,
                        {
                            "cpu": (time.process_time() - cpu0) / runs,
                            "wall": (time.perf_counter() - wall0) / runs,
                        },
                    )
                )
        return rows
    finally:
        server.terminate()
        await server.wait()


def _print_table(
    title: str, rows: list[tuple[str, dict[str, float]]], columns: list[tuple[str, str, float]]
) -> None:
    print(f"\n{title}")
    header = f"{'':44}" + "".join(f"{label:>16}" for _, label, _ in columns)
    print(header)
    for name, values in rows:
        print(f"{name:44}" + "".join(f"{values[key] * scale:16.3f}" for key, _, scale in columns))
    base = rows[0][1]
    for name, values in rows[1:]:
        ratios = "".join(
            f"{(values[key] / base[key]) if base[key] else float('nan'):16.3f}"
            for key, _, _ in columns
        )
        print(f"{'ratio ' + name + ' / ' + rows[0][0]:44.44}" + ratios)


async def main(argv: list[str] | None = None) -> None:
    """Run both benchmarks and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=300, help="probe runs per method (default 300)")
    parser.add_argument("--dsn", default=ADMIN_DSN, help="admin DSN of the local PostgreSQL")
    args = parser.parse_args(argv)
    runs = max(10, min(args.runs, 2000))
    db_rows = await bench_db(args.dsn, runs)
    _print_table(
        "db probe, per run",
        db_rows,
        [
            ("statements", "statements", 1),
            ("blocks", "blocks", 1),
            ("sessions", "sessions", 1),
            ("cpu", "server CPU ms", 1000),
            ("wall", "wall ms", 1000),
        ],
    )
    http_rows = await bench_http(runs)
    _print_table(
        "http probes, per run",
        http_rows,
        [("cpu", "client CPU ms", 1000), ("wall", "wall ms", 1000)],
    )


if __name__ == "__main__":
    asyncio.run(main())
