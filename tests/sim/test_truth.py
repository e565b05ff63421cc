"""Ground truth: incidents, causes, drains and counterfactuals, from the world re-run alone."""

from __future__ import annotations

import asyncio

import pytest

from sbwatch.sim.hardware import BURST_BALANCE_S, machine
from sbwatch.sim.replay import replay
from sbwatch.sim.scenario import Scenario, load_scenario, parse_scenario
from sbwatch.sim.truth import SAMPLE_S, Cause, run_world, without

REF = "abcdefghijklmnopqrst"
MB = 1_000_000.0


def scenario(
    events: str, *, duration: str = "12h", tier: str = "micro", pct: int = 100
) -> Scenario:
    """A one-project scenario with these events (TOML of [[events]] tables)."""
    text = f"""
name = "truth"
duration = "{duration}"
[project]
ref = "{REF}"
tier = "{tier}"
io_budget_pct = {pct}
[policy]
mode = "off"
{events}
"""
    return parse_scenario(text)


def micro_empty_after(rate_mbps: float, pct: float = 100.0) -> float:
    """Seconds until micro's bytes balance is empty at ``rate_mbps``, from the machine table."""
    m = machine("micro")
    base, burst = m.sustained_bytes_s / MB, m.burst_bytes_s / MB
    return (burst - base) * BURST_BALANCE_S * pct / 100 / (rate_mbps - base)


def test_a_service_fault_is_one_incident_with_its_cause_and_times() -> None:
    """auth down from 1h to 1h30m: one incident, auth only, cause service_fault."""
    sc = scenario(
        """
[[events]]
at = "1h"
kind = "service"
name = "auth"
up = false
[[events]]
at = "1h30m"
kind = "service"
name = "auth"
up = true
"""
    )
    incidents = run_world(sc, []).incidents()
    assert 1 == len(incidents)
    assert (3600.0, 5400.0) == (incidents[0].start_s, incidents[0].end_s)
    assert Cause.SERVICE is incidents[0].cause
    assert ("auth",) == incidents[0].services


def test_a_database_fault_takes_rest_with_it() -> None:
    """PostgREST cannot answer without its database: db down is rest down too."""
    sc = scenario('[[events]]\nat = "1h"\nkind = "service"\nname = "db"\nup = false\n')
    (incident,) = run_world(sc, []).incidents()
    assert ("db", "rest") == incident.services


def test_a_steady_drain_fails_after_the_budget_is_used_up() -> None:
    """40 MB/s on micro: the budget empties when the table says, and REST is slow soon after."""
    sc = scenario('[[events]]\nat = "0s"\nkind = "workload"\nread_mbps = 40\n', pct=50)
    empty = micro_empty_after(40, 50)
    (incident,) = run_world(sc, []).incidents()
    assert incident.budget_s is not None
    assert empty <= incident.budget_s <= empty + 15 * 60
    assert Cause.BUDGET is incident.cause
    timeline = run_world(sc, [])
    assert timeline.at(REF, empty - 120).budget > 0
    assert timeline.at(REF, empty + 120).budget == 0


def test_a_load_under_the_baseline_never_fails() -> None:
    """8 MB/s on micro (baseline 11): no incident in a day, the budget full at the end."""
    sc = scenario(
        '[[events]]\nat = "0s"\nkind = "workload"\nread_mbps = 8\n', duration="1d", pct=40
    )
    timeline = run_world(sc, [])
    assert [] == timeline.incidents()
    assert timeline.at(REF, 86_400).budget > timeline.at(REF, 0).budget


def test_outage_network_resize_and_pause_are_told_apart() -> None:
    """Each world-wide fault is an incident of its own cause, in time order."""
    sc = scenario(
        """
[[events]]
at = "1h"
kind = "platform_outage"
on = true
[[events]]
at = "1h20m"
kind = "platform_outage"
on = false
[[events]]
at = "3h"
kind = "network"
on = false
[[events]]
at = "3h10m"
kind = "network"
on = true
[[events]]
at = "5h"
kind = "project"
state = "paused"
[[events]]
at = "5h30m"
kind = "project"
state = "active"
"""
    )
    resize = {"at": 7 * 3600.0, "project": REF, "tier": "small", "rollback": False}
    found = [(i.cause, i.start_s) for i in run_world(sc, [resize]).incidents()]
    assert [
        (Cause.OUTAGE, 3600.0),
        (Cause.NETWORK, 3 * 3600.0),
        (Cause.PAUSED, 5 * 3600.0),
        (Cause.RESIZE, 7 * 3600.0),
    ] == found


