"""``sbwatch budget`` on a running daemon agrees with the daemon's metrics endpoint."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

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

pytestmark = pytest.mark.integration


def test_budget_command_matches_the_metrics(
    sim: Sim, daemons: DaemonFactory, tmp_path: Path
) -> None:
    """Under a drain, the ratio and ETA that `sbwatch budget --json` shows match /metrics (a
    young drain has no ETA yet on either side: it is forecast once it has lasted)."""
    sim.event(kind="workload", read_mbps=60, write_mbps=0, ref=REF)
    port = free_port()
    daemon = daemons.start(daemon_config(sim, tmp_path, port, ConfigParts()), port)

    def gauges() -> tuple[float, float | None] | None:
        ratio = daemon.sample("sbwatch_io_budget_ratio", project=REF)
        eta = daemon.sample("sbwatch_io_budget_exhaustion_eta_seconds", project=REF)
        if ratio is None or ratio >= 1.0:
            return None
        return ratio, (eta if eta is not None and math.isfinite(eta) else None)

    wait_for("a draining estimate", gauges)

    def agreeing() -> dict[str, Any] | None:
        # A scrape may land between the reads: accept the command's figures when they equal
        # the gauges read just before or just after it.
        before = gauges()
        shown = run_cli("--config", str(daemon.config), "budget", REF, "--json")
        after = gauges()
        estimate = json.loads(shown.stdout)[0]["estimate"]
        eta = estimate["eta_s"]
        pair = (round(estimate["ratio"], 9), None if eta is None else round(eta, 3))
        seen = {
            (round(g[0], 9), None if g[1] is None else round(g[1], 3))
            for g in (before, after)
            if g is not None
        }
        return estimate if pair in seen else None

    estimate = wait_for("the command and the metrics to agree", agreeing)
    assert "micro" == estimate["tier"]
    text = run_cli("--config", str(daemon.config), "budget", REF)
    assert (0, True) == (text.returncode, "% left" in text.stdout), text
