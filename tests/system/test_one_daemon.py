"""One daemon per state store, and `sbwatch status` that knows when the daemon is gone."""

from __future__ import annotations

import json
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sbwatch.daemon.presence import RENEW_EVERY_S, Heartbeat

from .conftest import (
    ConfigParts,
    DaemonFactory,
    Sim,
    child_env,
    daemon_config,
    free_port,
    sbwatch_argv,
    wait_for,
)

pytestmark = pytest.mark.integration
T0 = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("beat", "running", "stale"),
    [
        (Heartbeat("d", T0, T0, 30.0), True, False),
        (Heartbeat("d", T0 - timedelta(seconds=61), T0, 30.0), False, True),
        (Heartbeat("d", T0, T0 - timedelta(seconds=61), 30.0), True, True),
        (Heartbeat("d", T0, T0, 30.0, stopped_at=T0), False, True),
        (Heartbeat("d", T0 - timedelta(seconds=19), None, 1.0), True, False),
        (Heartbeat("d", T0 - timedelta(seconds=2 * RENEW_EVERY_S + 1), T0, 1.0), False, True),
    ],
)
def test_running_and_stale_follow_the_cycle_and_the_heartbeat(
    beat: Heartbeat, running: bool, stale: bool
) -> None:
    """Running: renewed within two cycles (two heartbeats at least); stale: no recent cycle."""
    assert (running, stale) == (beat.running(T0), beat.stale(T0))
    assert beat == Heartbeat.from_doc(json.loads(json.dumps(beat.to_doc())))


def test_a_second_daemon_refuses_and_status_sees_the_first_stop(
    sim: Sim, daemons: DaemonFactory, tmp_path: Path
) -> None:
    """Two daemons on one store: the second says why and exits; after a stop, status says so."""
    port = free_port()
    first = daemons.start(daemon_config(sim, tmp_path, port, ConfigParts()), port)
    wait_for("a completed cycle", lambda: first.status().returncode == 0)
    second = subprocess.run(
        sbwatch_argv("--config", str(first.config), "run"),
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
        cwd=tmp_path,
    )
    assert 1 == second.returncode, second.stderr
    assert "another sbwatch daemon (daemon@" in second.stderr
    assert "Traceback" not in second.stderr
    report = json.loads(first.status("--json").stdout)
    assert (True, False) == (report["daemon"]["running"], report["daemon"]["stale"])

    first.proc.signal(signal.SIGTERM)
    assert 0 == first.proc.wait(30)
    gone = first.status()
    assert 4 == gone.returncode, gone.stdout
    assert gone.stdout.startswith("daemon not running (last cycle ")


def test_a_killed_daemon_leaves_the_store_to_the_next(
    sim: Sim, daemons: DaemonFactory, tmp_path: Path
) -> None:
    """kill -9 leaves the lock behind; a new daemon on the same host takes it at once."""
    port = free_port()
    first = daemons.start(daemon_config(sim, tmp_path, port, ConfigParts()), port)
    wait_for("a completed cycle", lambda: first.status().returncode == 0)
    killed = json.loads(first.status("--json").stdout)["daemon"]["owner"]
    first.proc.signal(signal.SIGKILL)
    first.proc.wait(30)
    port = free_port()
    again = daemons.start(daemon_config(sim, tmp_path, port, ConfigParts()), port)
    wait_for("a completed cycle after the restart", lambda: again.status().returncode == 0)
    report = json.loads(again.status("--json").stdout)
    assert report["daemon"]["running"]
    assert killed != report["daemon"]["owner"]
    assert report["daemon"]["owner"].startswith("daemon@")
