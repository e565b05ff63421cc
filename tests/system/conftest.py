"""System test fixtures: the simulator and the daemon as real subprocesses on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from tests.in_process import Ran, run_main
from tests.servers import free_port as free_port  # the system tests import it from here

REF = "sysprojaaaaaaaaaaaaa"
"""The simulated project (20 lowercase letters: the simulator's rule)."""
OTHER_REF = "sysprojbbbbbbbbbbbbb"
SIM_TOKEN = "sbp_d5948f03c43ddb587f3b5b1f086afcd74b48d8ab"
SIM_SERVICE_KEY = "system-service-key"
DEADLINE_S = 20.0
START_DEADLINE_S = 60.0
"""A daemon started on a busy machine serves within this (its imports take seconds of CPU)."""

T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], deadline_s: float = DEADLINE_S) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` at the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")
        time.sleep(0.2)


class Proc:
    """A subprocess whose output goes to files; stopped (terminate, then kill) by ``close``."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        directory: Path,
        env: dict[str, str],
        stdin: int | None = None,
    ) -> None:
        self.out_path = directory / f"{name}.out"
        self._read = 0
        self._events: list[dict[str, Any]] = []
        self.err_path = directory / f"{name}.err"
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.popen = subprocess.Popen(
                argv, stdin=stdin, stdout=out, stderr=err, env=env, cwd=directory
            )

    @property
    def stdout(self) -> str:
        """Everything written to stdout so far."""
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        """Everything written to stderr so far."""
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        """Still running."""
        return self.popen.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        """Send a signal."""
        self.popen.send_signal(sig)

    def wait(self, timeout_s: float) -> int:
        """The exit code, waiting at most ``timeout_s``."""
        return self.popen.wait(timeout=timeout_s)

    def log_events(self) -> list[dict[str, Any]]:
        """The JSON log lines written to stdout so far; each line is read and parsed once (a
        test polls this many times a second while a long log grows)."""
        with self.out_path.open("rb") as out:
            out.seek(self._read)
            chunk = out.read()
        complete = chunk.rfind(b"\n") + 1  # a line still being written waits for the next call
        self._read += complete
        for line in chunk[:complete].decode("utf-8", "replace").splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict):
                    self._events.append(event)
        return list(self._events)

    def close(self) -> None:
        """Terminate, then kill after 5 s; always reap."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


def sbwatch_argv(*args: str) -> list[str]:
    """The command line of ``sbwatch ARGS`` with this interpreter."""
    return [sys.executable, "-m", "sbwatch", *args]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child: this one without SBWATCH_* or credentials, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SBWATCH_") and k not in {"CREDENTIALS_DIRECTORY", "NOTIFY_SOCKET"}
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout_s: float = 20) -> Any:
    """Run ``sbwatch ARGS`` to completion; the CompletedProcess (text)."""
    return subprocess.run(
        sbwatch_argv(*args),
        capture_output=True,
        text=True,
        env=env or child_env(),
        timeout=timeout_s,
        check=False,
    )


@dataclass
class Sim:
    """A running ``sbwatch sim serve``."""

    proc: Proc
    port: int

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    def ctl(self, kind: str, *pairs: str) -> None:
        """``sbwatch sim ctl KIND PAIRS --url``, run in this process; must succeed."""
        done = run_main("sim", "ctl", kind, *pairs, "--url", self.url)
        assert 0 == done.returncode, done.stderr

    def event(self, **event: Any) -> None:
        """Post one event to the control API directly (faster than ``ctl``)."""
        response = httpx.post(f"{self.url}/_sim/events", json=event, timeout=5)
        assert response.is_success, response.text


def start_sim(
    directory: Path, *, token: str = SIM_TOKEN, service_key: str = SIM_SERVICE_KEY
) -> Sim:
    """Start the simulator on a free port with two micro projects; wait until it listens."""
    path = directory / "sim.toml"
    path.write_text(
        f'port = 0\ntoken = "{token}"\nservice_key = "{service_key}"\n'
        "resize_seconds = 2\n"
        # Metrics at once, not once a minute: these tests run in seconds, not about sampling.
        "metrics_update_s = 0\n"
        f'[[projects]]\nref = "{REF}"\ntier = "micro"\n'
        f'[[projects]]\nref = "{OTHER_REF}"\ntier = "micro"\n',
        encoding="utf-8",
    )
    return launch_sim(path, directory)


def launch_sim(path: Path, directory: Path) -> Sim:
    """``sbwatch sim serve --config path``; wait until it listens."""
    env = child_env(XDG_RUNTIME_DIR=str(directory))  # its URL file stays in the test's directory
    proc = Proc("sim", sbwatch_argv("sim", "serve", "--config", str(path)), directory, env)
    try:

        def listening() -> int | None:
            assert proc.alive(), proc.stderr
            found = re.search(r"Management API: http://127\.0\.0\.1:(\d+)/", proc.stdout)
            return int(found.group(1)) if found else None

        port = wait_for("the simulator to listen", listening)
    except BaseException:
        proc.close()
        raise
    return Sim(proc, port)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    """A simulator subprocess, stopped after the test."""
    running = start_sim(tmp_path)
    try:
        yield running
    finally:
        running.proc.close()


@dataclass
class ConfigParts:
    """The knobs of a daemon configuration file written by :func:`daemon_config`."""

    mgmt_token: str = SIM_TOKEN
    service_key: str = SIM_SERVICE_KEY
    db_dsn: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    interval: str = "1s"
    slow_interval: str = "2s"
    extra: str = ""
    """TOML appended at the end (more tables, e.g. [[alerting.routes]])."""
    alerting: str = 'min_duration = "0s"\nresolve_after = "2s"\n'
    projects_extra: str = ""
    """TOML appended after the first project (e.g. a second [[projects]])."""


def daemon_config(sim: Sim, directory: Path, metrics_port: int, parts: ConfigParts) -> str:
    """A daemon configuration for the simulator: short intervals, JSON debug logs, sqlite."""
    base = sim.url
    return f"""log_level = "debug"
log_format = "json"
mgmt_api_url = "{base}"
mgmt_token = "{parts.mgmt_token}"

[status_page]
url = "{base}/status"
interval = "{parts.slow_interval}"

[state]
path = "{directory / "state.db"}"

[metrics]
port = {metrics_port}

[alerting]
{parts.alerting}
[[projects]]
ref = "{REF}"
name = "shop"
tier = "micro"
url = "{base}/p/{REF}"
service_key = "{parts.service_key}"
db_dsn = "{parts.db_dsn}"
probes.rest = {{ interval = "{parts.interval}" }}
probes.auth = {{ interval = "{parts.interval}" }}
probes.db = {{ interval = "{parts.interval}" }}
probes.mgmt_health = {{ interval = "{parts.slow_interval}" }}
probes.metrics = {{ interval = "{parts.slow_interval}" }}
{parts.projects_extra}
{parts.extra}"""


def sample_in(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of a metrics page's text, None when absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            return float(value)
    return None


@dataclass
class Daemon:
    """A running ``sbwatch run`` and what it was started with."""

    proc: Proc
    config: Path
    metrics_port: int
    metrics_host: str = "127.0.0.1"

    def wait_serving(self, deadline_s: float = START_DEADLINE_S) -> None:
        """Wait until the metrics endpoint answers; fail at once if the daemon exits."""

        def serving() -> bool:
            proc = self.proc
            assert proc.alive(), f"daemon exited: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            return "sbwatch_build_info" in self.metrics_text()

        wait_for("the daemon's metrics endpoint", serving, deadline_s)

    def metrics_text(self) -> str:
        """The /metrics page ('' when it does not answer)."""
        url = f"http://{self.metrics_host}:{self.metrics_port}/metrics"
        try:
            response = httpx.get(url, timeout=2)
        except httpx.HTTPError:
            return ""
        return response.text if response.status_code == 200 else ""

    def sample(self, name: str, **labels: str) -> float | None:
        """The value of one sample of the metrics page, None when absent."""
        return sample_in(self.metrics_text(), name, **labels)

    def status(self, *extra: str) -> Ran:
        """``sbwatch --config X status EXTRA``, run in this process (tests poll it: a process
        a poll would cost a second of CPU; test_daemon.py runs it once as a process)."""
        return run_main("--config", self.config, "status", *extra)

    def events(self, event: str) -> list[dict[str, Any]]:
        """The JSON log lines with this event name."""
        return [e for e in self.proc.log_events() if e.get("event") == event]


@dataclass
class DaemonFactory:
    """Starts daemons in one directory; closes every one of them at the end."""

    directory: Path
    started: list[Proc] = field(default_factory=list)

    def start(
        self,
        text: str,
        metrics_port: int,
        env: dict[str, str] | None = None,
        *,
        name: str = "config",
        wrap: tuple[str, ...] = (),
        wait: bool = True,
    ) -> Daemon:
        """Write the config (``NAME.toml``) and start ``sbwatch --config X run`` (behind the
        ``wrap`` command, e.g. ``ip netns exec NS``); wait until metrics answer (``wait``)."""
        config = self.directory / f"{name}.toml"
        config.write_text(text, encoding="utf-8")
        argv = [*wrap, *sbwatch_argv("--config", str(config), "run")]
        proc = Proc(f"daemon{len(self.started)}", argv, self.directory, env or child_env())
        self.started.append(proc)
        daemon = Daemon(proc, config, metrics_port)
        if wait:
            daemon.wait_serving()
        return daemon

    def close(self) -> None:
        """Stop every daemon started."""
        for proc in self.started:
            proc.close()


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[DaemonFactory]:
    """Start daemons with ``daemons.start(config_text, port)``; all stopped after the test."""
    factory = DaemonFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.close()


@dataclass
class Receiver:
    """A local HTTP endpoint recording every request (an apprise json:// target)."""

    server: ThreadingHTTPServer
    requests: list[dict[str, Any]]
    status: list[int]

    @property
    def port(self) -> int:
        """Its port on 127.0.0.1."""
        port: int = self.server.server_address[1]
        return port

    def route(self, name: str = "phone") -> str:
        """An [[alerting.routes]] table posting JSON notifications here."""
        return f'[[alerting.routes]]\nname = "{name}"\nurl = "json://127.0.0.1:{self.port}/hook"\n'

    def titles(self) -> list[str]:
        """Titles of the JSON notifications received so far."""
        return [str(r["json"].get("title", "")) for r in list(self.requests) if r["json"]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP receiver on a thread, answering ``receiver.status[0]`` (200 by default)."""
    with receiving() as running:
        yield running


@contextlib.contextmanager
def receiving() -> Iterator[Receiver]:
    """The :func:`receiver` fixture's receiver, for a fixture of a wider scope."""
    requests: list[dict[str, Any]] = []
    status = [200]

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            requests.append(
                {"method": self.command, "path": self.path, "json": body, "status": status[0]}
            )
            self.send_response(status[0])
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = _record
        do_GET = _record

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="receiver", daemon=True)
    thread.start()
    try:
        yield Receiver(server, requests, status)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class FakeImap:
    """A loopback IMAP server that refuses every login and records the LOGIN lines."""

    server: socketserver.ThreadingTCPServer
    logins: list[str]

    @property
    def port(self) -> int:
        """Its port on 127.0.0.1."""
        port: int = self.server.server_address[1]
        return port


@pytest.fixture
def fake_imap() -> Iterator[FakeImap]:
    """An IMAP server answering LOGIN with NO [AUTHENTICATIONFAILED]; stopped after the test."""
    logins: list[str] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n")
            for raw in self.rfile:
                tag, _, rest = raw.decode("utf-8", "replace").strip().partition(" ")
                command = rest.split(" ", 1)[0].upper()
                if command == "CAPABILITY":
                    self.wfile.write(f"* CAPABILITY IMAP4rev1 IDLE\r\n{tag} OK done\r\n".encode())
                elif command == "LOGIN":
                    logins.append(rest)
                    self.wfile.write(f"{tag} NO [AUTHENTICATIONFAILED] failed\r\n".encode())
                elif command == "LOGOUT":
                    self.wfile.write(f"* BYE\r\n{tag} OK bye\r\n".encode())
                    return
                else:
                    self.wfile.write(f"{tag} BAD unknown\r\n".encode())

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="imap", daemon=True)
    thread.start()
    try:
        yield FakeImap(server, logins)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
