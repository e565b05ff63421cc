"""Watching the state store: said to the phone when it is away, and nothing lost meanwhile.

Every ``CHECK_EVERY_S`` the job writes to the store when it is away (see ``store.guard``):
once it answers, everything held is written in order, with the times it happened, and the
outbox delivers the messages held as usual.

An outage that lasts ``SAY_AFTER_S`` is said once, as a WARNING of sbwatch itself (since when
and for how long), and resolved with how long it lasted. Those two messages go through the
outbox like any other, so they are held too while the store is away, the warning before any
alert raised during the outage.

Messages held are delivered through the outbox when the store returns within
``DIRECT_AFTER_S``. A store away longer than that is not a blip (a SQLite file locked by a
stuck process, a PostgreSQL server that does not come back): a page must not wait on it, so
the messages held are then sent directly, route by route in order, and written to the outbox
as already sent when the store returns: never lost, never sent twice. The bound is a minute:
longer than a SQLite busy wait or a PostgreSQL fail-over, which the outbox rides out with its
history whole, and about one evaluation cycle, the delay a page already has.

A daemon stopped cleanly (SIGTERM) while the store is away tries it again for ``STOP_TRY_S``
(:meth:`StoreWatch.last_chance`): when it answers, everything held is written and the outbox
delivers what is due before the daemon exits. When it stays away, the messages held are sent
directly (a page is not lost; the next daemon may say again an alert still open, as it cannot
know it was said), and the log names what is lost with the process: the alerts and messages
held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sbwatch.alerting.dispatch import Delivery, Dispatcher, deliver
from sbwatch.alerting.messages import render
from sbwatch.alerting.phone import Target
from sbwatch.alerting.words import STORE_AWAY_TITLE, store_away_body
from sbwatch.config.settings import RouteSettings
from sbwatch.core.clock import Clock
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import PROVIDER, Alert, Severity
from sbwatch.core.subjects import Subject
from sbwatch.policy.alerts import AlertAction, alert_key
from sbwatch.store.guard import GuardedStore

SAY_AFTER_S = 10.0
"""An outage is said once it lasts this long: a write that waited out one SQLite busy timeout
(5 s) is not worth a message. Said late, it still comes first among the messages held."""
CHECK_EVERY_S = 1.0
"""How often an absent store is tried again (and the gauge set)."""
DIRECT_AFTER_S = 60.0
"""Messages held longer than this while the store is away are sent directly."""
STOP_TRY_S = 10.0
"""At a clean stop, how long an absent store is tried again (systemd's stop timeout is 90 s:
well within it, with the sends after it)."""
SENDER = Target("sbwatch")


class StoreWatch:
    """Says an outage of the state store, writes what was held when it returns, and delivers
    held messages directly when it stays away."""

    def __init__(
        self,
        guard: GuardedStore,
        dispatcher: Dispatcher,
        routes: Sequence[RouteSettings],
        *,
        clock: Clock,
        metrics: Metrics,
        send_timeout_s: float = 30.0,
    ) -> None:
        self.guard = guard
        self.dispatcher = dispatcher
        self.routes = {route.name: route for route in routes}
        self.clock = clock
        self.metrics = metrics
        self.send_timeout_s = send_timeout_s
        self.said: Alert | None = None
        self._log = get_logger("store")

    async def check(self) -> None:
        """One look: say an outage, try the store again, deliver or write what was held."""
        guard = self.guard
        if guard.down_since is not None:
            self.metrics.store_up.set(0)
            away_s = (self.clock.now() - guard.down_since).total_seconds()
            if self.said is None and away_s >= SAY_AFTER_S:
                await self._say(guard.down_since)
        back_after = await guard.recover()
        self.metrics.store_up.set(1 if guard.up else 0)
        if guard.down_since is not None:
            if (self.clock.now() - guard.down_since).total_seconds() >= DIRECT_AFTER_S:
                await self._deliver_held()
            return
        if self.said is not None and back_after is not None:
            await self._resolve(back_after)

    async def _say(self, since: datetime) -> None:
        now = self.clock.now()
        alert = Alert(
            key=alert_key(PROVIDER, Subject.STORE),
            project=PROVIDER,
            severity=Severity.WARNING,
            title=STORE_AWAY_TITLE,
            body=store_away_body(self.guard.why, DIRECT_AFTER_S),
            opened_at=since,
            last_sent_at=now,
        )
        self.said = alert
        self._log.error("state store unavailable said", since=since.isoformat())
        action = AlertAction("open", alert)
        before = len(self.guard.held)
        await self.dispatcher.submit(action, render(action, SENDER, now))
        self.guard.first(before)

    async def _resolve(self, away_s: float) -> None:
        alert = self.said
        if alert is None:
            return
        now = self.clock.now()
        closed = replace(alert, closed_at=now, last_sent_at=now)
        action = AlertAction("resolve", closed, ended_at=now)
        self._log.warning("state store back", away_s=round(away_s, 1))
        await self.dispatcher.submit(action, render(action, SENDER, now))
        self.said = None

    async def _deliver_held(self) -> None:
        """Send the held messages now, each route in order; a route that fails waits."""
        blocked: set[str] = set()
        for held in self.guard.pending_notifications():
            note = held.notification
            if note is None or note.route in blocked:
                continue
            route = self.routes.get(note.route)
            if route is None:
                continue
            result = await deliver(
                route,
                note.title,
                note.body,
                note.severity,
                timeout_s=self.send_timeout_s,
                good_news=note.good_news,
            )
            self.metrics.notifications.labels(outcome=result.delivery.value).inc()
            if result.delivery is not Delivery.SENT:
                blocked.add(note.route)
                self._log.warning("held notification not sent", route=note.route)
                continue
            self.guard.mark_delivered(held, self.clock.now())
            self._log.info("held notification sent directly", route=note.route)

    async def last_chance(self) -> None:
        """At a clean stop: write what is held if the store answers within ``STOP_TRY_S``,
        then deliver what is due; else send the held messages directly and log what is lost."""
        if self.guard.up:
            return
        self._log.warning("stopping with the state store away: trying it again")
        try:
            async with asyncio.timeout(STOP_TRY_S):
                await self.check()
                while not self.guard.up:
                    await self.clock.sleep(CHECK_EVERY_S)
                    await self.check()
        except TimeoutError:
            pass
        if self.guard.up:
            try:
                async with asyncio.timeout(self.send_timeout_s):
                    await self.dispatcher.flush()
            except TimeoutError:
                self._log.warning("outbox not emptied at stop: delivered at the next start")
            return
        await self._deliver_held()
        self._say_lost()

    def _say_lost(self) -> None:
        """Name in the log what goes with the process: the alerts and messages held."""
        alerts = sorted({held.args[0].key for held in self.guard.held if held.op == "save_alert"})
        notes = [h.notification for h in self.guard.held if h.notification is not None]
        self._log.error(
            "state store away at stop: held writes lost",
            writes=len(self.guard.held),
            alerts=alerts,
            messages_sent=[n.title for n in notes if n.sent_at is not None],
            messages_lost=[n.title for n in notes if n.sent_at is None],
        )
