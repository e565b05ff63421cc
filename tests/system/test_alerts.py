"""Alerts reach a phone: an apprise json:// route to a local receiver, opened and resolved."""

from __future__ import annotations

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


def test_service_outage_alerts_and_resolves(
    sim: Sim, daemons: DaemonFactory, receiver: Receiver, tmp_path: Path
) -> None:
    """A rest outage sends one alert naming the diagnosis; recovery sends a resolved message."""
    route = receiver.route()
    port = free_port()
    daemon = daemons.start(daemon_config(sim, tmp_path, port, ConfigParts(extra=route)), port)
    wait_for("a healthy diagnosis", lambda: daemon.events("diagnosis changed"))

    sim.ctl("service", "name=rest", "up=false", f"ref={REF}")
    opened = wait_for("the alert", lambda: [t for t in receiver.titles() if "rest is down" in t])
    assert opened[0].startswith("CRITICAL shop: rest is down"), opened

    sim.ctl("service", "name=rest", "up=true", f"ref={REF}")
    resolved = wait_for(
        "the resolved message",
        lambda: [t for t in receiver.titles() if t.startswith("RESOLVED shop: rest is down")],
        deadline_s=30,
    )
    assert 1 == len(resolved)
    alerts = [t for t in receiver.titles() if "rest is down" in t and t not in resolved]
    assert (1, "/hook") == (len(alerts), receiver.requests[0]["path"])
