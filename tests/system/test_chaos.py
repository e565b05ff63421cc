"""Chaos: a daemon watches the simulator through a REST outage and a budget drain while a
harness, on a seeded schedule, kills it (SIGKILL) and restarts it, restarts Dovecot, stops the
state store's PostgreSQL and makes the phone refuse. At the end the phone holds each message
once, the simulator saw one PATCH, and every email that arrived was ingested.

``SBWATCH_CHAOS_SECONDS`` sets the length of the schedule (100 s by default, the shortest
that holds every fault at least twice: three kills, two Dovecot restarts, two spells of a
refusing phone; ``make fuzz`` runs ten minutes), ``SBWATCH_CHAOS_SEED`` its seed. The whole
test is bounded: the schedule (each restart waiting at most ``START_DEADLINE_S``), then at most
``SETTLE_S`` for the world to settle.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.mail.conftest import PASSWORD, Dovecot

from sbwatch.sim.emails import build_email

from .chaos_support import (
    Places,
    PrivatePostgres,
    Step,
    chaos_config,
    postgres_bin,
    schedule,
)
from .conftest import (
    REF,
    START_DEADLINE_S,
    Daemon,
    DaemonFactory,
    Receiver,
    Sim,
    free_port,
)
from .ha_support import query, sent_messages, sim_stats, start_escalation_sim, unsent, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LENGTH_S = float(os.environ.get("SBWATCH_CHAOS_SECONDS", "100"))
SEED = int(os.environ.get("SBWATCH_CHAOS_SEED", "29"))
SETTLE_S = 240.0
"""After the schedule: the escalation recovers and the outbox drains within this."""
QUIET_CYCLES = 20
"""Probe runs watched after everything settled: nothing more is said twice meanwhile."""


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this test's own, removed afterwards."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("Debian's PostgreSQL server binaries are not installed")
    cluster = PrivatePostgres(bindir)
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A private Dovecot, stopped afterwards."""
    # Not under tmp_path: Dovecot's own processes (user dovecot) must reach the directory.
    server = Dovecot(Path(tempfile.mkdtemp(prefix="sbwatch-chaos-dovecot-")))
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


class Harness:
    """The world and the daemon, and the faults done to them (see ``chaos_support.schedule``)."""

    def __init__(
        self,
        daemons: DaemonFactory,
        sim: Sim,
        phone: Receiver,
        postgres: PrivatePostgres,
        dovecot: Dovecot,
    ) -> None:
        self.daemons = daemons
        self.sim = sim
        self.phone = phone
        self.postgres = postgres
        self.dovecot = dovecot
        self.user = dovecot.add_user()
        self.port = free_port()
        places = Places(
            sim.url, f"127.0.0.1:{phone.port}", postgres.dsn, dovecot.port, self.user, PASSWORD
        )
        self.config = chaos_config(places, self.port)
        self.daemon: Daemon | None = None
        self.incarnations: list[Daemon] = []
        self.mailed: list[str] = []
        """Message-IDs of the emails appended."""

    def start(self) -> None:
        """Start a daemon and wait until it serves."""
        daemon = self.daemons.start(self.config, self.port, wait=False)
        daemon.wait_serving()
        self.daemon = daemon
        self.incarnations.append(daemon)

    def alive(self) -> bool:
        """A daemon is running."""
        return self.daemon is not None and self.daemon.proc.alive()

    def do(self, step: Step) -> None:
        """One step of the schedule."""
        getattr(self, f"_{step.action}")(step.detail)

    def _kill(self, _: str) -> None:
        if self.daemon is not None and self.daemon.proc.alive():
            self.daemon.proc.signal(signal.SIGKILL)
            self.daemon.proc.wait(10)

    def _restart(self, _: str) -> None:
        if not self.alive():
            self.start()

    def _dovecot(self, _: str) -> None:
        self.dovecot.stop()
        self.dovecot.start()

    def _phone_off(self, _: str) -> None:
        self.phone.status[0] = 503

    def _phone_on(self, _: str) -> None:
        self.phone.status[0] = 200

    def _store_off(self, _: str) -> None:
        self._restart("")  # the outage is seen by a running daemon
        self.postgres.stop()

    def _store_on(self, _: str) -> None:
        self.postgres.start()
        daemon = self.daemon
        assert daemon is not None
        assert daemon.proc.alive()
        # What the daemon held in memory dies with a SIGKILL: the schedule goes on once the
        # daemon has written it (its gauge says so after the writes held).
        wait_for(
            "the store back", lambda: daemon.sample("sbwatch_store_up") == 1.0, START_DEADLINE_S
        )

    def _rest_off(self, _: str) -> None:
        self.sim.event(kind="service", name="rest", up=False, ref=REF)

    def _rest_on(self, _: str) -> None:
        self.sim.event(kind="service", name="rest", up=True, ref=REF)

    def _drain(self, _: str) -> None:
        self.sim.event(kind="workload", read_mbps=100, write_mbps=0, ref=REF)

    def _mail(self, template: str) -> None:
        raw = build_email(template, REF, at=datetime.now(UTC))
        self.dovecot.append(self.user, [raw])
        found = [line for line in raw.split(b"\r\n") if line.lower().startswith(b"message-id:")]
        self.mailed.append(found[0].split(b":", 1)[1].strip().decode())


