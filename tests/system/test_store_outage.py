"""A live daemon whose SQLite state file is locked by another process: a REST outage inside
the lock reaches the phone with its true length, after the store's own warning."""

from __future__ import annotations

import contextlib
import re
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from .conftest import (
    REF,
    ConfigParts,
    Daemon,
    DaemonFactory,
    Receiver,
    Sim,
    daemon_config,
    free_port,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REST_DOWN_S = 8.0
STORE_WARNING = "WARNING sbwatch: state store unavailable"
REST_KEY = f"{REF}:service:rest"
TRYING = "stopping with the state store away: trying it again"


def lasted_s(title: str) -> int:
    """The seconds a RESOLVED title says the problem lasted ("lasted 9s", "lasted 1m 2s")."""
    found = re.search(r"\(lasted ([^)]*)\)", title)
    assert found is not None, title
    pairs = re.findall(r"(\d+)([hms])", found.group(1))
    parts: dict[str, int] = {unit: int(n) for n, unit in pairs}
    return parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)


def test_rest_outage_while_the_state_file_is_locked_is_said_in_order(
    sim: Sim, daemons: DaemonFactory, receiver: Receiver, tmp_path: Path
) -> None:
    """The state file is locked for writing (BEGIN EXCLUSIVE in this process) while REST is
    down 8 s: the phone gets the store's warning, the CRITICAL, its RESOLVED lasting as long
    and the store's RESOLVED, each once, in that order, once the lock is let go."""
    port = free_port()
    config = daemon_config(sim, tmp_path, port, ConfigParts(extra=receiver.route()))
    daemon = daemons.start(config, port)
    wait_for("a healthy diagnosis", lambda: daemon.events("diagnosis changed"))
    assert daemon.sample("sbwatch_store_up") == 1.0

    holder = sqlite3.connect(tmp_path / "state.db", isolation_level=None, timeout=30)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        wait_for("the store said away", lambda: daemon.events("state store unavailable"))
        wait_for("the store down", lambda: daemon.sample("sbwatch_store_up") == 0.0 or None)

        sim.ctl("service", "name=rest", "up=false", f"ref={REF}")
        went_down = time.monotonic()
        wait_for("rest seen down", lambda: _rest_changed(daemon, "down"))
        seen_down = time.monotonic()
        time.sleep(max(0.0, REST_DOWN_S - (seen_down - went_down)))
        came_up = time.monotonic()
        sim.ctl("service", "name=rest", "up=true", f"ref={REF}")
        wait_for("rest seen up", lambda: _rest_changed(daemon, "up"))
        seen_up = time.monotonic()
        wait_for(
            "the resolve held",
            lambda: [e for e in daemon.events("alert recorded") if e.get("kind") == "resolve"],
        )
        assert receiver.titles() == [], "nothing leaves before the store answers"
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    def all_said() -> list[str] | None:
        titles = receiver.titles()
        return titles if len(titles) >= 4 else None

    titles = wait_for("the four messages", all_said, deadline_s=30)
    assert len(titles) == 4, titles
    assert titles[0] == STORE_WARNING
    assert titles[1].startswith("CRITICAL shop: rest is down"), titles
    assert titles[2].startswith("RESOLVED shop: rest is down (lasted "), titles
    assert titles[3].startswith("RESOLVED sbwatch: state store unavailable (lasted "), titles
    # From the first failure seen to the first success: at least what the daemon itself
    # watched down, at most what this test saw from the fault to the recovery seen.
    assert came_up - seen_down - 1 <= lasted_s(titles[2]) <= seen_up - went_down + 1, titles
    assert lasted_s(titles[3]) >= lasted_s(titles[2]), titles
    wait_for("the store up again", lambda: daemon.sample("sbwatch_store_up") == 1.0 or None)
    assert receiver.titles() == titles, "each said once"


def _rest_changed(daemon: object, to: str) -> bool | None:
    events = daemon.events("probe state changed")  # type: ignore[attr-defined]
    found = [e for e in events if e.get("probe") == "rest" and e.get("current") == to]
    return True if found else None


def lock_and_raise(sim: Sim, daemon: Daemon, state: Path) -> sqlite3.Connection:
    """Lock the state file (the connection holding it), then take REST down until the
    daemon holds its CRITICAL in memory."""
    holder = sqlite3.connect(state, isolation_level=None, timeout=30)
    holder.execute("BEGIN EXCLUSIVE")
    wait_for("the store said away", lambda: daemon.events("state store unavailable"))
    sim.ctl("service", "name=rest", "up=false", f"ref={REF}")
    wait_for(
        "the CRITICAL held",
        lambda: [e for e in daemon.events("alert recorded") if e.get("key") == REST_KEY],
    )
    return holder


def stored_alerts(state: Path) -> list[str]:
    """Keys of the alerts the state file holds."""
    with contextlib.closing(sqlite3.connect(state)) as db:
        return [str(row[0]) for row in db.execute("SELECT key FROM alerts")]


def test_a_clean_stop_during_a_store_outage_writes_what_was_held(
    sim: Sim, daemons: DaemonFactory, receiver: Receiver, tmp_path: Path
) -> None:
    """SIGTERM while the state file is locked, the lock let go right after: the daemon tries
    the store again before it exits, writes the CRITICAL it held and delivers it."""
    port = free_port()
    daemon = daemons.start(
        daemon_config(sim, tmp_path, port, ConfigParts(extra=receiver.route())), port, wait=False
    )
    daemon.wait_serving()
    wait_for("a healthy diagnosis", lambda: daemon.events("diagnosis changed"))
    holder = lock_and_raise(sim, daemon, tmp_path / "state.db")
    try:
        daemon.proc.signal(signal.SIGTERM)
        wait_for("the stop to try the store", lambda: daemon.events(TRYING))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert 0 == daemon.proc.wait(30)
    assert REST_KEY in stored_alerts(tmp_path / "state.db")
    titles = receiver.titles()
    assert 1 == sum(t.startswith("CRITICAL shop: rest is down") for t in titles), titles


def test_a_clean_stop_with_the_store_still_away_sends_what_was_held_and_says_what_is_lost(
    sim: Sim, daemons: DaemonFactory, receiver: Receiver, tmp_path: Path
) -> None:
    """SIGTERM while the state file stays locked: the held CRITICAL is sent directly before the
    daemon exits, and the log names the alert lost with it."""
    port = free_port()
    daemon = daemons.start(
        daemon_config(sim, tmp_path, port, ConfigParts(extra=receiver.route())), port, wait=False
    )
    daemon.wait_serving()
    wait_for("a healthy diagnosis", lambda: daemon.events("diagnosis changed"))
    holder = lock_and_raise(sim, daemon, tmp_path / "state.db")
    try:
        daemon.proc.signal(signal.SIGTERM)
        assert 0 == daemon.proc.wait(60)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    titles = receiver.titles()
    assert 1 == sum(t.startswith("CRITICAL shop: rest is down") for t in titles), titles
    (lost,) = daemon.events("state store away at stop: held writes lost")
    assert REST_KEY in lost["alerts"]
    assert any(t.startswith("CRITICAL shop: rest is down") for t in lost["messages_sent"])
    assert [] == daemon.events("job failed"), "the outage is said once, not by every job"
