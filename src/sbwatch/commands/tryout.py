"""``sbwatch try``: the simulator, a daemon watching it and a phone, in one terminal.

The simulator (``sbwatch sim serve``) and the daemon (``sbwatch run``) run as child processes
in their own process groups, each logging to a file in a temporary directory; the phone is an
HTTP server on a thread of this process that prints what a phone would get. Ctrl-C (SIGINT)
or SIGTERM stops the daemon, then the simulator, then the phone.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from sbwatch.commands import HELPS
from sbwatch.commands.sim import URL_ENV, url_file
from sbwatch.commands.tryout_config import (
    BUDGET_LEFT_PCT,
    REF,
    TIER,
    TryPlan,
    daemon_toml,
    sim_toml,
)
from sbwatch.commands.tryout_phone import Phone
from sbwatch.core.errors import PermanentError

NAME = "try"
HELP = HELPS[NAME]
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
_SIM_BANNER = re.compile(r"Management API: (http://127\.0\.0\.1:\d+)/")


def configure(parser: argparse.ArgumentParser) -> None:
    """``--fast`` and ``--keep``."""
    parser.add_argument(
        "--fast",
        action="store_true",
        help="probe every few seconds instead of the product defaults (REST and auth every "
        "30 s, metrics and the Management API every minute), and resolve alerts after 10 s",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary directory (configuration, state, logs) after stopping",
    )


@dataclass
class Child:
    """A child process with its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 15) -> str:
        """The end of its log."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; its exit code."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                return self.popen.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        return self.popen.wait(STOP_TIMEOUT_S)


@dataclass
class Session:
    """Everything ``sbwatch try`` started, stopped in reverse order."""

    directory: Path
    say: Callable[[str], None]
    stopping: list[bool] = field(default_factory=lambda: [False])
    children: list[Child] = field(default_factory=list)

    def spawn(self, name: str, *args: str) -> Child:
        """Start ``sbwatch ARGS`` with its output in ``DIR/NAME.log``, in its own process group."""
        log = self.directory / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SBWATCH_")}
        env["PYTHONUNBUFFERED"] = "1"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "sbwatch", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.directory,
                process_group=0,  # Ctrl-C reaches only `try`, which stops them in order
            )
        child = Child(name, popen, log)
        self.children.append(child)
        return child

    def wait_for(self, what: str, child: Child, check: Callable[[], str | None]) -> str:
        """Poll ``check`` until it answers; PermanentError when the child dies or time runs out."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.stopping[0]:
            found = check()
            if found:
                return found
            if child.popen.poll() is not None:
                raise PermanentError(f"the {child.name} stopped while starting:\n{child.tail()}")
            if time.monotonic() > deadline:
                raise PermanentError(f"no {what} after {START_TIMEOUT_S:.0f} s:\n{child.tail()}")
            time.sleep(0.1)
        raise PermanentError("interrupted while starting")

    def stop(self) -> bool:
        """Stop every child, newest first; whether each exited cleanly."""
        codes = [child.stop() for child in reversed(self.children)]
        return all(code == 0 for code in codes)


def run(args: argparse.Namespace) -> int:
    """Start all three, print the guide, wait for Ctrl-C; exit 0 after a clean stop."""
    if args.config is not None:
        print("sbwatch try writes its own configuration; --config is not used", file=sys.stderr)
        return 2
    directory = Path(tempfile.mkdtemp(prefix="sbwatch-try-"))
    session = Session(directory, _say)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        session.stopping[0] = True

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    phone = Phone(_say)
    clean = True
    try:
        _start(session, phone, fast=args.fast)
        while not session.stopping[0]:
            dead = [c for c in session.children if c.popen.poll() is not None]
            if dead:
                print(f"\nthe {dead[0].name} stopped:\n{dead[0].tail()}", file=sys.stderr)
                clean = False
                break
            time.sleep(0.2)
    except PermanentError as exc:
        if not session.stopping[0]:
            print(f"sbwatch try: {exc}", file=sys.stderr)
            clean = False
    finally:
        _say("\nstopping the daemon, the simulator and the phone ...")
        clean = session.stop() and clean
        phone.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if args.keep or not clean:
            _say(f"kept {directory} (configuration, state and logs)")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    _say("stopped" if clean else "stopped, not cleanly")
    return 0 if clean else 1


