"""Two daemons on one PostgreSQL store: one leads, a standby takes over a killed leader, and
across 6 consecutive failovers no PATCH and no notification is doubled or lost."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from .conftest import Daemon, DaemonFactory, Receiver, Sim, free_port
from .ha_support import (
    TAKEOVER_S,
    ParkedProc,
    Reach,
    fresh_database,
    ha_config,
    leading,
    query,
    sent_messages,
    sim_stats,
    start_escalation_sim,
    unsent,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FAILOVERS = 6
"""Each instance takes over three times: the first failover falls mid-escalation, one with the
outbox full, the rest plain; more repeat the same shapes (20 took three times as long)."""
OUTBOX_FULL_AT = 3
STARTUP_S = 40.0


class Pair:
    """Instances ``a`` and ``b`` on one store; restarts keep each one's name and port."""

    def __init__(self, daemons: DaemonFactory, reach: Reach, sim: Sim) -> None:
        self.daemons = daemons
        self.sim = sim
        self.reach = reach
        self.ports = {"a": free_port(), "b": free_port()}
        self.running = {name: self.start(name) for name in self.ports}
        self.parked = {name: self.park(name) for name in self.ports}
        for daemon in self.running.values():
            daemon.wait_serving(STARTUP_S)
        self.restarts = 0

    def start(self, name: str) -> Daemon:
        """Start one instance without waiting for it."""
        port = self.ports[name]
        text = ha_config(name, self.reach, port)
        return self.daemons.start(text, port, name=name, wait=False)

    def park(self, name: str) -> ParkedProc:
        """The next incarnation of one instance, imported and waiting."""
        config = self.daemons.directory / f"{name}.toml"
        number = len(self.daemons.started)
        proc = ParkedProc(f"daemon{number}-{name}", config, self.daemons.directory)
        self.daemons.started.append(proc)
        return proc

    def restart(self, name: str) -> Daemon:
        """Start the parked incarnation of one instance (and park the next one later)."""
        proc = self.parked[name]
        proc.go()
        return Daemon(proc, self.daemons.directory / f"{name}.toml", self.ports[name])

    def leader(self) -> str:
        """The one instance leading while the other stands by (waits for that)."""

        def one() -> str | None:
            seen = {name: leading(d) for name, d in self.running.items()}
            leaders = [name for name, value in seen.items() if value == 1.0]
            standbys = [name for name, value in seen.items() if value == 0.0]
            return leaders[0] if (len(leaders), len(standbys)) == (1, 1) else None

        return wait_for("exactly one leader", one, STARTUP_S)

    def kill(self, name: str) -> float:
        """kill -9 one instance; the monotonic time of the kill."""
        killed = self.running[name].proc
        at = time.monotonic()
        killed.signal(signal.SIGKILL)
        killed.wait(10)
        return at

    def fail_over(self, leader: str) -> tuple[str, float]:
        """kill -9 the leader and restart it; the other leads: its name and how soon."""
        return self.fail_over_killed(leader, self.kill(leader))

    def fail_over_killed(self, leader: str, started: float) -> tuple[str, float]:
        """The other leads: its name and how soon after the kill; then the killed one restarts.

        It restarts only once the other leads: an instance started again under its own name
        takes back its own lease at once (a new epoch fences the dead incarnation), which is a
        restart, not the failover this measures."""
        other = "b" if leader == "a" else "a"
        wait_for(f"{other} to lead", lambda: leading(self.running[other]) == 1.0, TAKEOVER_S)
        took = time.monotonic() - started
        self.running[leader] = self.restart(leader)
        self.parked[leader] = self.park(leader)  # its imports overlap what follows
        self.running[leader].wait_serving(STARTUP_S)
        assert self.leader() == other
        return other, took