def test_chaos_loses_nothing_and_doubles_nothing(
    tmp_path: Path,
    daemons: DaemonFactory,
    receiver: Receiver,
    postgres: PrivatePostgres,
    dovecot: Dovecot,
) -> None:
    """Under the seeded schedule of faults: one PATCH, each message delivered once (the REST
    outage's CRITICAL and its resolve, the store's warning and its resolve, the escalation and
    its recovery), the REST outage recorded as an incident, and every email ingested."""
    world, steps = schedule(LENGTH_S, SEED)
    sim = start_escalation_sim(tmp_path, resize_s=4)
    try:
        harness = Harness(daemons, sim, receiver, postgres, dovecot)
        harness.start()
        began = time.monotonic()
        for step in steps:
            time.sleep(max(0.0, began + step.at - time.monotonic()))  # the schedule's pace
            harness.do(step)
        harness.phone.status[0] = 200
        harness._restart("")
        settle(harness, postgres.dsn)
        stats = sim_stats(sim)
    finally:
        daemons.close()
        sim.proc.close()
    assert world.rest_off < world.rest_on < world.store_on  # the REST outage inside the store's
    assert (1, 1) == (stats["patch_attempts"], stats["patch_calls"])
    delivered = delivered_messages(receiver)
    assert [] == [m for m, n in Counter(delivered).items() if n > 1], "a message said twice"
    titles = [title for title, _ in delivered]
    for said_once in (
        "CRITICAL shop: rest is down",
        "RESOLVED shop: rest is down",
        "WARNING sbwatch: state store unavailable",
        "RESOLVED sbwatch: state store unavailable",
        "raising compute micro -> small",
        "recovered on small",
    ):
        assert 1 == sum(said_once in t for t in titles), (said_once, titles)
    causes = [r["cause"] for r in query(postgres.dsn, "SELECT cause FROM incidents")]
    assert any("rest is down" in c for c in causes), causes
    for daemon in harness.incarnations:
        assert "Traceback" not in daemon.proc.stderr, daemon.proc.stderr[-3000:]
        assert [] == daemon.events("job failed"), "a fault is said once, not by every job"


def settle(harness: Harness, dsn: str) -> None:
    """Wait until the escalation recovered, every email was ingested, the outbox drained, and
    then ``QUIET_CYCLES`` more probe runs (anything said twice would be said by then)."""
    deadline = time.monotonic() + SETTLE_S

    def left() -> float:
        return max(1.0, deadline - time.monotonic())

    wait_for(
        "the escalation to recover",
        lambda: [r["state"] for r in query(dsn, "SELECT state FROM intents")] == ["recovered"],
        left(),
    )
    harness.sim.event(kind="workload", read_mbps=0, write_mbps=0, ref=REF)
    wait_for("every email ingested", lambda: ingested(dsn, harness.mailed), left())
    wait_for(
        "the outbox to drain",
        lambda: (
            unsent(dsn) == 0 and sorted(delivered_messages(harness.phone)) == sent_messages(dsn)
        ),
        left(),
    )
    daemon = harness.daemon
    assert daemon is not None
    runs = len(daemon.events("probe finished"))
    wait_for(
        "more probe runs",
        lambda: len(daemon.events("probe finished")) >= runs + QUIET_CYCLES,
        left(),
    )
    wait_for(
        "the outbox to drain again",
        lambda: (
            unsent(dsn) == 0 and sorted(delivered_messages(harness.phone)) == sent_messages(dsn)
        ),
        left(),
    )


def ingested(dsn: str, message_ids: list[str]) -> bool:
    """Every one of these emails is in the store."""
    stored = {str(r["message_id"]) for r in query(dsn, "SELECT message_id FROM emails")}
    return set(message_ids) <= stored


def delivered_messages(receiver: Receiver) -> list[tuple[str, str]]:
    """(title, body) of every message the phone accepted."""
    return [
        (str(r["json"].get("title", "")), str(r["json"].get("message", "")))
        for r in list(receiver.requests)
        if r["status"] == 200 and r["json"]
    ]
