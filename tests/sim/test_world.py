"""The simulated world: events, compute changes, truth and downtime."""

from __future__ import annotations

import email

import pytest

from sbwatch.core.clock import VirtualClock
from sbwatch.sim.world import SimWorld
from sbwatch.supabase.tiers import Tier

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


def test_overload_is_downtime(clock: VirtualClock) -> None:
    """An overloaded project is down (all of db/rest/auth) and the downtime is counted."""
    world = SimWorld(clock)
    world.add_project(REF, Tier.MICRO, budget_pct=0)
    world.apply({"kind": "workload", "read_mbps": 40})
    clock.advance(180)
    assert ["db", "rest", "auth"] == world.truth(REF)["down"]
    clock.advance(600)
    assert pytest.approx(600) == world.truth(REF)["downtime_s"]


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