def test_repeated_failovers_double_no_patch_and_no_notification(
    tmp_path: Path, daemons: DaemonFactory, receiver: Receiver
) -> None:
    """kill -9 of the leader, 6 times (once mid-escalation, once with the outbox full): the
    standby leads within lease + renew_every, one PATCH in all, each message delivered once."""
    sim = start_escalation_sim(tmp_path, resize_s=6)
    try:
        with fresh_database() as dsn:
            try:
                reach = Reach(sim.url, f"127.0.0.1:{receiver.port}", dsn)
                pair = Pair(daemons, reach, sim)
                took = run_failovers(pair, receiver, dsn)
                settle(dsn, receiver)
                stats = sim_stats(sim)
                epoch = int(query(dsn, "SELECT epoch FROM ha_lease")[0]["epoch"])
            finally:
                daemons.close()
    finally:
        sim.proc.close()
    assert (1, 1) == (stats["patch_attempts"], stats["patch_calls"])
    # One takeover a failover at least; a machine so loaded that a renewal came late may add
    # one, which is safe (the fence) and must not double anything below.
    assert epoch >= 1 + FAILOVERS
    assert max(took) < TAKEOVER_S
    delivered = delivered_messages(receiver)
    assert [] == [m for m, n in Counter(delivered).items() if n > 1]
    titles = [title for title, _ in delivered]
    assert 1 == sum("raising compute micro -> small" in t for t in titles), titles
    assert 1 == sum("recovered on small" in t for t in titles), titles


def run_failovers(pair: Pair, receiver: Receiver, dsn: str) -> list[float]:
    """The failovers: the first while the escalation is under way, one with a full outbox."""
    leader = pair.leader()
    pair.sim.event(kind="workload", read_mbps=100)  # drains the budget: an escalation follows
    wait_for("the PATCH", lambda: sim_stats(pair.sim)["patch_attempts"] >= 1, STARTUP_S)
    assert ["recovered"] != intent_states(dsn), "the escalation finished before the first failover"
    times = []
    for number in range(FAILOVERS):
        if number == OUTBOX_FULL_AT:
            leader, took = fail_over_with_full_outbox(pair, leader, receiver, dsn)
        else:
            leader, took = pair.fail_over(leader)
        times.append(took)
    return times


def fail_over_with_full_outbox(
    pair: Pair, leader: str, receiver: Receiver, dsn: str
) -> tuple[str, float]:
    """The receiver refuses (500) while an alert is raised; kill the leader with it owed.

    It waits for the escalation to be over first: during the resize a failing REST is the
    resize's (no page of its own), after it REST down is its own outage, paged at once."""
    wait_for("the escalation to recover", lambda: intent_states(dsn) == ["recovered"], 60)
    receiver.status[0] = 500
    pair.sim.event(kind="service", name="rest", up=False)
    owed = "SELECT count(*) AS n FROM notifications WHERE sent_at IS NULL AND attempts > 0"
    wait_for("a refused message in the outbox", lambda: query(dsn, owed)[0]["n"] >= 1, 30)
    killed_at = pair.kill(leader)
    receiver.status[0] = 200
    pair.sim.event(kind="service", name="rest", up=True)
    return pair.fail_over_killed(leader, killed_at)


def settle(dsn: str, receiver: Receiver) -> None:
    """Wait until the escalation recovered and everything owed was delivered."""
    wait_for("the escalation to recover", lambda: intent_states(dsn) == ["recovered"], 60)
    wait_for(
        "the outbox to drain",
        lambda: unsent(dsn) == 0 and len(delivered_messages(receiver)) == len(sent_messages(dsn)),
        30,
    )
    assert sent_messages(dsn) == sorted(delivered_messages(receiver))


def intent_states(dsn: str) -> list[str]:
    """The state of each escalation intent in the store."""
    return [str(r["state"]) for r in query(dsn, "SELECT state FROM intents")]


def delivered_messages(receiver: Receiver) -> list[tuple[str, str]]:
    """(title, body) of every message the receiver accepted."""
    return [
        (str(r["json"].get("title", "")), str(r["json"].get("message", "")))
        for r in list(receiver.requests)
        if r["status"] == 200 and r["json"]
    ]
