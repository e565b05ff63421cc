"""A fleet in one process: how many projects one daemon watches on one core.

Run: ``python -m bench.fleet [--sizes 10,100,300,1000] [--window 60]`` (real processes on
loopback). For each N the simulator serves N micro projects, pinned to core 0; ``sbwatch run``
watches them, pinned to core 1, at the product's default probe intervals (REST, auth, the
Management API health and the metrics endpoint of each project, and the status page), with
SQLite state and its /metrics on. After start-up and a settling period it measures, over the
window: the daemon's CPU share of its core, its resident memory, how late jobs started
(``sbwatch_job_lag_seconds``, p50/p99), probe runs done against those due, and failed runs.

Start-up is the time from the process start to systemd's ``READY=1`` (the bench listens on
``$NOTIFY_SOCKET``). The baseline, measured in the same run on the same core against the same
simulator, is a plain httpx loop of GETs on a project's REST endpoint: the daemon's CPU
milliseconds per probe run are printed beside the loop's milliseconds per request.

``--instances K`` (K > 1) runs K daemons sharing the projects out (``[ha] share_projects``)
on a PostgreSQL store (a fresh database on 127.0.0.1:5432), all on core 1: their CPU is
printed summed and for the busiest one, which is what adding an instance takes off each.

Machines without ``taskset`` (util-linux) or with one core run unpinned, and say so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from bench.detect import KEY, TOKEN, sim_config, start, wait

from sbwatch.core.results import ProbeKind
from sbwatch.probes import REGISTRY

PROBES = ("rest", "auth", "mgmt_health", "metrics")
SETTLE_S = 45.0
"""After READY: every job has had its first run and the first evaluations are done."""
PLAIN_S = 8.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Row:
    """One fleet size, measured."""

    projects: int
    instances: int
    startup_s: float
    cpu_pct: float
    """Every instance's CPU, summed."""
    busiest_pct: float
    sim_cpu_pct: float
    rss_mb: float
    lag_p50_s: float
    lag_p99_s: float
    due: int
    done: int
    failed: int
    ms_per_run: float


def refs(count: int) -> list[str]:
    """Project refs of 20 lowercase letters: the index in base 26, padded."""
    out = []
    for index in range(count):
        letters = ""
        for _ in range(4):
            index, digit = divmod(index, 26)
            letters = chr(ord("a") + digit) + letters
        out.append("fleet" + letters * 3 + "ppp")
    return out


def pinned(core: int) -> list[str]:
    """The taskset prefix that pins a child to ``core``, or nothing where that cannot be done."""
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        return []
    return ["taskset", "-c", str(core)]


def cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) / 1024 if found else 0.0


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def daemon_config(
    directory: Path, base: str, metrics_port: int, projects: list[str], shared: str | None = None
) -> Path:
    """The daemon at the default intervals, every probe but db (it needs a server per project).

    ``shared``: the DSN of the PostgreSQL store the instances share the projects out on."""
    state = [f'path = "{directory / "state.db"}"']
    if shared is not None:
        ha = ["[ha]", "enabled = true", f'instance = "{directory.name}"', "share_projects = true"]
        state = ['backend = "postgres"', f'dsn = "{shared}"', *ha]
    lines = [
        'log_format = "json"',
        'log_level = "info"',
        f'mgmt_api_url = "{base}"',
        f'mgmt_token = "{TOKEN}"',
        "[status_page]",
        f'url = "{base}/status"',
        "[state]",
        *state,
        "[metrics]",
        f"port = {metrics_port}",
        "[[alerting.routes]]",
        'name = "phone"',
        'url = "json://127.0.0.1:9/"',
    ]
    for index, ref in enumerate(projects):
        lines += [
            "[[projects]]",
            f'ref = "{ref}"',
            f'name = "p{index:04d}"',
            'tier = "micro"',
            f'url = "{base}/p/{ref}"',
            f'service_key = "{KEY}"',
            *(f"[projects.probes.{kind}]" for kind in PROBES),
        ]
    path = directory / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def scrape(port: int) -> dict[str, float]:
    """The daemon's job lag buckets and probe run counts, summed over projects."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=60).text
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("sbwatch_job_lag_seconds_bucket"):
            bound = re.search(r'le="([^"]+)"', line)
            if bound:
                key = f"lag:{bound.group(1)}"
                out[key] = out.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
        elif line.startswith("sbwatch_probe_runs_total{"):
            outcome = re.search(r'outcome="([^"]+)"', line)
            key = f"runs:{outcome.group(1) if outcome else '?'}"
            out[key] = out.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def quantile(q: float, buckets: dict[float, float]) -> float:
    """A quantile from cumulative histogram buckets, interpolated as PromQL does."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return 0.0
    rank, lower, below = q * total, 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower
            share = (rank - below) / (count - below) if count > below else 0.0
            return lower + (bound - lower) * share
        lower, below = bound, count
    return lower


