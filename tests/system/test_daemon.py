"""``sbwatch run`` as a real process: probes, status, signals and reloads."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

import pytest

from .conftest import (
    REF,
    ConfigParts,
    DaemonFactory,
    Sim,
    daemon_config,
    free_port,
    run_cli,
    wait_for,
)

PROBES = ("rest", "auth", "db", "mgmt_health", "metrics")

pytestmark = pytest.mark.integration


def _probe_states(report: dict[str, object]) -> dict[str, str]:
    project = next(p for p in report["projects"] if p["ref"] == REF)  # type: ignore[attr-defined]
    return {p["probe"]: p["state"] for p in project["probes"]}


def test_probes_status_and_a_service_going_down(
    sim: Sim, daemons: DaemonFactory, tmp_path: Path
) -> None:
    """Every probe runs and is exported; a rest outage shows in metrics, status and the log."""
    port = free_port()
    daemon = daemons.start(daemon_config(sim, tmp_path, port, ConfigParts()), port)

    def all_succeeded() -> bool:
        values = [daemon.sample("sbwatch_probe_success", project=REF, probe=p) for p in PROBES]
        return all(v == 1.0 for v in values)

    wait_for("every probe to succeed", all_succeeded)
    assert daemon.sample("sbwatch_io_budget_ratio", project=REF) is not None
    assert 1.0 == daemon.sample("sbwatch_build_info")
    wait_for("every probe up", lambda: daemon.sample("sbwatch_probe_up", project=REF, probe="rest"))

    # The diagnosis comes from the next evaluation after the probes are up, on its own schedule.
    wait_for("a healthy diagnosis", lambda: daemon.status().returncode == 0)
    text = run_cli("--config", str(daemon.config), "status")  # once as a process of its own
    assert (0, True) == (text.returncode, f"shop ({REF}): healthy" in text.stdout), text
    report = json.loads(daemon.status("--json").stdout)
    assert dict.fromkeys(PROBES, "up") == _probe_states(report)

    sim.ctl("service", "name=rest", "up=false", f"ref={REF}")
    wait_for(
        "rest down in the metrics",
        lambda: daemon.sample("sbwatch_probe_up", project=REF, probe="rest") == 0.0,
    )
    down = daemon.status("--json")
    assert "down" == _probe_states(json.loads(down.stdout))["rest"]
    changes = [
        (e["project"], e["probe"], e["previous"], e["current"])
        for e in daemon.events("probe state changed")
    ]
    assert (REF, "rest", "up", "down") in changes


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_exits_zero_quickly(
    sig: signal.Signals, sim: Sim, daemons: DaemonFactory, tmp_path: Path
) -> None:
    """SIGTERM and SIGINT stop the daemon with exit code 0 within 5 seconds."""
    port = free_port()
    daemon = daemons.start(daemon_config(sim, tmp_path, port, ConfigParts()), port)
    wait_for("a probe to run", lambda: daemon.events("probe finished"))
    started = time.monotonic()
    daemon.proc.signal(sig)
    code = daemon.proc.wait(timeout_s=5)
    assert (0, True) == (code, time.monotonic() - started < 5.0)
    assert daemon.events("stopped")


def test_sighup_reloads_valid_and_refuses_broken_config(
    sim: Sim, daemons: DaemonFactory, tmp_path: Path
) -> None:
    """SIGHUP applies a valid change, refuses a broken file and keeps serving either way."""
    port = free_port()
    daemon = daemons.start(daemon_config(sim, tmp_path, port, ConfigParts()), port)
    wait_for("a probe to run", lambda: daemon.events("probe finished"))

    changed = daemon_config(sim, tmp_path, port, ConfigParts(interval="3s"))
    daemon.config.write_text(changed, encoding="utf-8")
    daemon.proc.signal(signal.SIGHUP)
    wait_for("the reload", lambda: daemon.events("reloaded"))
    assert ([], True) == (daemon.events("restart needed"), daemon.proc.alive())

    moved = changed.replace(f"port = {port}", f"port = {free_port()}", 1)
    daemon.config.write_text(moved, encoding="utf-8")
    daemon.proc.signal(signal.SIGHUP)
    wait_for("the second reload", lambda: len(daemon.events("reloaded")) == 2)
    assert ["metrics"] == [e["section"] for e in daemon.events("restart needed")]
    assert daemon.metrics_text()  # still on the port it started with

    broken = moved.replace('interval = "3s"', 'interval = "5 minutes"', 1)
    daemon.config.write_text(broken, encoding="utf-8")
    daemon.proc.signal(signal.SIGHUP)
    refused = wait_for("the refusal", lambda: daemon.events("reload refused"))
    problems = refused[0]["problems"]
    assert any(p.startswith("projects[0].probes.rest.interval (line ") for p in problems), problems
    before = daemon.sample("sbwatch_probe_runs_total", project=REF, probe="rest", outcome="ok")
    wait_for(
        "probes to keep running after the refusal",
        lambda: (
            (
                daemon.sample("sbwatch_probe_runs_total", project=REF, probe="rest", outcome="ok")
                or 0
            )
            > (before or 0)
        ),
    )
    assert daemon.proc.alive()


def test_metrics_port_in_use_is_a_clear_error(sim: Sim, tmp_path: Path) -> None:
    """A taken metrics port stops the start with exit 1 and one line naming it, no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "config.toml"
        config.write_text(daemon_config(sim, tmp_path, port, ConfigParts()), encoding="utf-8")
        done = run_cli("--config", str(config), "run")
    assert (1, f"metrics: cannot listen on 127.0.0.1:{port} (Address already in use)\n") == (
        done.returncode,
        done.stderr,
    )
