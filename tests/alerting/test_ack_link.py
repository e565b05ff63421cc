"""The Acknowledge button of an ntfy message, end to end: apprise's ntfy plugin carries it to a
fake ntfy server (which keeps the headers, as the phone gets them), the phone's POST reaches
the daemon's real HTTP server, the alert is taken (on the incident's timeline too) and its
reminders stop; a forged or replayed link takes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.servers import free_port

from sbwatch.alerting.ack_link import AckLinks, with_ack_button
from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.commands.ack import acknowledge
from sbwatch.config.settings import Settings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import IncidentEventKind
from sbwatch.core.tiers import Tier
from sbwatch.daemon.ack import ack_handler, ack_links
from sbwatch.daemon.web import start_server
from sbwatch.policy.alerts import Condition
from sbwatch.policy.budget import BudgetEstimator
from sbwatch.store.sqlite import SqliteStore
from sbwatch.watch.announcer import Announcer
from sbwatch.watch.runtime import ProjectRuntime

from .conftest import Receiver, StoreFactory
from .test_oncall import DOWN, REF, T0, UP

pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

SECRET = "ack-secret-3f9c2b7d1e8a4c6f"


def settings_for(receiver: Receiver, web_port: int, *, links: bool = True) -> Settings:
    """One project, an ntfy route to the fake ntfy server; links when ``links``."""
    alerting: dict[str, object] = {
        "min_duration": "0s",
        "resolve_after": "0s",
        "remind_critical": "1h",
        "routes": [{"name": "phone", "url": f"ntfy://127.0.0.1:{receiver.port}/ops-alerts"}],
    }
    if links:
        alerting |= {"public_url": f"http://127.0.0.1:{web_port}", "ack_secret": SECRET}
    return Settings.model_validate(
        {
            "projects": [{"ref": REF, "name": "shop", "probes": {"db": {"enabled": False}}}],
            "alerting": alerting,
        }
    )


class Daemon:
    """The announcer and outbox on a virtual clock, and the daemon's HTTP server for real."""

    def __init__(self, settings: Settings, store: SqliteStore) -> None:
        self.clock = VirtualClock(T0)
        self.store = store
        self.dispatcher = Dispatcher(
            store,
            settings.alerting.routes,
            clock=self.clock,
            metrics=Metrics(),
            acks=ack_links(settings),
        )
        self.announcer = Announcer(settings, store, clock=self.clock, dispatcher=self.dispatcher)
        self.runtime = ProjectRuntime(
            settings.projects[0], BudgetEstimator(REF, Tier.MICRO), Tier.MICRO
        )
        self.settings = settings

    async def minutes(self, count: int, *conds: Condition) -> None:
        """A cycle a minute, the outbox flushed after each."""
        for _ in range(count):
            self.clock.advance(60)
            await self.cycle(*conds)

    async def cycle(self, *conds: Condition) -> None:
        """One evaluation, then the outbox is flushed."""
        state = await self.announcer.conditions(self.runtime, conds)
        self.runtime.policy_state = state
        await self.dispatcher.flush()


@pytest.fixture
async def web(make_store: StoreFactory, tmp_path: Path) -> tuple[int, SqliteStore]:
    """A store and a free port the daemon's server will listen on."""
    store = await make_store(tmp_path / "s.db")
    return free_port(), store


@contextlib.asynccontextmanager
async def serve(daemon: Daemon, port: int) -> AsyncIterator[None]:
    """The daemon's HTTP server with its acknowledgement handler, on this loop's store."""
    loop = asyncio.get_running_loop()
    handler = ack_handler(daemon.store, daemon.settings, daemon.clock, loop)
    server, thread = start_server("127.0.0.1", port, Metrics().registry, None, ack=handler)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        await asyncio.to_thread(thread.join, 5)


def button(headers: dict[str, str]) -> str:
    """The URL of the Acknowledge button in an ntfy message's ``X-Actions`` header."""
    kind, label, url, *options = [part.strip() for part in headers["x-actions"].split(",")]
    assert ("http", "Acknowledge", ["method=POST", "clear=true"]) == (kind, label, options)
    return url


