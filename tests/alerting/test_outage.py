"""A receiver outage of ten minutes loses no notification and duplicates none."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.alerting.messages import render
from sbwatch.alerting.phone import Target
from sbwatch.config.settings import RouteSettings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import Severity
from sbwatch.policy.alerts import notice

from .conftest import Receiver, StoreFactory

pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

P = "abcdefghijklmnopqrst"


async def test_ten_minute_outage_delivers_each_message_once_in_order(
    receiver: Receiver, make_store: StoreFactory, tmp_path: Path
) -> None:
    """Messages raised during a 10-minute outage all arrive once, in order, after it ends."""
    clock = VirtualClock()
    store = await make_store(tmp_path / "s.db")
    route = RouteSettings(name="phone", url=SecretStr(receiver.url()))
    dispatcher = Dispatcher(
        store, [route], clock=clock, metrics=Metrics(), retry_max_s=120, rng=random.Random(3)
    )
    await receiver.down()
    titles = []
    for second in range(0, 600, 5):  # the daemon flushes every second; check every 5 here
        if second % 60 == 0:
            title = f"alert {second // 60}"
            titles.append(title)
            action = notice(P, f"s{second}", Severity.CRITICAL, title, "details", clock.now())
            await dispatcher.submit(action, render(action, Target(P), clock.now()))
        await dispatcher.flush()
        clock.advance(5)
    assert [] == receiver.posts
    await receiver.up()
    for _ in range(60):  # up to ten more minutes of flushing after the outage
        await dispatcher.flush()
        clock.advance(10)
    delivered = [post["title"].split(": ", 1)[1] for post in receiver.posts]
    assert titles == delivered
    pending = await store.due_notifications(clock.now() + timedelta(days=1))
    assert [] == pending
