"""An outage of the state store loses no alert: what the cycle raised meanwhile is written
when the store returns, with its true onset, and said once; the outage itself is said too.

On SQLite the store refuses every call while away (a fake at the Store seam, as a locked
file answers); on PostgreSQL a TCP proxy in front of the real server cuts every connection.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs
from tests.servers import fresh_database_sync, pg_url

from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.config.settings import Settings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.errors import StoreError
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import ProbeKind
from sbwatch.daemon.storewatch import StoreWatch
from sbwatch.sim.dbproxy import DbProxy
from sbwatch.store.base import Store
from sbwatch.store.guard import GuardedStore
from sbwatch.store.postgres import PostgresStore
from sbwatch.store.sqlite import SqliteStore
from sbwatch.watch.watcher import Watcher

REF = "abcdefghijklmnopqrst"
T0 = datetime(2026, 5, 20, 20, 0, tzinfo=UTC)


class Outage:
    """The real store, failing every call with a transient StoreError while ``away``."""

    def __init__(self, inner: Store, proxy: DbProxy | None = None) -> None:
        self.inner = inner
        self.proxy = proxy
        self._away = False
        self.refused: list[str] = []

    @property
    def away(self) -> bool:
        return self._away

    @away.setter
    def away(self, away: bool) -> None:
        """Take the store away or give it back (the proxy cuts or passes PostgreSQL)."""
        self._away = away
        if self.proxy is not None:
            self.proxy.set_mode("cut" if away else "pass")

    def __getattr__(self, op: str) -> Any:
        target = getattr(self.inner, op)

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self._away:
                self.refused.append(op)
                if self.proxy is None:
                    raise StoreError(f"sqlite {op} failed: database is locked", transient=True)
            return await target(*args, **kwargs)

        return call


def settings() -> Settings:
    """One project probed by REST only, a phone route, resolves after 20 s."""
    return Settings.model_validate(
        {
            "projects": [
                {
                    "ref": REF,
                    "tier": "micro",
                    "service_key": "service",
                    "probes": {
                        kind.value: {"enabled": kind is ProbeKind.REST}
                        for kind in ProbeKind
                        if kind is not ProbeKind.STATUS_PAGE
                    },
                }
            ],
            "alerting": {
                "routes": [{"name": "phone", "url": "json://127.0.0.1:9/"}],
                "resolve_after": "20s",
            },
            "metrics": {"enabled": False},
            "status_page": {"enabled": False},
        }
    )


class Rig:
    """A watcher on the guarded store, its store watch, REST switched up and down."""

    def __init__(
        self,
        inner: Store,
        http: httpx.AsyncClient,
        rest: dict[str, bool],
        proxy: DbProxy | None = None,
    ):
        self.inner = inner
        self.rest = rest
        self.outage = Outage(inner, proxy)
        self.clock = VirtualClock(T0)
        self.metrics = Metrics()
        self.guard = GuardedStore(self.outage, clock=self.clock)
        config = settings()
        store = self.guard.store()
        self.dispatcher = Dispatcher(
            store, config.alerting.routes, clock=self.clock, metrics=self.metrics
        )
        self.watcher = Watcher(
            config,
            store,
            clock=self.clock,
            metrics=self.metrics,
            http=http,
            dispatcher=self.dispatcher,
        )
        self.watch = StoreWatch(
            self.guard,
            self.dispatcher,
            config.alerting.routes,
            clock=self.clock,
            metrics=self.metrics,
        )

    def at(self) -> float:
        return self.clock.monotonic()

    async def until(self, seconds: float) -> None:
        """Probe every 10 s and check the store every second, up to ``seconds`` after T0."""
        while self.at() < seconds:
            if int(self.at()) % 10 == 0:
                await self.watcher.probe(REF, ProbeKind.REST)
                await self.watcher.evaluate(REF)
            await self.watch.check()
            await self.clock.sleep(1.0 - (self.at() % 1.0) or 1.0)

    def store_up(self) -> float | None:
        return self.metrics.registry.get_sample_value("sbwatch_store_up")


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A fresh database on the local PostgreSQL server, dropped at the end."""
    with fresh_database_sync("sbwatch_storeout") as name:
        yield name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    proxy: DbProxy | None = None
    inner: Store
    if request.param == "sqlite":
        inner = SqliteStore(tmp_path / "state.db")
    else:
        proxy = DbProxy()
        port = await proxy.start()
        dsn = pg_url(request.getfixturevalue("pg_database")).replace(":5432/", f":{port}/")
        assert f":{port}/" in dsn
        schema = f"t_{secrets.token_hex(6)}"  # tests never share tables
        inner = PostgresStore(dsn, schema=schema, connect_timeout_s=2.0, command_timeout_s=2.0)
    await inner.open()
    rest = {"up": True}

    def answer(request: httpx.Request) -> httpx.Response:
        if rest["up"]:
            return httpx.Response(200, json=[])
        return httpx.Response(503, text="unavailable")

    try:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            built = Rig(inner, http, rest, proxy)
            await built.watcher.start()
            try:
                yield built
            finally:
                await built.watcher.close()
    finally:
        await inner.close()
        if proxy is not None:
            await proxy.stop()


