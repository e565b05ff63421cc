"""Delivery through apprise from a durable outbox: recorded first, sent later, never lost.

How a failure is judged transient or permanent. apprise answers a notify call with an
``AppriseResult`` (a status, and per service the log lines captured during the attempt), not
with HTTP statuses or exceptions. Each call here uses its own ``apprise.Apprise`` holding the
one route URL, and reads that result:

- the URL is refused by ``Apprise.add`` (unknown schema, missing parts): permanent;
- the call or the service timed out: transient;
- a captured line carries the HTTP status the way apprise's HTTP plugins write it
  (``error=NNN``): 5xx, 408, 425 and 429 are transient, any other status is permanent;
- a captured line reports a connection error or a timeout: transient;
- anything else unrecognised: transient, so a page is retried (with capped backoff) rather
  than dropped; the attempts stay visible in ``sbwatch alert list`` and the metrics.

apprise's ``notify`` blocks, so it runs in a thread under ``asyncio.timeout``; apprise gets a
shorter deadline of its own so it normally gives up first. Delivery is at least once: a send
that the receiver accepted but that timed out on our side is retried.

The captured lines may contain the route URL, so only the status code and a fixed reason
are kept; route URLs (secrets) never reach a log line, a reason or a metric label.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import apprise
import httpx
from pydantic import SecretStr

from sbwatch.alerting.ack_link import AckLinks, is_ntfy, with_ack_button
from sbwatch.alerting.phone import Message
from sbwatch.alerting.words import (
    CONNECTION_FAILED,
    INVALID_URL,
    ROUTE_GONE,
    TIMED_OUT,
    UNRECOGNISED,
    http_failure,
    raised_failure,
    undelivered_body,
    undelivered_title,
)
from sbwatch.config.settings import RouteSettings
from sbwatch.core.clock import Clock
from sbwatch.core.lease import LEASE_NAME, Fences
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import Alert, Notification, Severity
from sbwatch.core.subjects import AlertKey, Subject
from sbwatch.policy.alerts import AlertAction
from sbwatch.store.base import Store

_STATUS = re.compile(r"error=(\d{3})\b")
_CONNECTION = re.compile(r"connection error|timed out|timeout", re.IGNORECASE)
_TRANSIENT_STATUSES = frozenset({408, 425, 429})
_EVERYTHING = timedelta(days=36_500)
"""Asking the outbox for messages due this far ahead lists every unsent one."""
_NOTIFY_TYPE = {
    Severity.INFO: apprise.NotifyType.INFO,
    Severity.WARNING: apprise.NotifyType.WARNING,
    Severity.CRITICAL: apprise.NotifyType.FAILURE,
}


class Delivery(StrEnum):
    """How one send attempt went."""

    SENT = "sent"
    RETRY = "retry"  # transient: try again later
    FAILED = "failed"  # permanent: a person must fix the route


@dataclass(frozen=True)
class SendResult:
    """The outcome of one send attempt and a reason safe to log and store."""

    delivery: Delivery
    reason: str = ""
    status: int | None = None


def classify(timed_out: bool, messages: Iterable[str]) -> SendResult:
    """Judge a failed apprise attempt from its status and captured log lines."""
    lines = list(messages)
    for line in lines:
        match = _STATUS.search(line)
        if match:
            status = int(match.group(1))
            transient = status >= 500 or status in _TRANSIENT_STATUSES
            kind = Delivery.RETRY if transient else Delivery.FAILED
            return SendResult(kind, http_failure(status), status)
    if timed_out:
        return SendResult(Delivery.RETRY, TIMED_OUT)
    if any(_CONNECTION.search(line) for line in lines):
        return SendResult(Delivery.RETRY, CONNECTION_FAILED)
    return SendResult(Delivery.RETRY, UNRECOGNISED)


def notify_type(severity: Severity, good_news: bool = False) -> apprise.NotifyType:
    """apprise's type of a message: success for good news, else by severity."""
    return apprise.NotifyType.SUCCESS if good_news else _NOTIFY_TYPE[severity]


def _send_blocking(
    url: str, title: str, body: str, kind: apprise.NotifyType, timeout_s: float
) -> SendResult:
    """One apprise call with one URL (blocking; run it in a thread)."""
    ap = apprise.Apprise()
    if not ap.add(url):
        return SendResult(Delivery.FAILED, INVALID_URL)
    result = ap.notify(body=body, title=title, notify_type=kind, timeout=timeout_s)
    if bool(result):
        return SendResult(Delivery.SENT)
    timed_out = result.status == apprise.AppriseResultStatus.TIMEOUT
    messages = [entry.message for service in result for entry in service.logs()]
    return classify(timed_out, messages)