async def test_the_button_takes_the_alert_and_its_reminders_stop(
    receiver: Receiver, web: tuple[int, SqliteStore]
) -> None:
    """The page reaches the ntfy server with an Acknowledge button posting to the daemon's
    public URL; a GET, a forged token and a link of another alert take nothing; the phone's
    POST takes it (by the route's person, on the timeline); three hours pass without a
    reminder; the resolve carries no button."""
    port, store = web
    daemon = Daemon(settings_for(receiver, port), store)
    async with serve(daemon, port):
        await daemon.cycle(DOWN)
        [headers] = receiver.headers
        url = button(headers)
        assert url.startswith(f"http://127.0.0.1:{port}/ack/phone/")
        assert SECRET not in str(receiver.headers) + str(receiver.posts)
        forged = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
        other = AckLinks(f"http://127.0.0.1:{port}", "another-secret").url(
            "phone", (await store.open_alerts(REF))[0]
        )
        async with httpx.AsyncClient() as phone:
            refused = [
                (await phone.get(url)).status_code,
                (await phone.post(forged)).status_code,
                (await phone.post(other)).status_code,
            ]
            assert ([405, 403, 403], []) == (refused, await store.acks(REF))
            taken = await phone.post(url)
            again = await phone.post(url)
        assert (200, 200) == (taken.status_code, again.status_code)
        assert "already acknowledged by phone (Acknowledge button)" in again.text
        [ack] = await store.acks(REF)
        assert ("phone (Acknowledge button)", T0) == (ack.acked_by, ack.acked_at)
        [incident] = await store.incidents(REF)
        lines = [e.text for e in await store.incident_events(incident.id)]
        assert "rest is down: taken by phone (Acknowledge button)" in lines
        await daemon.minutes(180, DOWN)
        assert 1 == len(receiver.posts)
        await daemon.cycle(UP)
        assert 2 == len(receiver.posts)
        assert "x-actions" not in receiver.headers[-1]
        async with httpx.AsyncClient() as phone:
            assert 410 == (await phone.post(url)).status_code  # closed: nothing to take


async def test_no_button_without_a_public_url(
    receiver: Receiver, web: tuple[int, SqliteStore]
) -> None:
    """Without ``public_url`` the ntfy message carries no action, and the server has no
    acknowledgement path (a POST there is the metrics app's, not an acknowledgement)."""
    port, store = web
    daemon = Daemon(settings_for(receiver, port, links=False), store)
    async with serve(daemon, port):
        await daemon.cycle(DOWN)
        async with httpx.AsyncClient() as phone:
            answer = await phone.post(f"http://127.0.0.1:{port}/ack/phone/x/y")
    assert ("x-actions" in receiver.headers[0], []) == (False, await store.acks(REF))
    assert "acknowledged" not in answer.text


def test_the_button_replaces_actions_the_route_url_had() -> None:
    """A route URL with its own query keeps it; an ``actions`` it had gives way to the
    button (apprise reads it back unquoted)."""
    url = with_ack_button("ntfys://ntfy.example/t?priority=high&actions=view,x,y", "https://d/a")
    assert url.startswith("ntfys://ntfy.example/t?priority=high&actions=http%2C%20Acknowledge")
    assert 1 == url.count("actions=")


def test_public_url_needs_a_secret() -> None:
    """``public_url`` without ``ack_secret`` is refused, naming the field."""
    with pytest.raises(ValueError, match="ack_secret is required with public_url"):
        Settings.model_validate({"alerting": {"public_url": "https://sbwatch.example"}})


async def test_sbwatch_ack_goes_on_the_timeline_too(
    receiver: Receiver, web: tuple[int, SqliteStore]
) -> None:
    """``sbwatch ack`` of the open page writes who took it on the incident's timeline, once."""
    port, store = web
    daemon = Daemon(settings_for(receiver, port, links=False), store)
    await daemon.cycle(DOWN)
    out = io.StringIO()
    for _ in range(2):
        await acknowledge(store, daemon.settings, REF, "alice", daemon.clock.now(), out=out)
    [incident] = await store.incidents(REF)
    acks = [e for e in await store.incident_events(incident.id) if e.kind is IncidentEventKind.ACK]
    assert [(T0, "rest is down: taken by alice")] == [(e.at, e.text) for e in acks]


def test_public_url_needs_the_http_endpoint() -> None:
    """``public_url`` with the daemon's HTTP endpoint turned off is refused, saying why."""
    with pytest.raises(ValueError, match=r"alerting.public_url: .* \[metrics\] enabled = true"):
        Settings.model_validate(
            {
                "metrics": {"enabled": False},
                "alerting": {"public_url": "https://sbwatch.example", "ack_secret": SECRET},
            }
        )