async def test_rest_outage_inside_a_store_outage_is_said_with_its_true_times(rig: Rig) -> None:
    """REST down 12 s while the store is away for 60 s: the phone's outbox gets the store's
    warning, the CRITICAL opened at the first failure, its RESOLVED lasting those seconds,
    and the store's resolve, each once, in order, once the store answers again."""
    await rig.until(10)
    assert rig.store_up() == 1.0
    rig.outage.away = True
    await rig.until(20)  # the store refuses from 10 s on
    rig.rest["up"] = False
    await rig.until(32)
    rig.rest["up"] = True
    await rig.until(61)
    assert rig.outage.refused, "the store was asked and refused"
    assert rig.store_up() == 0.0
    held = [h.notification.title for h in rig.guard.pending_notifications() if h.notification]
    assert held == [
        "WARNING sbwatch: state store unavailable",
        f"CRITICAL {REF}: rest is down",
        f"RESOLVED {REF}: rest is down (lasted 20s)",
    ]
    rig.outage.away = False
    await rig.until(70)
    assert rig.store_up() == 1.0

    notes = await rig.inner.notifications(T0)
    titles = [n.title for n in notes]
    assert titles == [
        "WARNING sbwatch: state store unavailable",
        f"CRITICAL {REF}: rest is down",
        f"RESOLVED {REF}: rest is down (lasted 20s)",
        "RESOLVED sbwatch: state store unavailable (lasted 51s)",
    ]
    assert [n.created_at - T0 for n in notes[:3]] == [
        timedelta(seconds=25),  # said at the first look 10 s into the outage, yet first
        timedelta(seconds=25),
        timedelta(seconds=60),
    ]
    assert await rig.inner.open_alerts() == []
    alert = await rig.inner.get_alert(f"{REF}:service:rest")
    assert alert is not None
    assert alert.opened_at == T0 + timedelta(seconds=20)  # the first failure, not the return
    assert alert.closed_at == T0 + timedelta(seconds=60)


async def test_the_store_warning_goes_first_though_an_alert_was_raised_before_it(
    rig: Rig,
) -> None:
    """REST fails as the store goes away: its CRITICAL is raised before the outage has lasted
    the 10 s that make it worth saying, yet the store's warning reaches the phone first (the
    outbox sends in the order messages were put in it, not by when each was made)."""
    await rig.until(10)
    rig.outage.away = True
    rig.rest["up"] = False
    await rig.until(40)
    held = [h.notification for h in rig.guard.pending_notifications() if h.notification]
    assert [n.title for n in held] == [
        "WARNING sbwatch: state store unavailable",
        f"CRITICAL {REF}: rest is down",
    ]
    assert held[1].created_at < held[0].created_at, "the CRITICAL was made first"
    rig.outage.away = False
    await rig.until(42)
    due = await rig.inner.due_notifications(rig.clock.now() + timedelta(days=1))
    assert [n.title for n in due] == [
        "WARNING sbwatch: state store unavailable",
        f"CRITICAL {REF}: rest is down",
        "RESOLVED sbwatch: state store unavailable (lasted 30s)",
    ]


async def test_messages_held_past_the_bound_are_written_as_sent_not_sent_again(
    rig: Rig,
) -> None:
    """Held messages delivered directly while the store stays away are written to the outbox
    as sent when it returns: the outbox does not send them a second time. A store away for
    less than 10 s is not said."""
    await rig.until(10)
    rig.outage.away = True
    await rig.until(19)
    assert rig.guard.pending_notifications() == []
    await rig.until(21)
    held = rig.guard.pending_notifications()
    assert [h.notification.title for h in held if h.notification] == [
        "WARNING sbwatch: state store unavailable"
    ]
    rig.guard.mark_delivered(held[0], rig.clock.now())
    assert rig.guard.pending_notifications() == []
    rig.outage.away = False
    await rig.until(23)
    warning, _ = await rig.inner.notifications(T0)
    assert warning.title == "WARNING sbwatch: state store unavailable"
    assert warning.sent_at == T0 + timedelta(seconds=21)
    due = await rig.inner.due_notifications(rig.clock.now() + timedelta(days=1))
    assert [n.title for n in due] == ["RESOLVED sbwatch: state store unavailable (lasted 11s)"]


