"""A network partition between the leader and the store, in a network namespace: the standby
takes over, and once the partition heals the old leader steps down and sends nothing."""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from .conftest import REF, Daemon, DaemonFactory, Proc, Receiver, child_env, free_port
from .ha_support import (
    TAKEOVER_S,
    Reach,
    fresh_database,
    ha_config,
    leading,
    query,
    start_escalation_sim,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
HEAL_S = 30.0
"""After the partition heals, the old leader's stuck connections time out and it learns."""


@dataclass(frozen=True)
class Netns:
    """A network namespace joined to the root one by a veth pair (a /30)."""

    name: str
    host_if: str
    host_ip: str
    ns_ip: str

    def cut(self) -> None:
        """Take the root side of the veth down: nothing passes."""
        ip("link", "set", self.host_if, "down")

    def heal(self) -> None:
        """Bring it back up."""
        ip("link", "set", self.host_if, "up")


def ip(*args: str) -> None:
    """Run ``ip ARGS``; fail the test loudly when it cannot (no root, no namespaces)."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=False)
    if done.returncode != 0:
        pytest.fail(f"ip {' '.join(args)} failed: {done.stderr.strip()}")


@contextmanager
def namespace() -> Iterator[Netns]:
    """A namespace whose only way out is the veth to the root namespace; removed after."""
    tag = secrets.token_hex(3)
    octet = int(tag[:2], 16) % 250 + 1
    net = Netns(f"sbw{tag}", f"vh{tag}", f"10.231.{octet}.1", f"10.231.{octet}.2")
    try:
        ip("netns", "add", net.name)
        ip("link", "add", net.host_if, "type", "veth", "peer", "name", f"vn{tag}")
        ip("link", "set", f"vn{tag}", "netns", net.name)
        ip("addr", "add", f"{net.host_ip}/30", "dev", net.host_if)
        ip("link", "set", net.host_if, "up")
        ip("-n", net.name, "addr", "add", f"{net.ns_ip}/30", "dev", f"vn{tag}")
        ip("-n", net.name, "link", "set", f"vn{tag}", "up")
        ip("-n", net.name, "link", "set", "lo", "up")
        yield net
    finally:
        for args in (["link", "del", net.host_if], ["netns", "del", net.name]):
            subprocess.run(["ip", *args], capture_output=True, timeout=10, check=False)


def forward(directory: Path, listen: str, port: int) -> Proc:
    """socat on ``listen:port`` in the root namespace to 127.0.0.1:port; waits until it listens."""
    argv = [
        "socat",
        f"TCP-LISTEN:{port},bind={listen},fork,reuseaddr",
        f"TCP:127.0.0.1:{port}",
    ]
    proc = Proc(f"socat-{port}", argv, directory, child_env())

    def listening() -> bool:
        assert proc.alive(), proc.stderr
        with socket.socket() as sock:
            sock.settimeout(1)
            return sock.connect_ex((listen, port)) == 0

    wait_for(f"socat on {listen}:{port}", listening)
    return proc


def test_a_partitioned_leader_steps_down_and_sends_nothing(
    tmp_path: Path, daemons: DaemonFactory, receiver: Receiver
) -> None:
    """The leader in a namespace loses the store; the standby leads within the lease; after the
    heal the old leader's renewal is refused by epoch, it stands by, and sends nothing."""
    sim = start_escalation_sim(tmp_path, resize_s=2)
    forwarders: list[Proc] = []
    try:
        with fresh_database() as dsn, namespace() as net:
            try:
                for port in (5432, sim.port, receiver.port):
                    forwarders.append(forward(tmp_path, net.host_ip, port))
                run_partition(net, daemons, dsn, sim.url, receiver)
            finally:
                daemons.close()
    finally:
        for proc in forwarders:
            proc.close()
        sim.proc.close()


def run_partition(
    net: Netns, daemons: DaemonFactory, dsn: str, sim_url: str, receiver: Receiver
) -> None:
    """The partition and its heal, with what each side must (not) do."""
    inside = Reach(
        f"http://{net.host_ip}:{sim_url.rsplit(':', 1)[1]}",
        f"{net.host_ip}:{receiver.port}/ns",
        dsn.replace("127.0.0.1", net.host_ip),
        metrics_listen=net.ns_ip,
    )
    outside = Reach(sim_url, f"127.0.0.1:{receiver.port}/root", dsn)
    old = start(daemons, "a", inside, wrap=("ip", "netns", "exec", net.name))
    wait_for("the instance in the namespace to lead", lambda: leading(old) == 1.0)
    standby = start(daemons, "b", outside)
    wait_for("the standby", lambda: leading(standby) == 0.0)

    net.cut()
    cut_at = time.monotonic()
    wait_for("the standby to lead", lambda: leading(standby) == 1.0, TAKEOVER_S + 1.0)
    took = time.monotonic() - cut_at
    sent_inside = len(requests_to(receiver, "/ns/"))
    httpx_event(sim_url, up=False)  # an alert while the old leader is cut off
    paged = f"CRITICAL {REF}: rest is down"
    wait_for("the page from the new leader", lambda: paged in requests_to(receiver, "/root/"), 20)

    net.heal()
    wait_for("the old leader to answer", lambda: leading(old) is not None, HEAL_S)
    wait_for("the old leader to learn", lambda: old.events("lease lost"), HEAL_S)
    httpx_event(sim_url, up=True)
    resolved = f"RESOLVED {REF}: rest is down"
    wait_for(
        "the resolve",
        lambda: any(t.startswith(resolved) for t in requests_to(receiver, "/root/")),
        20,
    )
    assert (0.0, 1.0) == (leading(old), leading(standby))
    assert sent_inside == len(requests_to(receiver, "/ns/"))
    assert 1 <= len(old.events("stepped down"))
    assert took < TAKEOVER_S + 1.0
    stale = "SELECT count(*) AS n FROM notifications WHERE epoch = 1 AND sent_at IS NOT NULL"
    late = query(dsn, stale)[0]["n"]
    assert 0 == late - sent_inside, "the old leader sent under its stale epoch"
    lease = query(dsn, "SELECT holder, epoch FROM ha_lease")[0]
    assert ("b", 2) == (lease["holder"], lease["epoch"])


def start(daemons: DaemonFactory, name: str, reach: Reach, wrap: tuple[str, ...] = ()) -> Daemon:
    """Start one instance (in a namespace with ``wrap``) and wait until its metrics answer."""
    port = free_port()
    # A full budget: the alert under test is REST's own, with no budget warning or raise
    # beside it (the leadership is what the partition tests).
    text = ha_config(name, reach, port, consumed_pct=0)
    daemon = daemons.start(text, port, name=name, wrap=wrap, wait=False)
    daemon.metrics_host = reach.metrics_listen
    daemon.wait_serving(40)
    return daemon


def requests_to(receiver: Receiver, prefix: str) -> list[str]:
    """Titles the receiver accepted on paths starting with ``prefix``."""
    return [
        str(r["json"].get("title", ""))
        for r in list(receiver.requests)
        if r["path"].startswith(prefix) and r["status"] == 200 and r["json"]
    ]


def httpx_event(sim_url: str, *, up: bool) -> None:
    """The simulator's REST service goes down or comes back."""
    response = httpx.post(
        f"{sim_url}/_sim/events", json={"kind": "service", "name": "rest", "up": up}, timeout=5
    )
    assert response.is_success, response.text
