"""Availability in the replay report: what sbwatch measured, held against the truth's downtime,
and a maintenance window that takes an outage out."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sbwatch.core.durations import format_duration
from sbwatch.sim.replay import replay
from sbwatch.sim.report import render_html
from sbwatch.sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ROOT / "src" / "sbwatch" / "sim" / "scenarios" / "platform-outage.toml"
INSIDE = ROOT / "tests" / "replay" / "data" / "maintenance-outage-inside.toml"
INTERVAL_S = 60.0
"""The replay's probe interval: sbwatch sees a change at the next run (a failure confirmed by
a second run soon after), so its measure and the truth differ by at most one interval."""


def rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's availability rows by service."""
    return {row["service"]: row for row in report["uptime"]}


def test_measured_downtime_follows_the_truth() -> None:
    """The platform outage: the truth's hour down, within one probe interval, is what sbwatch
    measured for rest and auth; the page shows it."""
    report = asyncio.run(replay(load_scenario(PLATFORM)))
    truth = report["downtime_s"]
    assert 3600.0 == truth
    for service in ("rest", "auth"):
        down = rows(report)[service]["down_s"]
        assert abs(truth - down) <= INTERVAL_S, (service, down)
    html = render_html(report)
    rest = rows(report)["rest"]
    shown = (
        f"<td>rest</td><td>{rest['availability_text']}</td><td>{format_duration(rest['down_s'])}"
    )
    assert (True, True, True) == (
        "<h2>Availability as sbwatch measured it</h2>" in html,
        shown in html,
        abs(rest["availability"] - (1 - rest["down_s"] / (3 * 3600))) < 0.01,  # a 3-hour case
    ), shown


def test_an_outage_inside_maintenance_is_no_downtime() -> None:
    """REST down 1h-1h30m inside a window 50m-2h: the truth has half an hour down, sbwatch
    counts none of it, and the window's 70 minutes as maintenance."""
    report = asyncio.run(replay(load_scenario(INSIDE)))
    assert 1800.0 == report["downtime_s"]
    rest = rows(report)["rest"]
    assert (0.0, 4200.0, 1.0) == (rest["down_s"], rest["maintenance_s"], rest["availability"])