def test_a_resize_starts_the_new_size_full() -> None:
    """After a change completes, the sample shows the new size with a full budget."""
    sc = scenario('[[events]]\nat = "0s"\nkind = "workload"\nread_mbps = 30\n', pct=30)
    resize = {"at": 600.0, "project": REF, "tier": "small", "rollback": False}
    timeline = run_world(sc, [resize])
    after = timeline.at(REF, 600.0 + 180)
    assert "small" == after.tier
    assert after.budget == pytest.approx(1.0, abs=0.01)
    assert [720.0] == timeline.resized[REF]


def test_the_counterfactual_leaves_out_the_change_and_those_after_it() -> None:
    """``without`` drops one project's changes from a moment on, keeping the rest."""
    changes = [
        {"at": 10.0, "project": REF, "tier": "small", "rollback": False},
        {"at": 20.0, "project": "other", "tier": "small", "rollback": False},
        {"at": 30.0, "project": REF, "tier": "medium", "rollback": False},
    ]
    assert [changes[0], changes[1]] == without(changes, REF, 30.0)
    assert [changes[1]] == without(changes, REF, 10.0)


def test_a_step_starts_the_drain_at_the_step() -> None:
    """Light, then 60 MB/s from 2h: the drain that failed began at the step."""
    sc = scenario(
        """
[[events]]
at = "0s"
kind = "workload"
read_mbps = 5
[[events]]
at = "2h"
kind = "workload"
read_mbps = 60
"""
    )
    timeline = run_world(sc, [])
    (incident,) = timeline.incidents()
    drain = timeline.drain(incident)
    assert drain is not None
    assert 2 * 3600.0 == drain.start_s
    assert drain.took_s / 2 == drain.lead_s


def test_a_repeating_day_is_one_drain_from_its_first_day() -> None:
    """A day/night pattern that falls short each night: the drain reaches back to day one."""
    hours = ", ".join(["8"] * 8 + ["16"] * 12 + ["8"] * 4)
    sc = scenario(
        f'[[events]]\nat = "0s"\nkind = "pattern"\nhours = [{hours}]\n', duration="5d", pct=100
    )
    timeline = run_world(sc, [])
    budget = [i for i in timeline.incidents() if i.budget_s is not None]
    assert budget, "the pattern runs the budget out within five days"
    drain = timeline.drain(budget[0])
    assert drain is not None
    assert drain.start_s < 86_400.0
    assert drain.took_s > 2 * 86_400.0
    assert 86_400.0 == drain.lead_s


def test_the_rerun_world_is_the_replayed_world() -> None:
    """May 26 replayed: the truth re-run with the replay's changes ends where the replay did."""
    sc = load_scenario("src/sbwatch/sim/scenarios/may26-io-exhaustion.toml")
    report = asyncio.run(replay(sc))
    timeline = run_world(sc, report["api_resizes"])
    end = timeline.samples[REF][-1]
    assert report["final_tier"] == end.tier
    assert report["true_end"][REF]["budget_ratio"] == pytest.approx(end.budget, abs=1e-6)
    assert SAMPLE_S * (len(timeline.samples[REF]) - 1) == sc.duration_s


def test_the_replayed_world_is_the_truth_when_slow_answers_sleep_across_an_event() -> None:
    """A Management API answering slowly makes the replay's jobs sleep for minutes of its
    clock; a burst due meanwhile starts at its own time in the world sbwatch watches, as in
    the truth's world, not when the jobs are done (the score would judge another world)."""
    watched = scenario(
        """
[[events]]
at = "0s"
kind = "mgmt_api"
fault = "slow"
[[events]]
at = "9060s"
kind = "workload"
read_mbps = 187.8
[[events]]
at = "9061s"
kind = "mgmt_api"
fault = "none"
""",
        duration="4h",
    )
    report = asyncio.run(replay(watched, fast=True))
    truth = run_world(watched, report["api_resizes"])
    points = [(p["at_s"], p["true"]) for p in report["series"] if p["at_s"] >= 9060]
    assert len(points) >= 5
    assert [round(truth.at(REF, at).budget, 2) for at, _ in points] == [
        round(level, 2) for _, level in points
    ]
