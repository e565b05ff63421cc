"""Live escalation harness: `sbwatch sim serve` and `sbwatch run` as real processes on 127.0.0.1.

Every scenario runs in its own thread with its own simulator, daemon and state file, so the
slow ones (a 30 s PATCH, a minute-long reconcile horizon) overlap instead of adding up. The
tests collect a scenario's finished ``Outcome`` and assert on it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from sbwatch.core.results import Diagnosis, Intent, IntentState
from sbwatch.remediation.executor import lock_name
from sbwatch.store.sqlite import SqliteStore

REF = "livescalationabcdefg"
TOKEN = "sbp_75a02f442faf6584be62bdc55b7e4a6346a50f25"
KEY = "live-service-key"
SETTLED = frozenset({IntentState.FAILED, IntentState.RECOVERED, IntentState.UNRECOVERED})
CHANGED = frozenset({IntentState.APPLIED, IntentState.RECOVERED, IntentState.UNRECOVERED})
T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], deadline_s: float, poll_s: float = 0.1) -> T:
    """Poll ``check`` until it returns something truthy; AssertionError after the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= end:
            raise AssertionError(f"timed out after {deadline_s:.0f}s waiting for {what}")
        time.sleep(poll_s)


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """Terminate, then kill if it does not stop."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace_s)


class Sim:
    """``sbwatch sim serve`` in a subprocess, and its control API."""

    def __init__(self, workdir: Path, *, budget_pct: float, resize_s: float) -> None:
        config = workdir / "sim.toml"
        config.write_text(
            f'port = 0\ntoken = "{TOKEN}"\nservice_key = "{KEY}"\nresize_seconds = {resize_s}\n'
            # Metrics at once, not once a minute: the journal is under test, not sampling.
            "metrics_update_s = 0\n"
            f'[[projects]]\nref = "{REF}"\ntier = "micro"\nbudget = {budget_pct}\n'
        )
        self.log = (workdir / "sim.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sbwatch", "sim", "serve", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=self.log,
            env={**os.environ, "XDG_RUNTIME_DIR": str(workdir)},  # its URL file stays here
        )
        self.url = ""
        self.http: httpx.Client | None = None

    def start(self) -> None:
        """Read the listening port from the banner."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                break
            found = re.search(r"Management API: (http://127\.0\.0\.1:\d+)", line)
            if found:
                self.url = found.group(1)
                self.http = httpx.Client(base_url=self.url, timeout=10)
                return
        raise AssertionError("the simulator did not start")

    def event(self, kind: str, **fields: Any) -> None:
        """Post one event to the control API."""
        assert self.http is not None
        response = self.http.post("/_sim/events", json={"kind": kind, **fields})
        assert 200 == response.status_code, response.text

    def stats(self) -> dict[str, Any]:
        """patch_calls, patch_attempts."""
        assert self.http is not None
        result: dict[str, Any] = self.http.get("/_sim/stats").json()
        return result

    def truth(self) -> dict[str, Any]:
        """The project's ground truth."""
        assert self.http is not None
        result: dict[str, Any] = self.http.get(f"/_sim/truth/{REF}").json()
        return result

    def close(self) -> None:
        """Stop the process and close the client."""
        if self.http is not None:
            self.http.close()
        stop_process(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()


def daemon_config(workdir: Path, sim_url: str) -> Path:
    """A daemon configuration for the live tests: auto escalation to small, fast probes, metrics
    on a port the daemon picks (it logs which)."""
    path = workdir / "sbwatch.toml"
    probe = 'interval = "1s"\nfailures_before_down = 2\ntimeout = "2s"\n'
    path.write_text(
        f"""log_level = "info"
log_format = "json"
mgmt_api_url = "{sim_url}"
mgmt_token = "{TOKEN}"
[status_page]
url = "{sim_url}/status"
interval = "2s"
timeout = "2s"
[state]
path = "{workdir / "state.db"}"
[metrics]
port = 0
[[projects]]
ref = "{REF}"
tier = "micro"
url = "{sim_url}/p/{REF}"
service_key = "{KEY}"
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
interval = "5s"
timeout = "4s"
"""
    )
    return path


class Journal:
    """The daemon's SQLite store, read from the test with SqliteStore on a private loop."""

    def __init__(self, path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.store = SqliteStore(path)
        self.loop.run_until_complete(self.store.open())

    def intents(self) -> list[Intent]:
        """Every intent of the project."""
        return self.loop.run_until_complete(self.store.intents(REF))

    def diagnosis(self) -> Diagnosis | None:
        """The latest recorded diagnosis."""
        return self.loop.run_until_complete(self.store.latest_diagnosis(REF))

    def lock_free(self) -> bool:
        """Whether the escalation lock can be taken now (taken and released at once)."""
        now = datetime.now(UTC)
        taken = self.loop.run_until_complete(
            self.store.acquire_lock(lock_name(REF), "test-probe", 5, now)
        )
        if taken:
            self.loop.run_until_complete(self.store.release_lock(lock_name(REF), "test-probe"))
        return taken

    def close(self) -> None:
        """Close the store and its loop."""
        self.loop.run_until_complete(self.store.close())
        self.loop.close()


@dataclass
class Outcome:
    """What a finished scenario left behind."""

    intents: list[Intent]
    stats: dict[str, Any]
    truth: dict[str, Any]
    lock_free: bool
    kills: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def states(self) -> list[IntentState]:
        """The intents' states, oldest first."""
        return [i.state for i in self.intents]

    @property
    def changed(self) -> int:
        """Intents whose change was applied (and maybe verified)."""
        return sum(1 for i in self.intents if i.state in CHANGED)


class Live:
    """One scenario's simulator, daemon(s) and journal; everything stopped by ``close``."""

    def __init__(self, workdir: Path, *, budget_pct: float = 1.0, resize_s: float = 3.0) -> None:
        self.workdir = workdir
        self.sim = Sim(workdir, budget_pct=budget_pct, resize_s=resize_s)
        self.daemon: subprocess.Popen[bytes] | None = None
        self.journal: Journal | None = None
        self.metrics_port = 0
        self.config = workdir / "sbwatch.toml"
        self.kills = 0
        self._logs: list[Any] = []
        self.others: list[subprocess.Popen[bytes]] = []

    def start_sim(self, **fault: Any) -> None:
        """Serve the simulator, drain its budget (100 MB/s) and set a management API fault."""
        self.sim.start()
        self.sim.event("workload", read_mbps=100)
        if fault:
            self.sim.event("mgmt_api", **fault)
        self.config = daemon_config(self.workdir, self.sim.url)

    def start_daemon(self) -> None:
        """Start ``sbwatch run`` and wait until its metrics endpoint answers."""
        path = self.workdir / f"daemon-{self.kills}.log"
        log = path.open("wb")
        self._logs.append(log)
        self.daemon = subprocess.Popen(
            [sys.executable, "-m", "sbwatch", "--config", str(self.config), "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        # Port 0: a port picked here and freed could be taken by any socket before the daemon
        # binds it; the daemon's own pick is logged.
        self.metrics_port = wait_for("the daemon to listen", lambda: self._listening(path), 60, 0.2)
        wait_for("the daemon's metrics endpoint", self._metrics_up, 60, 0.2)
        if self.journal is None:
            self.journal = Journal(self.workdir / "state.db")

    def _listening(self, log: Path) -> int | None:
        self._alive()
        for line in log.read_text(errors="replace").splitlines():
            if '"metrics listening"' in line:
                port: int = json.loads(line)["port"]
                return port
        return None

    def _alive(self) -> None:
        assert self.daemon is not None
        if self.daemon.poll() is not None:
            tail = (self.workdir / f"daemon-{self.kills}.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"the daemon exited with {self.daemon.returncode}:\n{tail}")

    def _metrics_up(self) -> bool:
        self._alive()
        try:
            return httpx.get(self.metrics_url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def metrics_url(self) -> str:
        """The daemon's /metrics."""
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def kill9(self) -> None:
        """SIGKILL the daemon: nothing is released, flushed or recorded."""
        assert self.daemon is not None
        os.kill(self.daemon.pid, signal.SIGKILL)
        self.daemon.wait(10)
        self.kills += 1

    def intents(self) -> list[Intent]:
        """The journal now."""
        assert self.journal is not None
        return self.journal.intents()

    def settled(self) -> list[Intent] | None:
        """The intents once there is one and all have finished (else None)."""
        intents = self.intents()
        return intents if intents and all(i.state in SETTLED for i in intents) else None

    def wait_settled(self, deadline_s: float = 120.0) -> list[Intent]:
        """Wait until every intent finished."""
        return wait_for("every intent to finish", self.settled, deadline_s, 0.25)

    def sbwatch(self, *args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
        """Run one sbwatch command against this scenario's configuration."""
        return subprocess.run(
            [sys.executable, "-m", "sbwatch", "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def outcome(self, **notes: Any) -> Outcome:
        """Stop the daemon cleanly, then read journal, lock, simulator counters and truth."""
        if self.daemon is not None:
            stop_process(self.daemon)
        assert self.journal is not None
        return Outcome(
            self.intents(),
            self.sim.stats(),
            self.sim.truth(),
            self.journal.lock_free(),
            self.kills,
            notes,
        )

    def close(self) -> None:
        """Stop every process this scenario started; close files and the journal."""
        for proc in [*self.others, *([self.daemon] if self.daemon else [])]:
            stop_process(proc)
        self.sim.close()
        if self.journal is not None:
            self.journal.close()
        for log in self._logs:
            log.close()


Scenario = Callable[[Live], Outcome]
SCENARIOS: dict[str, dict[str, Scenario]] = {}
"""The scenarios each test module registered, by module name, then by function name."""


def register(*scenarios: Scenario) -> None:
    """Register scenarios under their function names (test modules do this when imported)."""
    for fn in scenarios:
        SCENARIOS.setdefault(fn.__module__, {})[fn.__name__] = fn


def _run(name: str, scenario: Scenario, workdir: Path) -> Outcome:
    live = Live(workdir, resize_s=5.0 if name == "kill_while_verifying" else 3.0)
    try:
        return scenario(live)
    except BaseException as exc:
        logs = sorted(p.name for p in workdir.glob("*.log"))
        raise AssertionError(f"scenario {name} failed ({exc}); logs in {workdir}: {logs}") from exc
    finally:
        live.close()


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[Outcome]]]:
    """Every scenario the test module registered, all started at once, each in its thread (a
    module runs on one worker of a parallel run: its scenarios run there, once)."""
    mine = SCENARIOS.get(request.module.__name__, {})
    assert mine, "no scenario registered"
    pool = ThreadPoolExecutor(max_workers=len(mine), thread_name_prefix="scenario")
    futures = {
        name: pool.submit(_run, name, fn, tmp_path_factory.mktemp(name))
        for name, fn in mine.items()
    }
    try:
        yield futures
    finally:
        pool.shutdown(wait=True, cancel_futures=False)
