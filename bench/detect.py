"""Fault to phone: how long from a fault in the provider to the message on the phone.

Run: ``python -m bench.detect [--projects N]`` (real processes on loopback: the simulator,
``sbwatch run`` at the default probe intervals and alert timings, and an HTTP receiver that
stands in for the phone). Each project is one trial: for "service down" its REST fails at a
random moment of its probe cycle; a platform outage and a network loss (the simulator gone,
so every connection is refused) hit every project at once, each from its own phase. The
first message counts, whatever it says (a network loss may first read as a service down and
then be corrected: the alert follows the cause). Beside the measured p50/p95 the table prints
the floor the configured intervals allow, computed in the same run from the same settings.

Only ``resolve_after`` is shortened (to 20 s), so that one fault's alerts close before the next
kind starts; it plays no part in how fast a fault is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from sbwatch.config.settings import AlertingSettings, ProbeSettings
from sbwatch.probes import REGISTRY

TOKEN = "sbp_ba02714f073b918f4b32f81a7ef721c2fd2ca71c"
KEY = "bench-service-key"
DEADLINE_S = 240.0


@dataclass
class Phone:
    """The receiver: every message with the monotonic time it arrived."""

    messages: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self) -> ThreadingHTTPServer:
        """Listen on a free loopback port for apprise ``json://`` posts."""
        phone = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                title = str(json.loads(body or b"{}").get("title", ""))
                with phone.lock:
                    phone.messages.append((time.monotonic(), title))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def first(self, name: str, since: float, words: str) -> float | None:
        """When the first message naming ``name`` and ``words`` came after ``since``."""
        with self.lock:
            for at, title in self.messages:
                fresh = at >= since and not title.startswith("RESOLVED")
                if fresh and f" {name}:" in title and words in title:
                    return at
        return None


