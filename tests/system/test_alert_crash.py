"""A daemon killed with SIGKILL after recording an alert delivers it after restart, once."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from .conftest import (
    REF,
    ConfigParts,
    DaemonFactory,
    Receiver,
    Sim,
    daemon_config,
    free_port,
    wait_for,
)

pytestmark = pytest.mark.integration


def test_alert_recorded_before_a_crash_is_delivered_once_after_restart(
    sim: Sim, daemons: DaemonFactory, receiver: Receiver, tmp_path: Path
) -> None:
    """Outbox survives SIGKILL: the unsent alert goes out once when the daemon is back."""
    route = receiver.route()
    alerting = 'min_duration = "0s"\nresolve_after = "2s"\nretry_max = "1s"\n'
    port = free_port()
    text = daemon_config(sim, tmp_path, port, ConfigParts(extra=route, alerting=alerting))
    receiver.status[0] = 503  # the phone's gateway is failing: nothing is accepted
    first = daemons.start(text, port)
    wait_for("a healthy diagnosis", lambda: first.events("diagnosis changed"))
    sim.ctl("service", "name=rest", "up=false", f"ref={REF}")
    wait_for("a refused delivery", lambda: [t for t in receiver.titles() if "rest is down" in t])

    first.proc.signal(signal.SIGKILL)
    first.proc.wait(timeout_s=5)
    refused = len(receiver.requests)
    receiver.status[0] = 200

    second = daemons.start(text, port)

    def delivered() -> list[str]:
        titles = [str(r["json"].get("title", "")) for r in receiver.requests[refused:] if r["json"]]
        return [t for t in titles if t.startswith("CRITICAL shop: rest is down")]

    wait_for("the delivery after restart", delivered)
    runs = len(second.events("probe finished"))
    wait_for("more probe cycles", lambda: len(second.events("probe finished")) >= runs + 12)
    assert 1 == len(delivered())
