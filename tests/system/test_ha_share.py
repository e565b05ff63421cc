"""Two daemons sharing out four projects on one PostgreSQL store: each project is probed and
alerted by one instance; kill -9 one and its projects (an open alert among them) move to the
other, and the phone hears each alert and each resolve once, in order."""

from __future__ import annotations

import signal
import string
from itertools import product
from pathlib import Path

import pytest

from sbwatch.core.lease import preferred_instance

from .conftest import (
    SIM_SERVICE_KEY,
    SIM_TOKEN,
    Daemon,
    DaemonFactory,
    Receiver,
    Sim,
    free_port,
    launch_sim,
)
from .ha_support import LEASE_S, RENEW_S, TAKEOVER_S, fresh_database, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
STARTUP_S = 40.0


def split_refs() -> dict[str, str]:
    """Four project refs, two that rendezvous hashing gives to ``a`` and two to ``b``."""
    chosen: dict[str, str] = {}
    for letters in product(string.ascii_lowercase, repeat=2):
        ref = "".join(letters) * 10
        owner = preferred_instance(ref, ["a", "b"])
        assert owner is not None
        if sum(1 for o in chosen.values() if o == owner) < 2:
            chosen[ref] = owner
        if len(chosen) == 4:
            return chosen
    raise AssertionError("no split found")


REFS = split_refs()
NAMES = {ref: f"shop{n}" for n, ref in enumerate(REFS)}


def start_sim(directory: Path) -> Sim:
    path = directory / "sim.toml"
    projects = "".join(f'[[projects]]\nref = "{ref}"\ntier = "micro"\n' for ref in REFS)
    path.write_text(
        f'port = 0\ntoken = "{SIM_TOKEN}"\nservice_key = "{SIM_SERVICE_KEY}"\n'
        f"metrics_update_s = 0\n{projects}",
        encoding="utf-8",
    )
    return launch_sim(path, directory)


def config(name: str, sim: Sim, receiver: Receiver, dsn: str, port: int) -> str:
    """One instance sharing the four projects: REST and auth probes every second, the
    Management API's health every two."""
    projects = "".join(
        f'[[projects]]\nref = "{ref}"\nname = "{NAMES[ref]}"\ntier = "micro"\n'
        f'url = "{sim.url}/p/{ref}"\nservice_key = "{SIM_SERVICE_KEY}"\n'
        'probes.rest = { interval = "1s", failures_before_down = 2, timeout = "2s" }\n'
        'probes.auth = { interval = "1s", failures_before_down = 2, timeout = "2s" }\n'
        'probes.mgmt_health = { interval = "2s", timeout = "2s" }\n'
        for ref in REFS
    )
    return f"""log_level = "info"
log_format = "json"
mgmt_api_url = "{sim.url}"
mgmt_token = "{SIM_TOKEN}"
[status_page]
url = "{sim.url}/status"
interval = "2s"
[state]
backend = "postgres"
dsn = "{dsn}"
[metrics]
port = {port}
[ha]
enabled = true
instance = "{name}"
lease = "{LEASE_S}s"
renew_every = "{RENEW_S}s"
share_projects = true
[alerting]
min_duration = "0s"
resolve_after = "2s"
retry_max = "1s"
{receiver.route()}
{projects}"""


def probed_here(daemon: Daemon) -> set[str]:
    """The projects whose REST probe state this instance exports."""
    return {ref for ref in REFS if daemon.sample("sbwatch_probe_up", project=ref) is not None}


def shop_titles(receiver: Receiver) -> list[str]:
    """Titles of the messages about the projects, in the order the phone got them."""
    return [t for t in receiver.titles() if "shop" in t]


def test_shared_projects_move_once_when_an_instance_dies(
    tmp_path: Path, daemons: DaemonFactory, receiver: Receiver
) -> None:
    """Each instance probes its two projects; after kill -9 of ``a`` its projects, one with an
    open alert, move to ``b`` within lease + renew_every; one alert and one resolve each."""
    sim = start_sim(tmp_path)
    try:
        with fresh_database() as dsn:
            try:
                run(tmp_path, daemons, receiver, sim, dsn)
            finally:
                daemons.close()
    finally:
        sim.proc.close()


