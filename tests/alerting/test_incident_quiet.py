"""An incident that no open alert holds (a failed compute change's notice began it) closes once
nothing has failed for resolve_after, with its summary; while something fails it stays open."""

from __future__ import annotations

from pathlib import Path

import pytest

from sbwatch.core.clock import VirtualClock
from sbwatch.core.results import Severity
from sbwatch.policy.alerts import Condition

from .conftest import Receiver, StoreFactory
from .test_oncall import REF, T0, Desk, at, config, run_minutes

pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

SLOW = Condition(
    REF, "io_budget", Severity.WARNING, "disk IO budget 30% left", "draining", True, cause="x"
)
"""A warning that must last 30 minutes before it alerts: failing, with no alert open yet."""


async def failed_raise(desk: Desk) -> None:
    """The notice of a compute change the API did not take: it begins an incident."""
    await desk.announcer.notice(
        desk.runtime,
        Severity.CRITICAL,
        "could not raise compute to small",
        "HTTP 500\nRun: sbwatch escalate abcdefghijklmnopqrst --to small",
    )
    await desk.dispatcher.flush()


async def test_an_incident_begun_by_a_failed_raise_closes_when_nothing_fails(
    receiver: Receiver, make_store: StoreFactory, tmp_path: Path
) -> None:
    """Five quiet minutes after the first cycle that found nothing failing (10:01) the incident
    closes, and the phone gets one INFO summary saying what sbwatch did; nothing after."""
    store = await make_store(tmp_path / "s.db")
    desk = Desk(config(receiver, resolve_after="5m"), store, VirtualClock(T0))
    await failed_raise(desk)
    [incident] = await store.incidents(REF)
    await run_minutes(desk, 4)
    assert incident == await store.current_incident(REF)
    await run_minutes(desk, 20)
    [closed] = await store.incidents(REF)
    assert (None, T0.replace(minute=6)) == (await store.current_incident(REF), closed.closed_at)
    assert [
        "CRITICAL shop: could not raise compute to small",
        "INFO shop: over: could not raise compute to small (nothing failing for 5m)",
    ] == at(receiver, "phone")
    assert "sbwatch: told you (1 message); no compute change." in receiver.posts[-1]["message"]


async def test_it_stays_open_while_something_fails(
    receiver: Receiver, make_store: StoreFactory, tmp_path: Path
) -> None:
    """A condition still failing (its warning not yet alerted) keeps the incident open; the
    quiet time counts from when it stopped."""
    store = await make_store(tmp_path / "s.db")
    settings = config(receiver, resolve_after="5m", min_duration="30m")
    desk = Desk(settings, store, VirtualClock(T0))
    await failed_raise(desk)
    await run_minutes(desk, 20, SLOW)
    assert await store.current_incident(REF) is not None
    await run_minutes(desk, 24)
    assert await store.current_incident(REF) is not None
    await run_minutes(desk, 30)
    [closed] = await store.incidents(REF)
    assert (T0.replace(minute=26), 2) == (closed.closed_at, len(at(receiver, "phone")))
