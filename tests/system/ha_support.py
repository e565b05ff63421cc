"""Helpers of the high availability tests: a database of their own, the simulator set for one
escalation, and daemon configurations with ``[ha]`` on a shared PostgreSQL store."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from .conftest import (
    REF,
    SIM_SERVICE_KEY,
    SIM_TOKEN,
    Daemon,
    Proc,
    Sim,
    child_env,
    launch_sim,
)
from .conftest import wait_for as wait_for

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
LEASE_S = 2.0
RENEW_S = 0.5
TAKEOVER_S = LEASE_S + RENEW_S + 1.5
"""A standby leads within lease + renew_every of the leader's death; the rest is polling."""


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new database on 127.0.0.1:5432 (its DSN), dropped afterwards."""
    name = f"sbwatch_ha_{secrets.token_hex(5)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def query(dsn: str, sql: str) -> list[Any]:
    """Rows of one statement on the daemons' store (schema sbwatch)."""

    async def run() -> list[Any]:
        conn = await asyncpg.connect(dsn, server_settings={"search_path": "sbwatch"})
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    return asyncio.run(run())


def start_escalation_sim(directory: Path, resize_s: float) -> Sim:
    """The simulator with one micro project whose IO budget is almost spent."""
    path = directory / "sim.toml"
    path.write_text(
        f'port = 0\ntoken = "{SIM_TOKEN}"\nservice_key = "{SIM_SERVICE_KEY}"\n'
        f"resize_seconds = {resize_s}\nmetrics_update_s = 0\n"
        f'[[projects]]\nref = "{REF}"\ntier = "micro"\nbudget = 1.0\n',
        encoding="utf-8",
    )
    return launch_sim(path, directory)


def sim_stats(sim: Sim) -> dict[str, Any]:
    """The simulator's PATCH counters."""
    found: dict[str, Any] = httpx.get(f"{sim.url}/_sim/stats", timeout=5).json()
    return found


@dataclass(frozen=True)
class Reach:
    """Where one instance finds the simulator, the receiver and the store."""

    sim_url: str
    receiver: str
    dsn: str
    metrics_listen: str = "127.0.0.1"


def ha_config(name: str, reach: Reach, metrics_port: int, *, consumed_pct: int = 99) -> str:
    """One instance: auto escalation to small, fast probes, the shared store, short lease; the
    IO budget 99% consumed (a raise due), unless told otherwise."""
    base = reach.sim_url
    probe = 'interval = "1s"\nfailures_before_down = 2\ntimeout = "2s"\n'
    return f"""log_level = "info"
log_format = "json"
mgmt_api_url = "{base}"
mgmt_token = "{SIM_TOKEN}"
[status_page]
url = "{base}/status"
interval = "2s"
timeout = "2s"
[state]
backend = "postgres"
dsn = "{reach.dsn}"
[metrics]
listen = "{reach.metrics_listen}"
port = {metrics_port}
[ha]
enabled = true
instance = "{name}"
lease = "{LEASE_S}s"
renew_every = "{RENEW_S}s"
[alerting]
min_duration = "0s"
resolve_after = "2s"
retry_max = "1s"
[[alerting.routes]]
name = "phone"
url = "json://{reach.receiver}/hook"
[[projects]]
ref = "{REF}"
tier = "micro"
url = "{base}/p/{REF}"
service_key = "{SIM_SERVICE_KEY}"
[projects.budget]
consumed_pct = {consumed_pct}
[projects.escalation]
mode = "auto"
max_tier = "small"
monthly_cost_cap_usd = 30
[projects.probes.rest]
{probe}[projects.probes.auth]
{probe}[projects.probes.metrics]
{probe}[projects.probes.mgmt_health]
interval = "2s"
timeout = "2s"
"""


def leading(daemon: Daemon) -> float | None:
    """``sbwatch_ha_leader`` of one instance (None when its metrics do not answer)."""
    return daemon.sample("sbwatch_ha_leader")


def sent_messages(dsn: str) -> list[tuple[str, str]]:
    """(title, body) of every notification the store marks sent."""
    rows = query(dsn, "SELECT title, body FROM notifications WHERE sent_at IS NOT NULL")
    return sorted((str(r["title"]), str(r["body"])) for r in rows)


def unsent(dsn: str) -> int:
    """Notifications still owed (neither sent nor failed for good)."""
    sql = "SELECT count(*) AS n FROM notifications WHERE sent_at IS NULL AND failed IS NULL"
    return int(query(dsn, sql)[0]["n"])


PARKED = (
    "import sys, sbwatch.cli, sbwatch.daemon.app, sbwatch.store.postgres; "
    "sys.stdin.readline(); sys.exit(sbwatch.cli.main(sys.argv[1:]))"
)
"""A daemon that has done its imports (seconds on a busy machine) and starts on a line read:
a restart then takes what a restart of an installed service takes, not an interpreter's."""


class ParkedProc(Proc):
    """``sbwatch --config X run``, imported and waiting for :meth:`go`."""

    def __init__(self, name: str, config: Path, directory: Path) -> None:
        argv = [sys.executable, "-c", PARKED, "--config", str(config), "run"]
        super().__init__(name, argv, directory, child_env(), stdin=subprocess.PIPE)

    def go(self) -> None:
        """Start the daemon now."""
        assert self.popen.stdin is not None
        self.popen.stdin.write(b"go\n")
        self.popen.stdin.close()

    def close(self) -> None:
        """Stop it (parked or running) and close its pipe."""
        super().close()
        if self.popen.stdin is not None and not self.popen.stdin.closed:
            self.popen.stdin.close()