async def deliver(
    route: RouteSettings,
    title: str,
    body: str,
    severity: Severity,
    *,
    timeout_s: float = 30.0,
    good_news: bool = False,
) -> SendResult:
    """Send one message through one route now, without the outbox."""
    url = route.url.get_secret_value()
    kind = notify_type(severity, good_news)
    try:
        async with asyncio.timeout(timeout_s + 5.0):
            return await asyncio.to_thread(_send_blocking, url, title, body, kind, timeout_s)
    except TimeoutError:
        return SendResult(Delivery.RETRY, TIMED_OUT)
    except Exception as exc:  # library boundary: keep the type only, the text may hold the URL
        return SendResult(Delivery.RETRY, raised_failure(type(exc).__name__))


def route_matches(route: RouteSettings, project: str, severity: Severity) -> bool:
    """Whether a route takes messages of this project and severity."""
    projects_ok = "*" in route.projects or project in route.projects
    return projects_ok and severity in route.severities


def backoff_s(attempts: int, retry_max_s: float, rng: random.Random, base_s: float = 10.0) -> float:
    """Capped exponential backoff with jitter: base*2^attempts, at most ``retry_max_s``."""
    ceiling = min(retry_max_s, base_s * 2.0 ** min(attempts, 30))
    return ceiling * rng.uniform(0.5, 1.0)


