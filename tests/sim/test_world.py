"""The simulated world: events, compute changes, truth and downtime."""

from __future__ import annotations

import email

import pytest

from sbwatch.core.clock import VirtualClock
from sbwatch.core.tiers import Tier
from sbwatch.sim.world import SimWorld

from .conftest import REF


def test_sync_integrates_up_to_the_clock(world: SimWorld, clock: VirtualClock) -> None:
    """Observations see the model advanced to clock.now()."""
    world.apply({"kind": "workload", "read_mbps": 15, "write_mbps": 0})
    clock.advance(3600)
    assert pytest.approx(1 - 4 * 3600 / (250 * 1800)) == world.truth(REF)["budget_ratio"]


def test_resize_window_then_new_tier_with_full_bucket(world: SimWorld, clock: VirtualClock) -> None:
    """A resize is RESIZING with every service down for resize_seconds, then the new tier."""
    world.project(REF).model.set_demand(40, 0)
    clock.advance(3 * 3600)
    world.resize(REF, Tier.SMALL)
    clock.advance(119)
    truth = world.truth(REF)
    assert ("RESIZING", True, ["db", "rest", "auth"]) == (
        truth["status"],
        truth["resizing"],
        truth["down"],
    )
    clock.advance(1)
    truth = world.truth(REF)
    assert ("ACTIVE_HEALTHY", "small", 1.0, []) == (
        truth["status"],
        truth["tier"],
        truth["budget_ratio"],
        truth["down"],
    )


def test_resize_completion_inside_a_long_sync_is_exact(
    world: SimWorld, clock: VirtualClock
) -> None:
    """The new tier's bucket starts at the end of the window even if nobody looked then."""
    world.project(REF).model.set_demand(30, 0)
    world.resize(REF, Tier.SMALL)
    clock.advance(120 + 3600)
    assert pytest.approx(1 - 8 * 3600 / (239 * 1800)) == world.truth(REF)["budget_ratio"]


def test_failing_services_are_downtime(clock: VirtualClock) -> None:
    """Throttled hard enough, REST and the database fail (auth answers); that is downtime."""
    world = SimWorld(clock)
    world.add_project(REF, Tier.MICRO, budget_pct=0)
    world.apply({"kind": "workload", "read_mbps": 40})
    clock.advance(30)
    assert ([], "pass") == (world.truth(REF)["down"], world.db_mode(REF))  # slow, not down yet
    assert 1.0 < world.db_delay(REF) < 20.0
    clock.advance(150)
    assert (["db", "rest"], "stall") == (world.truth(REF)["down"], world.db_mode(REF))
    start = world.truth(REF)["downtime_s"]
    clock.advance(600)
    assert pytest.approx(600) == world.truth(REF)["downtime_s"] - start


def test_a_slow_project_is_not_down(clock: VirtualClock) -> None:
    """Just over the baseline with the budget empty: slow answers, no downtime."""
    world = SimWorld(clock)
    world.add_project(REF, Tier.MICRO, budget_pct=0)
    world.apply({"kind": "workload", "read_mbps": 15})
    clock.advance(6 * 3600)
    truth = world.truth(REF)
    assert ([], 0.0, True) == (truth["down"], truth["downtime_s"], truth["throttled"])
    assert 5.0 < truth["latency_s"]["rest"] < 20.0


def test_true_limits_stay_hidden_in_the_truth_only(clock: VirtualClock) -> None:
    """A project with limits 30% above the table: 13 MB/s on micro never drains it."""
    world = SimWorld(clock)
    world.add_project(REF, Tier.MICRO, true_limits_factor=1.3)
    world.apply({"kind": "workload", "read_mbps": 14})
    clock.advance(86_400)
    truth = world.truth(REF)
    assert (1.0, 1.3) == (truth["budget_ratio"], truth["true_limits_factor"])
    assert pytest.approx(14.3) == truth["limits"]["baseline_mbps"]


def test_a_pattern_sets_the_demand_hour_by_hour(clock: VirtualClock) -> None:
    """A pattern event repeats a daily shape: the demand follows the hour of the day (UTC)."""
    world = SimWorld(clock)
    world.add_project(REF, Tier.MICRO)
    hours = [5.0] * 8 + [20.0] * 12 + [5.0] * 4
    world.apply({"kind": "pattern", "hours": hours})
    clock.advance(7.5 * 3600)
    assert 5.0 == world.truth(REF)["actual_read_mbps"]
    assert 1.0 == world.truth(REF)["budget_ratio"]
    clock.advance(3600)
    assert 20.0 == world.truth(REF)["actual_read_mbps"]
    clock.advance(11.5 * 3600)  # 20:00: twelve hours at 20 MB/s are over
    drained = 9 * 12 * 3600 / (250 * 1800)
    assert pytest.approx(1 - drained) == world.truth(REF)["budget_ratio"]
    world.apply({"kind": "workload", "read_mbps": 1})
    clock.advance(12 * 3600)
    assert 1.0 == world.truth(REF)["actual_read_mbps"]  # a workload event ends the pattern