def _say(line: str) -> None:
    """Print a line; once the reader is gone (``sbwatch try | tee log`` after Ctrl-C, which
    stops ``tee`` too), stop printing and carry on: the children must still be stopped."""
    try:
        print(line, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def command() -> str:
    """How another terminal runs this sbwatch: ``sbwatch`` when that is this one on PATH,
    else the full path of the one beside this interpreter (``make try`` puts none on PATH)."""
    beside = Path(sys.executable).parent / "sbwatch"
    found = shutil.which("sbwatch")
    if found is not None and beside.exists() and Path(found).resolve() == beside.resolve():
        return "sbwatch"
    return str(beside) if beside.exists() else f"{sys.executable} -m sbwatch"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(session: Session, phone: Phone, *, fast: bool) -> None:
    """Simulator, its true budget level, the daemon's configuration, the daemon, the phone."""
    directory = session.directory
    (directory / "sim.toml").write_text(sim_toml(port=0), encoding="utf-8")
    sim = session.spawn("simulator", "sim", "serve", "--config", "sim.toml")
    sim_url = session.wait_for("simulator", sim, lambda: _banner(sim))
    consumed = _consumed_pct(sim_url)
    plan = TryPlan(
        sim_url=sim_url,
        phone_port=phone.port,
        metrics_port=_free_port(),
        state_path=directory / "state.db",
        consumed_pct=consumed,
        fast=fast,
    )
    config = directory / "sbwatch.toml"
    config.write_text(daemon_toml(plan), encoding="utf-8")
    phone.start()
    daemon = session.spawn("daemon", "--config", str(config), "run")
    page = f"http://127.0.0.1:{plan.metrics_port}/"
    session.wait_for("daemon (its status page)", daemon, lambda: _answers(page))
    _say(guide(sim_url, config, page, session, plan))


def _banner(sim: Child) -> str | None:
    found = _SIM_BANNER.search(sim.log.read_text(encoding="utf-8", errors="replace"))
    return found.group(1) if found else None


def _consumed_pct(sim_url: str) -> float:
    """The simulated project's true '% consumed' now, from the simulator's truth endpoint."""
    try:
        truth = httpx.get(f"{sim_url}/_sim/truth/{REF}", timeout=10).json()
        return round((1.0 - float(truth["budget_ratio"])) * 100.0, 1)
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return round(100.0 - BUDGET_LEFT_PCT, 1)


def _answers(url: str) -> str | None:
    try:
        return url if httpx.get(url, timeout=2).status_code == 200 else None
    except httpx.HTTPError:
        return None


TRIES: tuple[tuple[str, str], ...] = (
    ("service name=rest up=false", "REST goes down: a critical alert"),
    ("service name=rest up=true", "it comes back: the alert resolves"),
    ("platform_outage on=true", "the provider fails everywhere (on=false ends it) ..."),
    ("status_page indicator=major", '... and says so: "not your project" (indicator=none)'),
    ("workload read_mbps=200", "a burst drains the IO budget: the forecast, then the size"),
    ("workload read_mbps=5", "back to a light load"),
    ("mgmt_api fault=rate_limit", "the Management API answers 429 (error, slow; none ends it)"),
    (f"truth ref={REF}", "what is really going on"),
)
"""The ``sbwatch sim ctl`` commands the guide suggests, with what each shows."""


def guide(sim_url: str, config: Path, page: str, session: Session, plan: TryPlan) -> str:
    """What is running, and what to try."""
    sbwatch = command()
    cfg = f"{sbwatch} --config {config}"
    consumed, phone_port = plan.consumed_pct, plan.phone_port
    pace = (
        "--fast: probes every 2-5 s, an alert reaches the phone within seconds"
        if plan.fast
        else "product defaults: REST and auth probed every 30 s, metrics every minute; an "
        "alert reaches the phone a minute or two after a fault ('sbwatch try --fast': seconds)"
    )
    tries = "\n".join(f"  {sbwatch} sim ctl {cmd:<32} {what}" for cmd, what in TRIES)
    resolve = "10 s (--fast)" if plan.fast else "5 minutes (resolve_after, the default)"
    logs = "\n".join(f"  {c.name + ' log':<12} {c.log}" for c in session.children)
    return f"""
sbwatch try: the simulator, a daemon watching it and a phone; Ctrl-C stops all three.

  simulator    {sim_url}  project {REF} ("shop", {TIER}, {100 - consumed:g}% IO budget left)
  daemon       {cfg} run
               {pace}
  status page  {page}  (metrics at {page}metrics)
  phone        json://127.0.0.1:{phone_port}/ prints below what a phone would get
{logs}

Try these in another terminal, as printed. 'sim ctl' finds this simulator through
{url_file()} (or: export {URL_ENV}={sim_url}).
{tries}

An alert resolves once its fault has been gone for {resolve}: until then the
phone stays quiet after a fix, which is not a hang.

What sbwatch sees, and the commands its alerts name, take this configuration:
  {cfg} status        (also: budget, alert list, escalate {REF} --to small)

The daemon's budget estimate starts from the simulator's true level ({consumed:g}% consumed,
budget.consumed_pct in its configuration); '{cfg} budget set {REF} PCT' corrects it later.
On a real project without budget.consumed_pct it starts unknown, until 'budget set' or
enough samples from the metrics endpoint pin it down.
"""
