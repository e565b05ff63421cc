"""The shipped disk scenarios replay and pass: warned in time with the quota and the time it
frees, or grown once within the quota; the fast path gives the full path's very report."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from sbwatch.sim.replay import replay
from sbwatch.sim.scenario import load_scenario
from sbwatch.sim.truth import Cause, run_world

pytestmark = [pytest.mark.slow]

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "sbwatch" / "sim" / "scenarios"


def test_quota_spent_read_only_is_warned_with_the_time_it_frees() -> None:
    """Four autoscales spend the quota: the warning comes hours before read-only, names the
    quota and when it frees, the read-only page follows, nothing is sent to the API."""
    report = asyncio.run(replay(load_scenario(SHIPPED / "disk-quota-read-only.toml")))
    assert [] == [c for c in report["checks"] if not c["passed"]]
    assert (True, 0, 0) == (report["passed"], report["disk_attempts"], report["patch_attempts"])
    changes = report["disk_changes"]["abcdefghijklmnopqrst"]
    assert [12, 18, 27, 41, 62] == [c["to"] for c in changes]
    assert {"autoscale"} == {c["by"] for c in changes}
    spent = next(m for m in report["messages"] if "is spent; the next change" in m["body"])
    read_only = next(d for d in report["diagnoses"] if d["kind"] == "disk_full")
    assert read_only["at_s"] - spent["at_s"] >= 6 * 3600  # warned at least six hours ahead
    assert 7 * 3600 < report["read_only_s"] < 9 * 3600  # until the quota freed


def test_auto_mode_grows_the_disk_once_and_it_never_goes_read_only() -> None:
    """One POST within the quota, early, and no read-only minute in the two days."""
    scenario = load_scenario(SHIPPED / "disk-grow-once.toml")
    fast = asyncio.run(replay(scenario, fast=True))
    assert (True, 1, 1, 0.0) == (
        fast["passed"],
        fast["disk_calls"],
        fast["disk_attempts"],
        fast["read_only_s"],
    )
    (grown,) = fast["disk_changes"]["abcdefghijklmnopqrst"]
    assert ("api", 8, 100) == (grown["by"], grown["from"], grown["to"])
    assert grown["at_s"] <= 15 * 60


def test_the_truth_knows_when_the_database_was_read_only() -> None:
    """The re-run world marks the read-only stretch as an incident of its own cause; with the
    disk change sbwatch made the grow-once world has none, without it the database goes
    read-only within the day."""
    quota = load_scenario(SHIPPED / "disk-quota-read-only.toml")
    (incident,) = run_world(quota, []).incidents()
    assert (Cause.READ_ONLY, ("db",)) == (incident.cause, incident.services)
    assert 16 * 3600 < incident.start_s < 16.5 * 3600 < 24 * 3600 < incident.end_s < 25 * 3600
    grow = load_scenario(SHIPPED / "disk-grow-once.toml")
    report = asyncio.run(replay(grow))
    assert [] == run_world(grow, [], disk_changes=report["api_disk_changes"]).incidents()
    (left,) = run_world(grow, []).incidents()
    assert Cause.READ_ONLY == left.cause
    assert left.start_s < 24 * 3600


def test_the_fast_path_gives_the_full_paths_report_on_the_grow() -> None:
    """The grow's first six hours (the POST, then the disk filling on the bigger size) give
    the same report through the simulator's HTTP API as on the fast path; the two days after
    are quiet minutes either way, which the fast path skips."""
    scenario = replace(load_scenario(SHIPPED / "disk-grow-once.toml"), duration_s=6 * 3600.0)
    fast = asyncio.run(replay(scenario, fast=True))
    full = asyncio.run(replay(scenario, fast=False))
    assert full == fast
    assert (1, 1) == (fast["disk_calls"], fast["disk_attempts"])