class Dispatcher:
    """Records alert messages in the outbox, then delivers them with retries."""

    def __init__(
        self,
        store: Store,
        routes: Sequence[RouteSettings],
        *,
        clock: Clock,
        metrics: Metrics,
        retry_max_s: float = 600,
        http: httpx.AsyncClient | None = None,
        send_timeout_s: float = 30.0,
        rng: random.Random | None = None,
        fences: Fences | None = None,
        acks: AckLinks | None = None,
    ) -> None:
        """``fences``: with high availability, an alert is recorded and sent only by the holder
        of the lease that covers its project (the leader lease, unless projects are shared).
        ``acks``: messages of an open alert to an ntfy route carry an Acknowledge button."""
        self._store = store
        self._acks = acks
        self._fences = fences
        self._routes = {route.name: route for route in routes}
        self._clock = clock
        self._metrics = metrics
        self._retry_max_s = retry_max_s
        self._http = http
        self._send_timeout_s = send_timeout_s
        self._rng = rng or random.Random()
        self._flushing = asyncio.Lock()
        self._log = get_logger("alerting")

    async def submit(self, action: AlertAction, message: Message) -> list[Notification]:
        """Save the alert and enqueue ``message`` for every matching route, before any send."""
        alert = action.alert
        lease = None if self._fences is None else self._fences.lease_for(alert.project)
        if not self._acting(lease):
            self._log.info("alert left to the leader", key=alert.key, kind=action.kind)
            return []
        if action.kind != "notice":
            await self._store.save_alert(alert)
        if not action.send:
            self._log.info(
                "alert recorded", key=alert.key, kind=action.kind, sent=False, note=action.note
            )
            return []
        now = self._clock.now()
        queued = []
        for route in self._routes.values():
            if route_matches(route, alert.project, action.severity):
                queued.append(
                    await self._store.enqueue_notification(
                        alert.key,
                        route.name,
                        action.severity,
                        message.title,
                        message.body,
                        now,
                        good_news=message.good_news,
                        lease=lease,
                    )
                )
        self._log.info(
            "alert recorded",
            key=alert.key,
            kind=action.kind,
            sent=True,
            routes=[n.route for n in queued],
        )
        return queued

    async def pass_on(
        self, alert: Alert, message: Message, routes: Sequence[str], *, paged_at: datetime
    ) -> list[Notification]:
        """Pass a critical nobody acknowledged on to ``routes`` (whatever their filters), once:
        the store records the alert as passed on before the messages are queued, so neither a
        second cycle nor a restart queues them again."""
        lease = None if self._fences is None else self._fences.lease_for(alert.project)
        if not self._acting(lease):
            return []
        now = self._clock.now()
        known = [name for name in routes if name in self._routes]
        if not await self._store.claim_alert_escalation(
            alert.key, alert.project, alert.opened_at, now, known
        ):
            return []
        queued = [
            await self._store.enqueue_notification(
                alert.key, name, Severity.CRITICAL, message.title, message.body, now, lease=lease
            )
            for name in known
        ]
        self._log.warning(
            "alert passed on",
            key=alert.key,
            routes=known,
            unacknowledged_s=round((now - paged_at).total_seconds()),
        )
        return queued

    async def flush(self) -> int:
        """Send due notifications, each route strictly in order; return how many were delivered.

        A route's oldest unsent message goes first: while it waits for a retry, the route's
        later messages wait behind it, so a phone never sees a resolve before its alert.
        """
        async with self._flushing:
            now = self._clock.now()
            pending = await self._store.due_notifications(now + _EVERYTHING)
            blocked: set[str] = set()
            lost: set[str] = set()  # leases another instance holds now: theirs to send
            sent = 0
            for notification in pending:
                lease = notification.lease or LEASE_NAME
                if notification.route in blocked or lease in lost:
                    continue
                if not self._acting(lease):
                    lost.add(lease)
                    continue
                due = notification.next_attempt_at is None or notification.next_attempt_at <= now
                if due and not await self._claim(notification, lease):
                    lost.add(lease)
                    continue
                outcome = await self._attempt(notification) if due else Delivery.RETRY
                if outcome is Delivery.SENT:
                    sent += 1
                elif outcome is Delivery.RETRY:
                    blocked.add(notification.route)
            return sent

    def acts_for(self, project: str) -> bool:
        """Whether this instance records and sends the messages of ``project``."""
        return self._fences is None or self._acting(self._fences.lease_for(project))

    def _acting(self, lease: str | None) -> bool:
        return self._fences is None or self._fences.fence(lease or LEASE_NAME).acting()

    async def _claim(self, notification: Notification, lease: str) -> bool:
        """Claim the message under the epoch of the lease that covers it, refused by the store
        for a stale one; then, at the last moment before the send, check it still acts."""
        if self._fences is None:
            return True
        fence = self._fences.fence(lease)
        epoch = fence.epoch
        claimed = epoch is not None and await self._store.claim_notification(
            notification.id, epoch, lease
        )
        if not claimed or not fence.acting():
            self._log.warning(
                "notification left to the leader", notification=notification.id, epoch=epoch
            )
            return False
        return True

    async def _attempt(self, notification: Notification) -> Delivery:
        route = self._routes.get(notification.route)
        if route is None:
            result = SendResult(Delivery.FAILED, ROUTE_GONE)
        else:
            route = await self._with_button(route, notification)
            result = await deliver(
                route,
                notification.title,
                notification.body,
                notification.severity,
                timeout_s=self._send_timeout_s,
                good_news=notification.good_news,
            )
        await self._record(notification, result)
        return result.delivery

    async def _with_button(self, route: RouteSettings, notification: Notification) -> RouteSettings:
        """The route, its URL carrying an Acknowledge button when it is ntfy's, links are
        configured and the message is about an alert still open (not good news)."""
        url = route.url.get_secret_value()
        if self._acks is None or notification.good_news or not is_ntfy(url):
            return route
        project = AlertKey.parse(notification.alert_key).project
        alert = next(
            (a for a in await self._store.open_alerts(project) if a.key == notification.alert_key),
            None,
        )
        if alert is None:
            return route
        button = with_ack_button(url, self._acks.url(route.name, alert))
        return route.model_copy(update={"url": SecretStr(button)})

    async def _record(self, notification: Notification, result: SendResult) -> None:
        now = self._clock.now()
        fields: dict[str, Any] = {
            "route": notification.route,
            "notification": notification.id,
            "attempt": notification.attempts + 1,
        }
        if result.delivery is Delivery.SENT:
            await self._store.mark_sent(notification.id, now)
            self._log.info("notification sent", **fields)
        elif result.delivery is Delivery.RETRY:
            delay = backoff_s(notification.attempts, self._retry_max_s, self._rng)
            await self._store.mark_retry(
                notification.id, now + timedelta(seconds=delay), result.reason
            )
            self._log.warning(
                "notification retry", reason=result.reason, retry_in_s=round(delay, 1), **fields
            )
        else:
            await self._store.mark_failed(notification.id, result.reason, now)
            self._log.error("notification failed", reason=result.reason, **fields)
            await self._surface(notification, result.reason)
        self._metrics.notifications.labels(outcome=result.delivery.value).inc()

    async def _surface(self, failed: Notification, reason: str) -> None:
        """Pass a message one route refused for good to every other route, with why.

        The report goes to all other routes whatever their filters: a route that refuses is a
        person who is not being told. A report that fails in turn is not reported again.
        """
        key = AlertKey.parse(failed.alert_key)
        if key.subject == Subject.DELIVERY:
            return
        title = undelivered_title(failed.route, failed.title)
        body = undelivered_body(failed.route, reason, failed.body)
        now = self._clock.now()
        others = [name for name in self._routes if name != failed.route]
        for name in others:
            await self._store.enqueue_notification(
                str(AlertKey(key.project, Subject.DELIVERY)),
                name,
                failed.severity,
                title,
                body,
                now,
                lease=failed.lease,
            )
        if others:
            self._log.warning(
                "notification failure passed on", route=failed.route, to=others, reason=reason
            )

    async def heartbeat(self, url: SecretStr) -> bool:
        """Ping a healthchecks-style URL; True when it answered 2xx. The URL is never logged."""
        try:
            if self._http is not None:
                response = await self._http.get(url.get_secret_value(), timeout=10.0)
            else:
                async with httpx.AsyncClient() as client:
                    response = await client.get(url.get_secret_value(), timeout=10.0)
        except httpx.HTTPError as exc:
            self._log.warning("heartbeat failed", error=type(exc).__name__)
            return False
        if not response.is_success:
            self._log.warning("heartbeat failed", status=response.status_code)
            return False
        return True