def test_a_pattern_with_weekdays_scales_each_day(clock: VirtualClock) -> None:
    """weekdays: seven factors, Monday first; 2026-05-20 is a Wednesday."""
    world = SimWorld(clock)
    world.add_project(REF, Tier.MICRO)
    world.apply({"kind": "pattern", "hours": [10.0] * 24, "weekdays": [1, 1, 2, 1, 1, 0, 0]})
    assert 20.0 == world.truth(REF)["actual_read_mbps"]
    clock.advance(86_400 + 60)
    assert 10.0 == world.truth(REF)["actual_read_mbps"]
    clock.advance(2 * 86_400)
    assert 0.0 == world.truth(REF)["actual_read_mbps"]


def test_a_pattern_of_iops(clock: VirtualClock) -> None:
    """read_iops_hours gives the operations per hour, apart from the bytes."""
    world = SimWorld(clock)
    world.add_project(REF, Tier.MICRO)
    world.apply({"kind": "pattern", "hours": [1.0] * 24, "read_iops_hours": [2000.0] * 24})
    clock.advance(3600)
    truth = world.truth(REF)
    assert (2000.0, 1.0) == (truth["actual_iops"], truth["bytes_ratio"])
    assert truth["iops_ratio"] < 1.0


def test_workload_iops_drain_the_iops_balance(clock: VirtualClock) -> None:
    """A workload event with read_iops: the IOPS balance drains while the bytes stay full."""
    world = SimWorld(clock)
    world.add_project(REF, Tier.MICRO)
    world.apply({"kind": "workload", "read_mbps": 3, "read_iops": 2500, "write_iops": 500})
    clock.advance(3600)
    truth = world.truth(REF)
    assert 1.0 == truth["bytes_ratio"]
    assert pytest.approx(1 - 2500 * 3600 / (11_300 * 1800)) == truth["iops_ratio"]


@pytest.mark.parametrize(
    ("events", "down", "status", "db_mode"),
    [
        ([{"kind": "service", "name": "rest", "up": False}], ["rest"], "ACTIVE_HEALTHY", "pass"),
        (
            [{"kind": "service", "name": "db", "up": False}],
            ["db", "rest"],
            "ACTIVE_HEALTHY",
            "stall",
        ),
        (
            [
                {"kind": "service", "name": "auth", "up": False},
                {"kind": "service", "name": "auth", "up": True},
            ],
            [],
            "ACTIVE_HEALTHY",
            "pass",
        ),
        ([{"kind": "project", "state": "paused"}], ["db", "rest", "auth"], "INACTIVE", "cut"),
        (
            [{"kind": "platform_outage", "on": True}],
            ["db", "rest", "auth"],
            "ACTIVE_HEALTHY",
            "cut",
        ),
        ([{"kind": "network", "on": False}], [], "ACTIVE_HEALTHY", "pass"),
    ],
)
def test_events_set_services_down(
    world: SimWorld, events: list[dict[str, object]], down: list[str], status: str, db_mode: str
) -> None:
    """Service, project, outage and network events change what is truly down."""
    for event in events:
        world.apply(event)
    truth = world.truth(REF)
    assert (down, status, db_mode) == (truth["down"], truth["status"], world.db_mode(REF))


def test_network_event_is_recorded_for_the_replay(world: SimWorld) -> None:
    """network on=false only flips world.network_up (the provider is fine)."""
    world.apply({"kind": "network", "on": False})
    assert False is world.network_up
    world.apply({"kind": "network", "on": True})
    assert True is world.network_up


def test_email_event_builds_a_message(world: SimWorld) -> None:
    """An email event appends an RFC 822 message about the project."""
    world.apply({"kind": "email", "template": "io_budget_warning", "at_s": 5})
    message = email.message_from_bytes(world.emails[0])
    assert "Your project is depleting its Disk IO Budget" == message["Subject"]
    assert REF in world.emails[0].decode()


