"""Helpers of the chaos test: a PostgreSQL cluster of the test's own, the daemon's
configuration for it, and the seeded schedule of faults."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sbwatch.sim.emails import dns_records

from .conftest import REF, SIM_SERVICE_KEY, SIM_TOKEN, free_port


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL server binaries (None when not installed)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
    )
    return found[-1].parent if found else None


class PrivatePostgres:
    """A PostgreSQL cluster on a free port, made by initdb for one test: stopping it hurts
    nobody else. Run as the ``postgres`` user when the test runs as root (initdb refuses root)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="sbwatch-chaos-pg-"))
        self.data = self.root / "data"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.running = False

    @property
    def dsn(self) -> str:
        """Where the daemon finds it (trust authentication on loopback)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        done = subprocess.run(
            [*prefix, *argv], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, f"{argv[0]}: {done.stdout}{done.stderr}"

    def init(self) -> None:
        """initdb (no fsync: a test's cluster), then start."""
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        self.start()

    def start(self) -> None:
        """Start the cluster and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.root / "server.log"), "-w", "-t", "60", "start",
        )  # fmt: skip
        self.running = True

    def stop(self) -> None:
        """Stop at once (every connection cut), as a crashed or restarted server does."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.running = False

    def close(self) -> None:
        """Stop if running; remove the cluster."""
        if self.running:
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass(frozen=True)
class Places:
    """Where the daemon finds the simulator, the phone, the store and the mailbox."""

    sim_url: str
    phone: str
    dsn: str
    imap_port: int
    imap_user: str
    imap_password: str


def chaos_config(places: Places, metrics_port: int) -> str:
    """One daemon: auto escalation up to small, fast probes, the private PostgreSQL store,
    mail from the private Dovecot (the provider's DKIM key pinned: no DNS here)."""
    base = places.sim_url
    probe = 'interval = "1s"\nfailures_before_down = 2\ntimeout = "2s"\n'
    keys = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in dns_records().items())
    return f"""log_level = "debug"
log_format = "json"
mgmt_api_url = "{base}"
mgmt_token = "{SIM_TOKEN}"
[status_page]
url = "{base}/status"
interval = "2s"
timeout = "2s"
[state]
backend = "postgres"
dsn = "{places.dsn}"
[metrics]
port = {metrics_port}
[mail]
enabled = true
host = "127.0.0.1"
port = {places.imap_port}
security = "plain"
username = "{places.imap_user}"
password = "{places.imap_password}"
poll_interval = "2s"
dkim_keys = {{ {keys} }}
[alerting]
min_duration = "0s"
resolve_after = "2s"
retry_max = "1s"
[[alerting.routes]]
name = "phone"
url = "json://{places.phone}/hook"
[[projects]]
ref = "{REF}"
name = "shop"
tier = "micro"
url = "{base}/p/{REF}"
service_key = "{SIM_SERVICE_KEY}"
[projects.budget]
consumed_pct = 99
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


@dataclass(frozen=True, order=True)
class Step:
    """One thing the harness does, ``at`` seconds after the start."""

    at: float
    action: str
    """kill, restart, dovecot, phone_off, phone_on, store_off, store_on, rest_off, rest_on,
    drain, mail"""
    detail: str = ""


@dataclass(frozen=True)
class Story:
    """What happens to the world (the faults the daemon must see) and when."""

    rest_off: float
    rest_on: float
    store_off: float
    store_on: float
    drain: float


def story(length_s: float, rng: random.Random) -> Story:
    """The REST outage inside a state store outage (as long as a minute, a fifth of the run
    at most), then the budget drain (an escalation is due) with time left to settle."""
    store_s = min(60.0, 0.3 * length_s)
    store_off = length_s * rng.uniform(0.10, 0.15)
    rest_off = store_off + rng.uniform(2.0, 6.0)
    rest_on = rest_off + min(0.5 * store_s, rng.uniform(15.0, 25.0))
    drain = store_off + store_s + length_s * rng.uniform(0.10, 0.15)
    return Story(rest_off, rest_on, store_off, store_off + store_s, drain)


def schedule(length_s: float, seed: int) -> tuple[Story, list[Step]]:
    """The seeded schedule: the story, SIGKILLs with restarts a few seconds later (never
    while the store is stopped: a daemon cannot start without its store), Dovecot restarts,
    spells of a refusing phone, and emails appended (one while the store is away)."""
    rng = random.Random(seed)
    world = story(length_s, rng)
    steps = [
        Step(world.rest_off, "rest_off"),
        Step(world.rest_on, "rest_on"),
        Step(world.store_off, "store_off"),
        Step(world.store_on, "store_on"),
        Step(world.drain, "drain"),
        Step(rng.uniform(world.rest_off, world.store_on - 3.0), "mail", "other"),
        Step(world.drain + rng.uniform(3.0, 12.0), "mail", "io_budget_warning"),
    ]
    calm = (world.store_off - 10.0, world.store_on + 5.0)
    kills = max(3, round(length_s / 30))
    while sum(s.action == "kill" for s in steps) < kills:
        at = rng.uniform(0.05 * length_s, 0.85 * length_s)
        down_s = rng.uniform(0.5, 4.0)
        if calm[0] <= at + down_s and at <= calm[1]:
            continue
        steps += [Step(at, "kill"), Step(at + down_s, "restart")]
    for _ in range(max(2, round(length_s / 60))):
        steps.append(Step(rng.uniform(0.05, 0.9) * length_s, "dovecot"))
    for _ in range(max(2, round(length_s / 75))):
        at = rng.uniform(0.05, 0.85) * length_s
        steps += [Step(at, "phone_off"), Step(at + rng.uniform(8.0, 20.0), "phone_on")]
    return world, sorted(steps)
