"""On call through the real daemon: a critical nobody acknowledges reaches the escalation
route after escalate_after, once; one acknowledged with ``sbwatch ack`` never does."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import (
    ConfigParts,
    Daemon,
    DaemonFactory,
    Receiver,
    Sim,
    daemon_config,
    free_port,
    run_cli,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ESCALATE_AFTER_S = 8
OUTAGE_S = 40.0


def routes(receiver: Receiver) -> str:
    """The phone, and a second route that takes escalations only (no severity of its own)."""
    base = f"json://127.0.0.1:{receiver.port}"
    return (
        f'[[alerting.routes]]\nname = "phone"\nurl = "{base}/hook"\n'
        f'[[alerting.routes]]\nname = "second"\nurl = "{base}/second"\nseverities = []\n'
    )


def titles(receiver: Receiver, path: str) -> list[str]:
    """Titles of the notifications received on one route's path."""
    return [
        str(r["json"].get("title", ""))
        for r in list(receiver.requests)
        if r["json"] and r["path"] == path
    ]


def start(sim: Sim, daemons: DaemonFactory, receiver: Receiver, tmp_path: Path) -> Daemon:
    """A daemon that passes an unacknowledged critical on after ESCALATE_AFTER_S."""
    alerting = (
        'min_duration = "0s"\nresolve_after = "2s"\n'
        f'escalate_after = "{ESCALATE_AFTER_S}s"\nescalate_to = ["second"]\n'
    )
    port = free_port()
    parts = ConfigParts(alerting=alerting, extra=routes(receiver))
    daemon = daemons.start(daemon_config(sim, tmp_path, port, parts), port)
    wait_for("a healthy diagnosis", lambda: daemon.events("diagnosis changed"))
    return daemon


def outage(sim: Sim, receiver: Receiver) -> str:
    """Take REST down; the title of the page the phone gets."""
    sim.ctl("service", "name=rest", "up=false", "ref=sysprojaaaaaaaaaaaaa")
    pages = wait_for(
        "the page", lambda: [t for t in titles(receiver, "/hook") if "rest is down" in t]
    )
    return pages[0]


def recover(sim: Sim, receiver: Receiver) -> None:
    """Bring REST back and wait for the resolve on the phone."""
    sim.ctl("service", "name=rest", "up=true", "ref=sysprojaaaaaaaaaaaaa")
    wait_for(
        "the resolve",
        lambda: [t for t in titles(receiver, "/hook") if t.startswith("RESOLVED")],
        deadline_s=OUTAGE_S,
    )


def test_an_unacknowledged_critical_reaches_the_second_route_once(
    sim: Sim, daemons: DaemonFactory, receiver: Receiver, tmp_path: Path
) -> None:
    """The page goes to the phone only; escalate_after later the second route gets it once,
    with the command that takes it; after the resolve it still got only that one."""
    daemon = start(sim, daemons, receiver, tmp_path)
    page = outage(sim, receiver)
    assert (True, []) == (
        page.startswith("CRITICAL shop: rest is down"),
        titles(receiver, "/second"),
    )
    passed = wait_for(
        "the escalation", lambda: titles(receiver, "/second"), deadline_s=ESCALATE_AFTER_S + 20
    )
    assert passed[0].startswith("UNACKNOWLEDGED CRITICAL shop: rest is down")
    [event] = daemon.events("alert passed on")
    assert (["second"], True) == (event["routes"], event["unacknowledged_s"] >= ESCALATE_AFTER_S)
    recover(sim, receiver)
    assert 1 == len(titles(receiver, "/second"))


def test_an_acknowledged_critical_is_not_passed_on(
    sim: Sim, daemons: DaemonFactory, receiver: Receiver, tmp_path: Path
) -> None:
    """Acknowledged with ``sbwatch ack shop --by ann`` right after the page: once
    escalate_after has passed the daemon says it holds it back, and the second route never
    gets it; status shows who took it."""
    daemon = start(sim, daemons, receiver, tmp_path)
    outage(sim, receiver)
    done = run_cli("--config", str(daemon.config), "ack", "shop", "--by", "ann")
    assert (0, "acknowledged sysprojaaaaaaaaaaaaa:") == (done.returncode, done.stdout[:34]), (
        done.stdout + done.stderr
    )
    held = wait_for(
        "the ack heard",
        lambda: daemon.events("acknowledged alert not passed on"),
        deadline_s=ESCALATE_AFTER_S + 20,
    )
    assert "sysprojaaaaaaaaaaaaa:" in held[0]["key"]
    status = daemon.status()
    assert "(acknowledged by ann)" in status.stdout, status.stdout
    recover(sim, receiver)
    assert ([], []) == (titles(receiver, "/second"), daemon.events("alert passed on"))