@pytest.mark.parametrize(
    "event",
    [
        {"kind": "earthquake"},
        {"kind": "service", "name": "storage", "up": False},
        {"kind": "mgmt_api", "fault": "sometimes"},
        {"kind": "status_page", "indicator": "purple"},
        {"kind": "workload", "read_mbps": 1, "ref": "zzzzzzzzzzzzzzzzzzzz"},
        {"kind": "pattern", "hours": [1, 2, 3]},
        {"kind": "pattern", "write_hours": [1] * 24},
        {"kind": "pattern", "hours": [1] * 24, "weekdays": [1] * 6},
        {"kind": "outside_resize", "tier": "huge"},
    ],
)
def test_bad_events_are_refused(world: SimWorld, event: dict[str, object]) -> None:
    """Unknown kinds and values raise ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies by event
        world.apply(event)


def test_events_target_one_project_by_ref(clock: VirtualClock) -> None:
    """An event with ref touches only that project."""
    world = SimWorld(clock)
    world.add_project(REF, Tier.MICRO)
    world.add_project("bbbbbbbbbbbbbbbbbbbb", Tier.MICRO)
    world.apply({"kind": "service", "name": "auth", "up": False, "ref": REF})
    assert (["auth"], []) == (world.truth(REF)["down"], world.truth("bbbbbbbbbbbbbbbbbbbb")["down"])


def test_an_outside_resize_is_a_resize_sbwatch_never_asked_for(
    world: SimWorld, clock: VirtualClock
) -> None:
    """The dashboard's resize: RESIZING for the window, then the size with a full budget; no
    PATCH counted, no change of sbwatch's recorded, the resize itself recorded apart."""
    world.project(REF).model.set_demand(40, 0)
    clock.advance(3 * 3600)
    left = world.truth(REF)["budget_ratio"]
    world.apply({"kind": "outside_resize", "tier": "small"})
    clock.advance(119)
    truth = world.truth(REF)
    assert ("RESIZING", "micro", ["db", "rest", "auth"]) == (
        truth["status"],
        truth["tier"],
        truth["down"],
    )
    clock.advance(1)
    truth = world.truth(REF)
    assert ("ACTIVE_HEALTHY", "small", 1.0) == (
        truth["status"],
        truth["tier"],
        truth["budget_ratio"],
    )
    assert (0, 0, []) == (world.patch_calls, world.patch_attempts, world.changes)
    assert [
        {
            "at_s": 3 * 3600.0,
            "project": REF,
            "from": "micro",
            "to": "small",
            "applied": True,
            "budget_ratio": round(left, 4),
        }
    ] == world.outside_resizes
    assert "micro" == world.rollback_tier(REF)  # removing the add-on goes back where it was


def test_an_outside_resize_during_a_resize_is_refused(world: SimWorld, clock: VirtualClock) -> None:
    """While a change is under way the provider takes no other: recorded as not applied."""
    world.resize(REF, Tier.SMALL)
    clock.advance(60)
    world.apply({"kind": "outside_resize", "tier": "medium"})
    clock.advance(60)
    assert "small" == world.truth(REF)["tier"]
    assert [("micro", "medium", False)] == [
        (r["from"], r["to"], r["applied"]) for r in world.outside_resizes
    ]


def test_an_outside_resize_targets_its_project_only(clock: VirtualClock) -> None:
    """With ref, only that project changes size."""
    world = SimWorld(clock, resize_seconds=120.0)
    world.add_project(REF, Tier.MICRO)
    world.add_project("bbbbbbbbbbbbbbbbbbbb", Tier.MICRO)
    world.apply({"kind": "outside_resize", "tier": "small", "ref": "bbbbbbbbbbbbbbbbbbbb"})
    clock.advance(120)
    assert ("micro", "small") == (
        world.truth(REF)["tier"],
        world.truth("bbbbbbbbbbbbbbbbbbbb")["tier"],
    )
    assert ["bbbbbbbbbbbbbbbbbbbb"] == [r["project"] for r in world.outside_resizes]


def test_a_machines_memory_follows_its_size_across_a_resize() -> None:
    """RAM and the base use are looked up per size once: a resize reads the new size's."""
    from sbwatch.sim.hardware import MACHINES
    from sbwatch.sim.host import BASE_FIXED, BASE_MOST, BASE_SHARE, GIB, HostModel

    host = HostModel(size="micro")
    for size in [m.size for m in MACHINES] + ["micro"]:
        host.resize(size)
        ram = next(m for m in MACHINES if m.size == size).memory_gb * GIB
        assert ram == host.memory_bytes
        assert min(BASE_MOST * ram, BASE_FIXED + BASE_SHARE * ram) == host.base_bytes
