"""The live daemon tells the truth, as real processes: the simulator, the daemon, a phone.

Each test asserts what the phone receives, in order: a resize made elsewhere is seen within
one size check, a platform outage is said as such after a service first failed, two
independent failures are two alerts, and a resolve says how long the problem really lasted.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

from .conftest import (
    REF,
    SIM_TOKEN,
    ConfigParts,
    DaemonFactory,
    Receiver,
    Sim,
    daemon_config,
    free_port,
    run_cli,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SIZE_CHECK = '[projects.escalation]\nsize_check = "3s"\n'


def tier_in_status(daemon_status: str) -> str | None:
    """The size the budget line of `sbwatch status --json` reports for REF."""
    report = json.loads(daemon_status)
    project = next(p for p in report["projects"] if p["ref"] == REF)
    return project["budget"]["tier"] if project["budget"] else None


def test_a_dashboard_resize_is_seen_and_said_once(
    sim: Sim, daemons: DaemonFactory, receiver: Receiver, tmp_path: Path
) -> None:
    """A resize through the provider's API, not sbwatch: status follows, the phone hears once."""
    parts = ConfigParts(projects_extra=SIZE_CHECK, extra=receiver.route())
    port = free_port()
    daemon = daemons.start(daemon_config(sim, tmp_path, port, parts), port)
    wait_for("the budget on micro", lambda: tier_in_status(daemon.status("--json").stdout))
    assert "micro" == tier_in_status(daemon.status("--json").stdout)

    patched = httpx.patch(
        f"{sim.url}/v1/projects/{REF}/billing/addons",
        headers={"Authorization": f"Bearer {SIM_TOKEN}"},
        json={"addon_type": "compute_instance", "addon_variant": "ci_small"},
        timeout=10,
    )
    assert 200 == patched.status_code, patched.text
    started = time.monotonic()
    wait_for(
        "status on small",
        lambda: tier_in_status(daemon.status("--json").stdout) == "small",
        deadline_s=30,
    )
    assert time.monotonic() - started <= 2 + 3 + 10  # resize, one size check, slack
    said = wait_for(
        "the notice",
        lambda: [t for t in receiver.titles() if "outside sbwatch" in t],
    )
    assert ["INFO shop: compute changed to small outside sbwatch"] == said
    time.sleep(7)  # two more size checks: nothing more to say
    assert 1 == len([t for t in receiver.titles() if "outside sbwatch" in t])


def test_a_cli_resize_is_followed_without_a_notice(
    sim: Sim, daemons: DaemonFactory, receiver: Receiver, tmp_path: Path
) -> None:
    """`sbwatch escalate` resizes: the daemon follows at once and says nothing of 'outside'."""
    parts = ConfigParts(projects_extra=SIZE_CHECK, extra=receiver.route())
    port = free_port()
    daemon = daemons.start(daemon_config(sim, tmp_path, port, parts), port)
    wait_for("the budget on micro", lambda: tier_in_status(daemon.status("--json").stdout))
    done = run_cli(
        "--config", str(daemon.config), "escalate", REF, "--to", "small", "--yes", timeout_s=120
    )
    assert 0 == done.returncode, done.stdout + done.stderr
    wait_for(
        "status on small",
        lambda: tier_in_status(daemon.status("--json").stdout) == "small",
        deadline_s=30,
    )
    assert [] == [t for t in receiver.titles() if "outside sbwatch" in t]


def test_an_outage_that_is_the_platforms_is_said_as_such(
    sim: Sim, daemons: DaemonFactory, receiver: Receiver, tmp_path: Path
) -> None:
    """Rest fails first (a service down), then the whole provider: the phone is told it is
    the platform, not the project; rest's alert becomes part of it, and the one resolve
    counts from rest's first failure to the recovery."""
    port = free_port()
    daemon = daemons.start(
        daemon_config(sim, tmp_path, port, ConfigParts(extra=receiver.route())), port
    )
    wait_for("a healthy diagnosis", lambda: daemon.events("diagnosis changed"))
    sim.ctl("service", "name=rest", "up=false", f"ref={REF}")
    began = time.monotonic()
    wait_for("the first alert", lambda: [t for t in receiver.titles() if "rest is down" in t])
    alerted = time.monotonic()
    time.sleep(4)  # rest alone for a while: a count from the outage would miss these seconds
    sim.ctl("platform_outage", "on=true")
    sim.ctl("status_page", "indicator=major")
    wait_for("the outage", lambda: [t for t in receiver.titles() if "platform outage" in t])
    time.sleep(3)
    # The provider recovers as a whole: rest comes back under the outage, the status page last.
    sim.ctl("service", "name=rest", "up=true", f"ref={REF}")
    sim.ctl("platform_outage", "on=false")
    sim.ctl("status_page", "indicator=none")
    recovered = time.monotonic()
    resolved = wait_for(
        "the resolve",
        lambda: [t for t in receiver.titles() if t.startswith("RESOLVED shop:")],
        deadline_s=60,
    )
    told = time.monotonic()
    shop = [t for t in receiver.titles() if t.split(": ")[0].endswith("shop")]
    opened = shop.index("CRITICAL shop: rest is down")
    outage = shop.index(next(t for t in shop if "platform outage" in t))
    assert opened < outage < shop.index(resolved[0])
    assert "not this project's resources" in shop[outage]
    assert 1 == len(resolved)
    assert "platform outage" in resolved[0]
    said = re.search(r"lasted (\d+)s\)", resolved[0])
    assert said is not None, resolved
    # From rest's first failure (before its alert came) to the recovery (before the resolve
    # came); counted from the outage instead, it would be shorter.
    bounds = (recovered - alerted - 1, told - began + 1)
    assert bounds[0] <= int(said.group(1)) <= bounds[1], (resolved, bounds)


def test_two_independent_problems_give_two_alerts(
    sim: Sim, daemons: DaemonFactory, receiver: Receiver, tmp_path: Path
) -> None:
    """Auth goes down, later rest: the second failure is its own alert, the first keeps its
    words; both come back together and one summary ends the incident (not a resolve each)."""
    port = free_port()
    daemon = daemons.start(
        daemon_config(sim, tmp_path, port, ConfigParts(extra=receiver.route())), port
    )
    wait_for("a healthy diagnosis", lambda: daemon.events("diagnosis changed"))
    sim.ctl("service", "name=auth", "up=false", f"ref={REF}")
    wait_for("auth's alert", lambda: [t for t in receiver.titles() if "auth is down" in t])
    sim.ctl("service", "name=rest", "up=false", f"ref={REF}")
    wait_for("rest's alert", lambda: [t for t in receiver.titles() if "rest is down" in t])
    for name in ("auth", "rest"):
        sim.ctl("service", f"name={name}", "up=true", f"ref={REF}")
    wait_for(
        "the incident's summary",
        lambda: [t for t in receiver.titles() if t.startswith("RESOLVED shop:")],
        deadline_s=60,
    )
    shop = [t for t in receiver.titles() if t.split(": ")[0].endswith("shop")]
    assert [
        "CRITICAL shop: auth is down",
        "CRITICAL shop: rest is down",
    ] == [t for t in shop if not t.startswith("RESOLVED")]
    assert all(": now " not in t for t in shop)