def run(tmp_path: Path, daemons: DaemonFactory, receiver: Receiver, sim: Sim, dsn: str) -> None:
    ports = {"a": free_port(), "b": free_port()}
    running = {
        name: daemons.start(config(name, sim, receiver, dsn, port), port, name=name, wait=False)
        for name, port in ports.items()
    }
    for daemon in running.values():
        daemon.wait_serving(STARTUP_S)
    a, b = running["a"], running["b"]
    mine = {name: {ref for ref, o in REFS.items() if o == name} for name in ports}
    seen: list[tuple[set[str], set[str]]] = []

    def split() -> bool:
        seen.append((probed_here(a), probed_here(b)))
        return seen[-1] == (mine["a"], mine["b"])

    try:
        wait_for("each instance to probe its own projects", split, STARTUP_S)
    except AssertionError:
        raise AssertionError(
            f"expected {mine}, saw {seen[-3:]}; a: {_ha_log(a)}; b: {_ha_log(b)}"
        ) from None
    assert (2.0, 2.0) == (a.sample("sbwatch_ha_projects"), b.sample("sbwatch_ha_projects"))

    # A project just taken on reads "unknown" until its first evaluation: nothing is wrong.
    def all_healthy() -> bool:
        status = a.status()
        lines = status.stdout.splitlines()
        led = [f"({ref}): healthy [led by {owner}]" for ref, owner in REFS.items()]
        return status.returncode == 0 and all(any(w in line for line in lines) for w in led)

    wait_for("every project healthy, led by its own instance", all_healthy, 15)
    status = a.status()
    assert 0 == status.returncode, status.stdout + str(receiver.titles())
    lines = status.stdout.splitlines()
    for ref, owner in REFS.items():
        assert [line for line in lines if f"({ref}): healthy [led by {owner}]" in line], lines
    for name in ports:
        assert [line for line in lines if f"instance {name}:" in line and "leads 2" in line]

    x, y = sorted(mine["a"])
    sim.event(kind="service", name="rest", up=False, ref=x)
    wait_for("x's alert", lambda: [t for t in shop_titles(receiver) if "rest is down" in t], 30)
    # Killed once the delivery is recorded: a kill between a delivery and its record sends the
    # page again from the outbox (at least once, never lost), which is not this test's case.
    wait_for("a to record the delivery", lambda: a.events("notification sent"), 10)

    killed_at_titles = len(shop_titles(receiver))
    a.proc.signal(signal.SIGKILL)
    a.proc.wait(10)
    wait_for("b to lead all four", lambda: b.sample("sbwatch_ha_projects") == 4.0, TAKEOVER_S)
    wait_for("b to probe all four", lambda: probed_here(b) == set(REFS), 10)

    sim.event(kind="service", name="rest", up=True, ref=x)
    wait_for("x's resolve", lambda: [t for t in shop_titles(receiver) if "RESOLVED" in t], 30)
    sim.event(kind="service", name="rest", up=False, ref=y)
    wait_for(
        "y's alert",
        lambda: [t for t in shop_titles(receiver) if f"{NAMES[y]}: rest is down" in t],
        30,
    )
    sim.event(kind="service", name="rest", up=True, ref=y)
    wait_for("y's resolve", lambda: len(shop_titles(receiver)) >= 4, 30)

    titles = shop_titles(receiver)
    assert 1 == killed_at_titles, titles
    assert [
        f"CRITICAL {NAMES[x]}: rest is down",
        f"RESOLVED {NAMES[x]}: rest is down",
        f"CRITICAL {NAMES[y]}: rest is down",
        f"RESOLVED {NAMES[y]}: rest is down",
    ] == [_head(t) for t in titles], titles
    assert not [e for e in b.events("notification left to the leader")]


def _ha_log(daemon: Daemon) -> list[str]:
    """The instance's warnings and errors, for a failure's message."""
    lines = [
        e
        for e in daemon.proc.log_events()
        if e.get("level") in ("warning", "error")
        or e.get("component") == "ha"
        or "lead" in str(e.get("event"))
    ]
    return [str(e) for e in lines[-25:]]


def _head(title: str) -> str:
    """A title up to its first " (": the part that names the project and what is wrong."""
    return title.split(" (")[0]