async def test_a_long_outage_lets_go_of_history_first(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond the bound of writes held, the oldest probe results go; alerts, messages and
    states are all kept."""
    monkeypatch.setattr("sbwatch.store.guard.MAX_HELD", 12)
    await rig.until(10)
    rig.outage.away = True
    await rig.until(20)
    rig.rest["up"] = False
    await rig.until(200)
    kept = {h.op for h in rig.guard.held}
    assert len(rig.guard.held) <= 12, [h.op for h in rig.guard.held]
    assert rig.guard.dropped > 0
    assert {"save_alert", "enqueue_notification", "save_probe_status"} <= kept
    titles = [h.notification.title for h in rig.guard.held if h.notification]
    assert titles[:2] == [
        "WARNING sbwatch: state store unavailable",
        f"CRITICAL {REF}: rest is down",
    ]


async def test_the_store_warning_comes_before_an_alert_raised_before_it_was_said(
    rig: Rig,
) -> None:
    """An alert raised before the outage was said (10 s after its onset) is still said after
    the store's warning: the warning is about the onset."""
    await rig.until(10)
    rig.outage.away = True
    rig.rest["up"] = False
    await rig.watcher.probe(REF, ProbeKind.REST)  # fails, confirms after 5 s: down, alerted
    await rig.watch.check()  # away 5 s: not said yet
    rig.clock.advance(5.0)
    (critical,) = rig.guard.pending_notifications()
    assert critical.notification is not None
    assert critical.notification.title == f"CRITICAL {REF}: rest is down"
    await rig.watch.check()
    titles = [h.notification.title for h in rig.guard.pending_notifications() if h.notification]
    assert titles == ["WARNING sbwatch: state store unavailable", f"CRITICAL {REF}: rest is down"]


async def test_an_outage_inside_a_store_outage_is_recorded_as_an_incident(rig: Rig) -> None:
    """REST down while the store is away: when it returns, the incident is recorded as it
    happened: opened when the CRITICAL was sent, its messages on the timeline at their times,
    closed when REST came back, with the summary of the resolve."""
    await rig.until(10)
    rig.outage.away = True
    await rig.until(20)
    rig.rest["up"] = False
    await rig.until(32)
    rig.rest["up"] = True
    await rig.until(61)
    rig.outage.away = False
    await rig.until(70)

    (incident,) = await rig.inner.incidents(REF)
    assert incident.cause == "rest is down"
    assert incident.opened_at == T0 + timedelta(seconds=25)
    assert incident.closed_at == T0 + timedelta(seconds=40)
    assert incident.summary.startswith(f"RESOLVED {REF}: rest is down (lasted 15s)")
    events = await rig.inner.incident_events(incident.id)
    assert [(e.at - T0, e.kind.value, e.text) for e in events] == [
        (timedelta(seconds=25), "message", f"CRITICAL {REF}: rest is down"),
        (timedelta(seconds=60), "message", f"RESOLVED {REF}: rest is down (lasted 15s)"),
        (timedelta(seconds=60), "close", events[-1].text),
    ]
    assert await rig.inner.current_incident(REF) is None


async def test_held_work_that_fails_on_its_own_does_not_keep_the_store_away(
    tmp_path: Path,
) -> None:
    """A piece of held work that fails with an error of its own (a bug, not the store) is
    logged and let go: the writes held after it are written and the store is back."""
    inner = SqliteStore(tmp_path / "state.db")
    await inner.open()
    try:
        outage = Outage(inner)
        guard = GuardedStore(outage, clock=VirtualClock(T0))
        store = guard.store()
        outage.away = True
        await store.put_state("test", "before", {"n": 1})
        assert not guard.up

        async def broken(_: Store) -> None:
            raise RuntimeError("a bug in the work")

        assert guard.later(broken)
        await store.put_state("test", "after", {"n": 2})
        outage.away = False
        with capture_logs() as logs:
            assert await guard.recover() is not None
        assert guard.up
        assert {"n": 2} == await inner.get_state("test", "after")
        assert ["held work failed: let go"] == [
            e["event"] for e in logs if e["log_level"] == "error"
        ]
    finally:
        await inner.close()


async def test_later_is_refused_while_the_store_answers(tmp_path: Path) -> None:
    """Work handed over while the store answers is not held: the caller's failure was not an
    outage."""
    inner = SqliteStore(tmp_path / "state.db")
    await inner.open()
    try:
        guard = GuardedStore(inner, clock=VirtualClock(T0))

        async def work(_: Store) -> None:
            raise AssertionError("never run")

        assert not guard.later(work)
        assert guard.held == []
    finally:
        await inner.close()


async def test_a_state_document_answers_what_was_last_written_while_the_store_is_away(
    tmp_path: Path,
) -> None:
    """A state document read during an outage answers what was last written to it, before or
    during the outage (the mail cursor read again on a reconnect), not the answer of the
    last read: an email appended meanwhile is not skipped as if the watcher started afresh."""
    inner = SqliteStore(tmp_path / "state.db")
    await inner.open()
    try:
        outage = Outage(inner)
        store = GuardedStore(outage, clock=VirtualClock(T0)).store()
        assert await store.get_state("mail", "cursor") is None  # the first start reads nothing
        await store.put_state("mail", "cursor", {"last_uid": 0})
        outage.away = True
        assert {"last_uid": 0} == await store.get_state("mail", "cursor")
        await store.put_state("mail", "cursor", {"last_uid": 3})  # held
        assert {"last_uid": 3} == await store.get_state("mail", "cursor")
        await store.delete_state("mail", "cursor")
        assert await store.get_state("mail", "cursor") is None
    finally:
        await inner.close()
