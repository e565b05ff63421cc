"""On call through the announcer and the outbox, on a virtual clock, to a real HTTP receiver:
maintenance windows hold pages back and are named after; an unacknowledged critical reaches
the escalation route once, an acknowledged one never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.config.settings import Settings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import Severity
from sbwatch.core.tiers import Tier
from sbwatch.policy.alerts import Condition
from sbwatch.policy.budget import BudgetEstimator
from sbwatch.store.sqlite import SqliteStore
from sbwatch.watch.announcer import Announcer
from sbwatch.watch.runtime import ProjectRuntime

from .conftest import Receiver, StoreFactory

pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

REF = "abcdefghijklmnopqrst"
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
DOWN = Condition(REF, "service:rest", Severity.CRITICAL, "rest is down", "REST answers 522", True)
UP = Condition(REF, "service:rest", Severity.CRITICAL, "rest is down", "", False)


def config(receiver: Receiver, **alerting: object) -> Settings:
    """One project, a phone route and a second route that takes nothing but escalations."""
    return Settings.model_validate(
        {
            "projects": [{"ref": REF, "name": "shop", "probes": {"db": {"enabled": False}}}],
            "alerting": {
                "min_duration": "0s",
                "resolve_after": "0s",
                "remind_critical": "1h",
                "routes": [
                    {"name": "phone", "url": receiver.url("phone")},
                    {"name": "second", "url": receiver.url("second"), "severities": []},
                ],
                **alerting,
            },
        }
    )


class Desk:
    """An announcer, its outbox and the clock, as the watcher holds them."""

    def __init__(self, settings: Settings, store: SqliteStore, clock: VirtualClock) -> None:
        self.clock = clock
        self.dispatcher = Dispatcher(
            store, settings.alerting.routes, clock=clock, metrics=Metrics()
        )
        self.announcer = Announcer(settings, store, clock=clock, dispatcher=self.dispatcher)
        project = settings.projects[0]
        self.runtime = ProjectRuntime(project, BudgetEstimator(REF, Tier.MICRO), Tier.MICRO)

    async def cycle(self, *conds: Condition) -> None:
        """One evaluation, then the outbox is flushed."""
        self.runtime.policy_state = await self.announcer.conditions(self.runtime, conds)
        await self.dispatcher.flush()


def at(receiver: Receiver, path: str) -> list[str]:
    """Titles received on one route."""
    return [
        str(post["title"])
        for post, where in zip(receiver.posts, receiver.paths, strict=True)
        if where == f"/{path}"
    ]


async def run_minutes(desk: Desk, until: float, *conds: Condition) -> None:
    """A cycle a minute up to T0 + ``until`` minutes."""
    while desk.clock.now() < T0 + timedelta(minutes=until):
        desk.clock.advance(60)
        await desk.cycle(*conds)


ESCALATE = {"escalate_after": "15m", "escalate_to": ["second"]}


async def test_an_unacknowledged_critical_reaches_the_second_route_once(
    receiver: Receiver, make_store: StoreFactory, tmp_path: Path
) -> None:
    """The page goes to the phone; 15 minutes later, unacknowledged, the second route gets it
    once, naming the ack command; nothing more there, even across a restart of the daemon."""
    store = await make_store(tmp_path / "s.db")
    clock = VirtualClock(T0)
    desk = Desk(config(receiver, **ESCALATE), store, clock)
    await desk.cycle(DOWN)
    assert (["CRITICAL shop: rest is down"], []) == (at(receiver, "phone"), at(receiver, "second"))
    await run_minutes(desk, 14, DOWN)
    assert [] == at(receiver, "second")
    await run_minutes(desk, 15, DOWN)
    [passed] = at(receiver, "second")
    assert passed.startswith("UNACKNOWLEDGED CRITICAL shop: rest is down")
    assert f"Take it: sbwatch ack {REF}:service:rest" in receiver.posts[-1]["message"]
    restarted = Desk(config(receiver, **ESCALATE), store, clock)
    await run_minutes(restarted, 40, DOWN)
    assert 1 == len(at(receiver, "second"))
    [escalation] = await store.alert_escalations(REF)
    assert (("second",), T0 + timedelta(minutes=15)) == (
        escalation.routes,
        escalation.escalated_at,
    )


async def test_an_acknowledged_critical_is_neither_passed_on_nor_reminded(
    receiver: Receiver, make_store: StoreFactory, tmp_path: Path
) -> None:
    """Acknowledged five minutes after the page: no escalation and no reminder for two hours;
    the resolve is still said."""
    store = await make_store(tmp_path / "s.db")
    clock = VirtualClock(T0)
    desk = Desk(config(receiver, **ESCALATE), store, clock)
    await desk.cycle(DOWN)
    await run_minutes(desk, 5, DOWN)
    [alert] = await store.open_alerts(REF)
    await store.ack_alert(alert.key, REF, alert.opened_at, clock.now(), "ann")
    await run_minutes(desk, 120, DOWN)
    await run_minutes(desk, 121, UP)
    assert (["CRITICAL shop: rest is down"], []) == (
        at(receiver, "phone")[:1],
        at(receiver, "second"),
    )
    assert [["RESOLVED shop: rest is down (lasted 2h1m)"]] == [at(receiver, "phone")[1:]]


async def test_no_escalation_without_escalate_to(
    receiver: Receiver, make_store: StoreFactory, tmp_path: Path
) -> None:
    """Without escalate_to nothing is passed on, however long the page waits."""
    store = await make_store(tmp_path / "s.db")
    desk = Desk(config(receiver), store, VirtualClock(T0))
    await desk.cycle(DOWN)
    await run_minutes(desk, 30, DOWN)
    assert ([], []) == (at(receiver, "second"), await store.alert_escalations())


async def test_a_window_holds_pages_and_escalation_then_names_itself(
    receiver: Receiver, make_store: StoreFactory, tmp_path: Path
) -> None:
    """An outage inside a stored window sends nothing and passes nothing on; at the window's
    end it pages, naming the window; that page is passed on 15 minutes later."""
    store = await make_store(tmp_path / "s.db")
    clock = VirtualClock(T0)
    await store.add_maintenance(REF, T0, T0 + timedelta(minutes=30), "db migration", "ann")
    desk = Desk(config(receiver, **ESCALATE), store, clock)
    await desk.cycle(DOWN)
    await run_minutes(desk, 29, DOWN)
    assert ([], 1) == (receiver.posts, len(await store.open_alerts(REF)))
    await run_minutes(desk, 30, DOWN)
    [page] = receiver.posts
    assert page["title"].startswith("STILL CRITICAL shop: rest is down")
    assert page["message"].startswith("After maintenance 10:00-10:30 UTC: db migration\n")
    assert "failure" == page["type"]
    await run_minutes(desk, 45, DOWN)
    assert 1 == len(at(receiver, "second"))
