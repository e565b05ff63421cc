"""The status page probe's ``sbwatch_probe_up``: 1 while the page is read, 0 when it is not."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.config.settings import Settings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import PROVIDER
from sbwatch.store.sqlite import SqliteStore
from sbwatch.watch.watcher import Watcher

T0 = datetime(2026, 5, 20, 20, 0, tzinfo=UTC)
SUMMARY = {
    "page": {"id": "p", "name": "Supabase", "url": "https://status.example.test"},
    "components": [],
    "incidents": [],
    "status": {"indicator": "none", "description": "All Systems Operational"},
}


async def test_status_page_probe_up_follows_its_runs(store: SqliteStore) -> None:
    """Each successful run of the status page probe reads up (1); an unreadable page, down."""
    answers = [httpx.Response(200, json=SUMMARY), httpx.Response(200, text="<html>")]
    config = Settings.model_validate(
        {
            "projects": [{"ref": "aaaaaaaaaaaaaaaaaaaa", "tier": "micro", "probes": {}}],
            "metrics": {"enabled": False},
            "status_page": {"url": "https://status.example.test"},
        }
    )
    clock = VirtualClock(T0)
    metrics = Metrics()
    transport = httpx.MockTransport(lambda request: answers.pop(0))
    async with httpx.AsyncClient(transport=transport) as http:
        dispatcher = Dispatcher(store, config.alerting.routes, clock=clock, metrics=metrics)
        watcher = Watcher(
            config, store, clock=clock, metrics=metrics, http=http, dispatcher=dispatcher
        )
        await watcher.start()
        try:
            seen = []
            for _ in range(2):
                await watcher.probe_provider()
                seen.append(
                    metrics.registry.get_sample_value(
                        "sbwatch_probe_up", {"project": PROVIDER, "probe": "status_page"}
                    )
                )
        finally:
            await watcher.close()
    assert [1.0, 0.0] == seen
