"""The mail watcher under supervision: its stop is an alert, a metric and a line of status."""

from __future__ import annotations

import asyncio
from typing import Any

from sbwatch.commands.status import gather_status, render
from sbwatch.config.settings import Settings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.errors import StoreError
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import Severity
from sbwatch.daemon.mailguard import STATE_KEY, MailGuard
from sbwatch.ingest.imap import NAMESPACE
from sbwatch.store.sqlite import SqliteStore

REF = "abcdefghijklmnopqrst"


class Runs:
    """Mail watcher runs: the first fails at once, the next ones wait until released."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.started = [asyncio.Event() for _ in range(4)]

    async def __call__(self) -> None:
        self.calls += 1
        self.started[min(self.calls, 3)].set()
        if self.calls == 1:
            raise UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed")
        if self.calls == 2:
            await self.release.wait()
            raise StoreError("sqlite read failed: disk I/O error", transient=False)
        await asyncio.Event().wait()


def up(metrics: Metrics) -> float | None:
    """sbwatch_mail_watcher_up."""
    return metrics.registry.get_sample_value("sbwatch_mail_watcher_up")


async def test_a_stopped_mail_watcher_is_said_once_and_started_again(store: SqliteStore) -> None:
    """A watcher that dies is a CRITICAL notice, the gauge at 0 and a stopped state document
    at that moment; it is started again (gauge back at 1), and dying again is not said twice."""
    metrics = Metrics()
    said: list[tuple[Severity, str, float | None, Any]] = []

    async def notify(severity: Severity, title: str, body: str) -> None:
        state = await store.get_state(NAMESPACE, STATE_KEY)
        said.append((severity, title, up(metrics), state and state["state"]))

    runs = Runs()
    guard = MailGuard(runs, store, clock=VirtualClock(), metrics=metrics, notify=notify)
    task = asyncio.create_task(guard.run())
    try:
        async with asyncio.timeout(10):
            await runs.started[2].wait()
            restarted = (up(metrics), (await store.get_state(NAMESPACE, STATE_KEY) or {})["state"])
            runs.release.set()
            await runs.started[3].wait()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert (
        [(Severity.CRITICAL, "mail watcher stopped", 0.0, "stopped")],
        (1.0, "watching"),
    ) == (said, restarted)


async def test_status_says_the_mail_watcher_stopped(store: SqliteStore) -> None:
    """`sbwatch status` has a line for the mail watcher: watching, or STOPPED and why."""
    config = Settings.model_validate(
        {
            "projects": [{"ref": REF, "probes": {}}],
            "mail": {"enabled": True, "host": "127.0.0.1", "username": "ops", "password": "x"},
            "metrics": {"enabled": False},
            "status_page": {"enabled": False},
        }
    )
    doc = {"state": "stopped", "at": "2026-05-26T12:00:00+00:00", "error": "UnicodeEncodeError"}
    await store.put_state(NAMESPACE, STATE_KEY, doc)
    lines = render(await gather_status(store, config, VirtualClock().now())).splitlines()
    assert "mail watcher STOPPED at 2026-05-26T12:00:00+00:00: UnicodeEncodeError" in lines