def due_runs(projects: int, window_s: float) -> int:
    """Probe runs the schedule owes in the window: every probe of every project, and the page."""
    per_project = sum(
        window_s / REGISTRY[ProbeKind(kind)].interval.total_seconds() for kind in PROBES
    )
    page = window_s / REGISTRY[ProbeKind.STATUS_PAGE].interval.total_seconds()
    return round(projects * per_project + page)


class NotifyListener:
    """A $NOTIFY_SOCKET: when READY=1 arrived."""

    def __init__(self, directory: Path) -> None:
        self.path = str(directory / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def ready_after(self, since: float, deadline_s: float) -> float:
        """Seconds from ``since`` to READY=1."""
        end = time.monotonic() + deadline_s
        while (left := end - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                break
            if b"READY=1" in data.split(b"\n"):
                return time.monotonic() - since
        raise SystemExit(f"bench.fleet: no READY=1 within {deadline_s:.0f} s")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def shared_store(instances: int) -> Iterator[str | None]:
    """A fresh PostgreSQL database for instances that share projects (None for one daemon)."""
    if instances == 1:
        yield None
        return
    name = f"sbwatch_fleet_{os.getpid()}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def measure(count: int, window_s: float, instances: int = 1) -> tuple[Row, float]:
    """One fleet size; the row and the plain loop's CPU ms per request."""
    with tempfile.TemporaryDirectory() as tmp, shared_store(instances) as dsn:
        directory = Path(tmp)
        names = refs(count)
        exe = [sys.executable, "-m", "sbwatch"]
        sim_argv = [*pinned(0), *exe, "sim", "serve", "--config", str(sim_config(directory, names))]
        sim = start(sim_argv, directory, "sim")
        daemons: list[subprocess.Popen[str]] = []
        ports: list[int] = []
        try:
            log = directory / "sim.log"
            port = wait(
                "the simulator",
                lambda: re.search(r"Management API: http://127\.0\.0\.1:(\d+)/", log.read_text()),
                deadline_s=120,
            )
            base = f"http://127.0.0.1:{port.group(1)}"
            plain = plain_loop(f"{base}/p/{names[0]}/rest/v1/")
            listeners, began = [], time.monotonic()
            for number in range(instances):
                home = directory / f"i{number}"
                home.mkdir()
                ports.append(free_port())
                config = daemon_config(home, base, ports[-1], names, dsn)
                listeners.append(NotifyListener(home))
                os.environ["NOTIFY_SOCKET"] = listeners[-1].path
                try:
                    argv = [*pinned(1), *exe, "--config", str(config), "run"]
                    daemons.append(start(argv, home, "d"))
                finally:
                    del os.environ["NOTIFY_SOCKET"]
            startup = max(listener.ready_after(began, deadline_s=300) for listener in listeners)
            time.sleep(SETTLE_S)
            before = [scrape(port) for port in ports]
            cpu0, sim0, t0 = [cpu_s(d.pid) for d in daemons], cpu_s(sim.pid), time.monotonic()
            time.sleep(window_s)
            cpu1, sim1, t1 = [cpu_s(d.pid) for d in daemons], cpu_s(sim.pid), time.monotonic()
            rss = max(rss_mb(d.pid) for d in daemons)
            after = [scrape(port) for port in ports]
        finally:
            for proc in (*daemons, sim):
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait(60)
    delta: dict[str, float] = {}
    for old, new in zip(before, after, strict=True):
        for key in new:
            delta[key] = delta.get(key, 0.0) + new[key] - old.get(key, 0.0)
    used = [end - start for start, end in zip(cpu0, cpu1, strict=True)]
    lags = {float(k[4:]): v for k, v in delta.items() if k.startswith("lag:")}
    done = round(sum(v for k, v in delta.items() if k.startswith("runs:")))
    failed = round(sum(v for k, v in delta.items() if k.startswith("runs:") and k != "runs:ok"))
    elapsed = t1 - t0
    row = Row(
        projects=count,
        instances=instances,
        startup_s=startup,
        cpu_pct=100 * sum(used) / elapsed,
        busiest_pct=100 * max(used) / elapsed,
        sim_cpu_pct=100 * (sim1 - sim0) / elapsed,
        rss_mb=rss,
        lag_p50_s=quantile(0.5, lags) if lags else float("nan"),
        lag_p99_s=quantile(0.99, lags) if lags else float("nan"),
        due=due_runs(count, elapsed),
        done=done,
        failed=failed,
        ms_per_run=1000 * sum(used) / max(done, 1),
    )
    return row, plain


def plain_loop(url: str) -> float:
    """CPU ms per request of a plain httpx GET loop, in a child pinned where the daemon runs."""
    argv = [*pinned(1), sys.executable, "-m", "bench.fleet", "--plain", url]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120)
    return float(done.stdout.strip())


async def _plain(url: str) -> float:
    headers = {"apikey": KEY, "Authorization": f"Bearer {KEY}"}
    count = 0
    async with httpx.AsyncClient(headers=headers) as client:

        async def worker(end: float) -> None:
            nonlocal count
            while time.monotonic() < end:
                (await client.get(url)).raise_for_status()
                count += 1

        end = time.monotonic() + PLAIN_S
        before = resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.gather(*(worker(end) for _ in range(8)))
        after = resource.getrusage(resource.RUSAGE_SELF)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return 1000 * used / max(count, 1)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,300,1000", help="fleet sizes, comma-separated")
    parser.add_argument("--window", type=float, default=60.0, help="seconds measured per size")
    parser.add_argument(
        "--instances", type=int, default=1, help="daemons sharing the projects out (PostgreSQL)"
    )
    parser.add_argument("--plain", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        print(f"{asyncio.run(_plain(args.plain)):.3f}")
        return
    if not pinned(0):
        print("taskset or a second core is missing: the processes run unpinned")
    resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE)[1:] * 2)
    print(
        f"{'projects':>8} {'inst':>4} {'start s':>8} {'cpu %':>6} {'max %':>6} {'sim %':>6} "
        f"{'rss MB':>7} "
        f"{'lag p50':>8} {'lag p99':>8} {'due':>7} {'done':>7} {'failed':>6} "
        f"{'ms/run':>7} {'plain ms':>8}",
        flush=True,
    )
    for size in (int(s) for s in args.sizes.split(",")):
        row, plain = measure(size, args.window, args.instances)
        print(
            f"{row.projects:>8} {row.instances:>4} {row.startup_s:>8.1f} {row.cpu_pct:>6.1f} "
            f"{row.busiest_pct:>6.1f} {row.sim_cpu_pct:>6.1f} {row.rss_mb:>7.0f} "
            f"{row.lag_p50_s:>8.3f} {row.lag_p99_s:>8.3f} {row.due:>7} "
            f"{row.done:>7} {row.failed:>6} {row.ms_per_run:>7.2f} {plain:>8.2f}",
            flush=True,
        )
    print(f"load average {os.getloadavg()[0]:.1f}; ms/run: daemon CPU per probe run, all work")


if __name__ == "__main__":
    main()