def refs(count: int) -> list[str]:
    """Project refs of 20 lowercase letters."""
    return [
        ("p" + chr(ord("a") + i // 26) + chr(ord("a") + i % 26)) * 6 + "pp" for i in range(count)
    ]


def start(argv: list[str], directory: Path, name: str) -> subprocess.Popen[str]:
    """A child process logging into the directory."""
    out = (directory / f"{name}.log").open("w")
    env = {**os.environ, "XDG_RUNTIME_DIR": str(directory)}
    return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)


def wait(what: str, check: Any, deadline_s: float = 60.0) -> Any:
    """Poll until ``check`` answers truthy."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise SystemExit(f"bench.detect: timed out waiting for {what}")


def sim_config(directory: Path, projects: list[str]) -> Path:
    """A sim.toml with the projects."""
    lines = ["port = 0", f'token = "{TOKEN}"', f'service_key = "{KEY}"']
    for ref in projects:
        lines += ["[[projects]]", f'ref = "{ref}"', 'tier = "micro"']
    path = directory / "sim.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def daemon_config(directory: Path, base: str, phone_port: int, projects: list[str]) -> Path:
    """The daemon at the default probe and alert settings, the db probe off (not simulated)."""
    lines = [
        'log_format = "json"',
        f'mgmt_api_url = "{base}"',
        f'mgmt_token = "{TOKEN}"',
        "[status_page]",
        f'url = "{base}/status"',
        "[state]",
        f'path = "{directory / "state.db"}"',
        "[metrics]",
        "enabled = false",
        "[alerting]",
        'resolve_after = "20s"',
        "[[alerting.routes]]",
        'name = "phone"',
        f'url = "json://127.0.0.1:{phone_port}/"',
    ]
    for index, ref in enumerate(projects):
        lines += [
            "[[projects]]",
            f'ref = "{ref}"',
            f'name = "p{index:02d}"',
            'tier = "micro"',
            f'url = "{base}/p/{ref}"',
            f'service_key = "{KEY}"',
            "[projects.probes.db]",
            "enabled = false",
            "[projects.probes.rest]",
            "[projects.probes.auth]",
            "[projects.probes.mgmt_health]",
            "[projects.probes.metrics]",
        ]
    path = directory / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def event(base: str, **body: Any) -> None:
    """One event to the simulator's control API."""
    httpx.post(f"{base}/_sim/events", json=body, timeout=10).raise_for_status()


def floor_s() -> tuple[float, float]:
    """p50/p95 of fault to phone that the configured intervals allow, nothing else counted.

    A fault lands at a uniform moment of the probe's interval; the next run sees it, a
    confirming run follows ``confirm_after`` later, and the outbox is flushed within a second.
    """
    probe, spec = ProbeSettings(), REGISTRY[next(iter(REGISTRY))]
    interval = spec.interval.total_seconds()
    confirm = (probe.confirm_after.total_seconds() if probe.confirm_after else interval) + 0.5
    return 0.5 * interval + confirm, 0.95 * interval + confirm + 1.0


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p95 of a list of seconds."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def trial(phone: Phone, names: list[str], since: float, words: str) -> list[float]:
    """Seconds from ``since`` to each project's first message with ``words``."""
    got: dict[str, float] = {}

    def all_in() -> bool:
        for name in names:
            if name not in got and (at := phone.first(name, since, words)) is not None:
                got[name] = at - since
        return len(got) == len(names)

    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end and not all_in():
        time.sleep(0.2)
    return [got.get(name, DEADLINE_S) for name in names]


def run(projects: int, seed: int) -> dict[str, list[float]]:
    """The three faults, one after another, on ``projects`` projects."""
    rng = random.Random(seed)
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        phone = Phone()
        server = phone.serve()
        refs_ = refs(projects)
        names = [f"p{i:02d}" for i in range(projects)]
        exe = [sys.executable, "-m", "sbwatch"]
        sim = start(
            [*exe, "sim", "serve", "--config", str(sim_config(directory, refs_))], directory, "sim"
        )
        log = directory / "sim.log"
        port = wait(
            "the simulator",
            lambda: re.search(r"Management API: http://127\.0\.0\.1:(\d+)/", log.read_text()),
        )
        base = f"http://127.0.0.1:{port.group(1)}"
        config = daemon_config(directory, base, server.server_address[1], refs_)
        daemon = start([*exe, "--config", str(config), "run"], directory, "daemon")
        try:
            time.sleep(90)  # every probe up, the first cycles done
            starts = []
            for ref in refs_:  # service down: each project at its own moment of its cycle
                time.sleep(rng.uniform(0.5, 3.0))
                event(base, kind="service", name="rest", up=False, ref=ref)
                starts.append(time.monotonic())
            out["service down"] = [
                trial(phone, [name], at, "rest is down")[0]
                for name, at in zip(names, starts, strict=True)
            ]
            for ref in refs_:
                event(base, kind="service", name="rest", up=True, ref=ref)
            time.sleep(90)  # the alerts resolve
            since = time.monotonic()
            event(base, kind="platform_outage", on=True)
            out["full outage"] = trial(phone, names, since, "")
            event(base, kind="platform_outage", on=False)
            time.sleep(90)
            since = time.monotonic()
            sim.kill()
            out["network loss"] = trial(phone, names, since, "")
        finally:
            for proc in (daemon, sim):
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait(30)
            server.shutdown()
    return out


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=24, help="trials per fault kind")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    results = run(args.projects, args.seed)
    floor50, floor95 = floor_s()
    alerting = AlertingSettings()
    print(
        f"defaults: probe every {REGISTRY[next(iter(REGISTRY))].interval.total_seconds():.0f}s, "
        f"confirm after {ProbeSettings().confirm_after}, warnings after {alerting.min_duration}"
    )
    print(
        f"{'fault':<14} {'trials':>6} {'p50 s':>7} {'p95 s':>7} {'floor p50':>10} {'floor p95':>10}"
    )
    for kind, values in results.items():
        p50, p95 = percentiles(values)
        print(
            f"{kind:<14} {len(values):>6} {p50:>7.1f} {p95:>7.1f} {floor50:>10.1f} {floor95:>10.1f}"
        )
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
