"""`sbwatch status` shows each pool's connections from what the daemon stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sbwatch.commands.status import gather_status, render
from sbwatch.config.settings import Settings
from sbwatch.core.connections import ConnReading
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import IoSample
from sbwatch.core.tiers import Tier
from sbwatch.daemon.page import render_status_page
from sbwatch.store.sqlite import SqliteStore
from sbwatch.watch.connections import NAMESPACE, ConnFlow

REF = "abcdefghijklmnopqrst"
NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)


def scrape(minutes_ago: int, leaked: float) -> IoSample:
    """A scrape: Postgres's connections with ``leaked`` held by app_worker, PostgREST's pool."""
    reading = ConnReading(
        direct_used=20 + leaked,
        direct_max=60,
        by_user=(("app_worker", leaked), ("authenticator", 10.0)),
        rest_max=10,
        rest_available=9,
        rest_waiting=0,
    )
    return IoSample(NOW - timedelta(minutes=minutes_ago), 0, 0, 0, 0, connections=reading)


async def test_status_shows_each_pool_and_the_leak(store: SqliteStore) -> None:
    """A leak of ten an hour at 40 of 60: the line says the share, when it fills, who holds
    them; an unchanged assessment is not written again."""
    flow = ConnFlow(Metrics(), store)
    for minutes in range(60, -1, -5):
        flow.fold(REF, scrape(minutes, 20 - 10 * minutes / 60))
    flow.assess(REF, Tier.MICRO, NOW)
    await flow.save(REF)
    stored = await store.get_state(NAMESPACE, REF)
    flow.assess(REF, Tier.MICRO, NOW + timedelta(seconds=30))
    await flow.save(REF)
    assert stored == await store.get_state(NAMESPACE, REF)
    config = Settings.model_validate(
        {
            "projects": [{"ref": REF, "probes": {}}],
            "metrics": {"enabled": False},
            "status_page": {"enabled": False},
        }
    )
    lines = render(await gather_status(store, config, NOW)).splitlines()
    expected = (
        "  connections  direct 40 of 60 (67%), full in ~1h42m; rest 1 of 10 (10%); "
        "app_worker holds 20"
    )
    assert expected in lines


async def test_status_and_the_page_say_full(store: SqliteStore) -> None:
    """Postgres at its line for two scrapes: FULL, in the status line and on the page."""
    flow = ConnFlow(Metrics(), store)
    for minutes in (10, 5, 0):
        flow.fold(REF, scrape(minutes, 37))
    flow.assess(REF, Tier.MICRO, NOW)
    await flow.save(REF)
    config = Settings.model_validate(
        {
            "projects": [{"ref": REF, "probes": {}}],
            "metrics": {"enabled": False},
            "status_page": {"enabled": False},
        }
    )
    lines = render(await gather_status(store, config, NOW)).splitlines()
    line = "direct 57 of 60 FULL; rest 1 of 10 (10%); app_worker holds 37"
    assert f"  connections  {line}" in lines
    html = await render_status_page(store, config, NOW)
    assert f'<p class="connections"><b>Connections</b> {line}</p>' in html
