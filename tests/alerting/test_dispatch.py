"""Delivery through apprise to a real HTTP receiver on 127.0.0.1: once, never lost."""

from __future__ import annotations

import io
import logging
import random
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from sbwatch.alerting.dispatch import (
    Delivery,
    Dispatcher,
    SendResult,
    backoff_s,
    classify,
    deliver,
    route_matches,
)
from sbwatch.alerting.phone import Message
from sbwatch.config.settings import RouteSettings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import Alert, Notification, Severity
from sbwatch.policy.alerts import AlertAction, notice
from sbwatch.store.sqlite import SqliteStore

# tests are not a package for mypy; pytest's importlib mode resolves the sibling module
from .conftest import Receiver, StoreFactory

# apprise loads its plugins on first use; one of them imports the deprecated stdlib imghdr
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

P = "abcdefghijklmnopqrst"
SECRET = "s3cr3t-token-4f9a2b"


def route(url: str, name: str = "phone", **kw: Any) -> RouteSettings:
    """A route with a SecretStr URL."""
    return RouteSettings(name=name, url=SecretStr(url), **kw)


def action(
    clock: VirtualClock, severity: Severity = Severity.CRITICAL, send: bool = True
) -> AlertAction:
    """An open action for project P."""
    now = clock.now()
    alert = Alert(f"{P}:diagnosis", P, severity, "IO budget exhausted", "body", now, now)
    return AlertAction("open", alert, send)


def submit(d: Dispatcher, act: AlertAction) -> Awaitable[list[Notification]]:
    """Hand one action to the dispatcher with its message."""
    return d.submit(act, Message("CRITICAL Shop: IO budget exhausted", "Run: sbwatch escalate"))


def sent(metrics: Metrics, outcome: str) -> float:
    """The notifications counter for one outcome."""
    value = metrics.registry.get_sample_value("sbwatch_notifications_total", {"outcome": outcome})
    return value or 0.0


@pytest.fixture
def clock() -> VirtualClock:
    """A virtual clock."""
    return VirtualClock()


@pytest.fixture
def metrics() -> Metrics:
    """A fresh metrics registry."""
    return Metrics()


def dispatcher(
    store: Any, routes: list[RouteSettings], clock: VirtualClock, metrics: Metrics
) -> Dispatcher:
    """A dispatcher with a seeded jitter source and short send timeout."""
    return Dispatcher(
        store,
        routes,
        clock=clock,
        metrics=metrics,
        retry_max_s=600,
        rng=random.Random(1),
        send_timeout_s=10,
    )


async def test_delivered_once(
    receiver: Receiver,
    store: SqliteStore,
    clock: VirtualClock,
    metrics: Metrics,
) -> None:
    """A submitted alert is saved, queued and delivered exactly once."""
    d = dispatcher(store, [route(receiver.url())], clock, metrics)
    queued = await submit(d, action(clock))
    assert ["phone"] == [n.route for n in queued]
    assert 1 == len(await store.open_alerts())
    assert 1 == await d.flush()
    assert 0 == await d.flush()
    assert ["CRITICAL Shop: IO budget exhausted"] == [p["title"] for p in receiver.posts]
    assert "Run: sbwatch escalate" == receiver.posts[0]["message"]
    assert (1.0, []) == (sent(metrics, "sent"), await store.due_notifications(clock.now()))


@pytest.mark.parametrize(("good_news", "kind"), [(True, "success"), (False, "failure")])
async def test_good_news_goes_out_as_success(
    good_news: bool,
    kind: str,
    receiver: Receiver,
    store: SqliteStore,
    clock: VirtualClock,
    metrics: Metrics,
) -> None:
    """A resolve reaches the phone with apprise's success type, a critical with failure."""
    d = dispatcher(store, [route(receiver.url())], clock, metrics)
    message = Message("RESOLVED Shop: IO budget exhausted", "Lasted 4m.", good_news=good_news)
    await d.submit(action(clock), message)
    assert 1 == await d.flush()
    assert [kind] == [post["type"] for post in receiver.posts]


@pytest.mark.parametrize("failure", ["down", 500, 429])
async def test_transient_failure_retried_until_delivered_once(
    failure: str | int,
    receiver: Receiver,
    store: SqliteStore,
    clock: VirtualClock,
    metrics: Metrics,
) -> None:
    """Receiver down (or 5xx, 429): retried with backoff, delivered once after recovery."""
    d = dispatcher(store, [route(receiver.url())], clock, metrics)
    if failure == "down":
        await receiver.down()
    else:
        await receiver.up(int(failure))
    await submit(d, action(clock))
    assert 0 == await d.flush()
    (pending,) = await store.notifications(clock.now() - timedelta(hours=1))
    assert (1, None, None) == (pending.attempts, pending.sent_at, pending.failed)
    assert pending.next_attempt_at is not None
    assert pending.next_attempt_at > clock.now()
    assert 0 == await d.flush()  # not due yet: no attempt
    assert 1.0 == sent(metrics, "retry")
    await receiver.up(200)
    clock.advance(600)
    assert 1 == await d.flush()
    assert 0 == await d.flush()
    assert 1 == len(receiver.posts)


async def test_client_error_is_permanent_and_surfaced(
    receiver: Receiver,
    store: SqliteStore,
    clock: VirtualClock,
    metrics: Metrics,
) -> None:
    """A 4xx marks the notification failed, counts it and logs the route name, then stops."""
    await receiver.up(400)
    d = dispatcher(store, [route(receiver.url())], clock, metrics)
    await submit(d, action(clock))
    with capture_logs() as logs:
        assert 0 == await d.flush()
    (failed,) = await store.notifications(clock.now() - timedelta(hours=1))
    assert "http 400" == failed.failed
    assert 1.0 == sent(metrics, "failed")
    assert [("notification failed", "phone", "http 400")] == [
        (e["event"], e["route"], e["reason"]) for e in logs if e["log_level"] == "error"
    ]
    await receiver.up(200)
    clock.advance(3600)
    assert (0, []) == (await d.flush(), receiver.posts)


async def test_permanent_failure_is_passed_on_by_the_next_working_route(
    receiver: Receiver,
    store: SqliteStore,
    clock: VirtualClock,
    metrics: Metrics,
) -> None:
    """Route "phone" answers 400: "chat" (warnings only) still gets the alert and the report."""
    phone = route(receiver.url("phone"), "phone")
    chat = route(receiver.url("chat"), "chat", severities=[Severity.WARNING])
    d = dispatcher(store, [phone, chat], clock, metrics)
    await submit(d, action(clock, Severity.WARNING))
    receiver.fail_paths.add("/phone")
    assert 1 == await d.flush()  # chat took the alert; phone refused it
    assert 1 == await d.flush()  # chat took the report
    assert ["/chat", "/chat"] == receiver.paths
    report = receiver.posts[1]
    assert "sbwatch could not deliver to route phone: CRITICAL Shop" in report["title"]
    assert "(http 400)" in report["message"]
    assert "Run: sbwatch escalate" in report["message"]
    notes = await store.notifications(clock.now() - timedelta(hours=1))
    assert [("phone", "http 400"), ("chat", None), ("chat", None)] == [
        (n.route, n.failed) for n in notes
    ]
    assert f"{P}:delivery" == notes[2].alert_key


async def test_a_failed_report_is_not_reported_again(
    receiver: Receiver,
    store: SqliteStore,
    clock: VirtualClock,
    metrics: Metrics,
) -> None:
    """Both routes refuse: each original is reported once on the other, and that is all."""
    await receiver.up(400)
    d = dispatcher(
        store, [route(receiver.url("a"), "a"), route(receiver.url("b"), "b")], clock, metrics
    )
    await submit(d, action(clock))
    for _ in range(4):
        await d.flush()
    notes = await store.notifications(clock.now() - timedelta(hours=1))
    assert [("a", f"{P}:diagnosis"), ("b", f"{P}:diagnosis")] == [
        (n.route, n.alert_key) for n in notes[:2]
    ]
    assert [("b", f"{P}:delivery"), ("a", f"{P}:delivery")] == [
        (n.route, n.alert_key) for n in notes[2:]
    ]
    assert all(n.failed == "http 400" for n in notes)
    assert 4.0 == sent(metrics, "failed")


async def test_crash_between_record_and_send_delivers_once(
    receiver: Receiver,
    make_store: StoreFactory,
    tmp_path: Path,
    clock: VirtualClock,
    metrics: Metrics,
) -> None:
    """A notification recorded before a crash is sent once by the next process."""
    path = tmp_path / "s.db"
    first = dispatcher(await make_store(path), [route(receiver.url())], clock, metrics)
    await submit(first, action(clock))
    del first  # the process dies before any flush
    second = dispatcher(await make_store(path), [route(receiver.url())], clock, Metrics())
    assert 1 == await second.flush()
    assert 0 == await second.flush()
    assert 1 == len(receiver.posts)


async def test_route_secret_never_logged(
    receiver: Receiver,
    store: SqliteStore,
    clock: VirtualClock,
    metrics: Metrics,
) -> None:
    """A token in the route URL appears in no captured log event or stored reason."""
    d = dispatcher(store, [route(receiver.url(f"hook/{SECRET}"))], clock, metrics)
    with capture_logs() as logs:
        await submit(d, action(clock))
        await d.flush()
        await receiver.down()
        await submit(d, action(clock))
        await d.flush()
        await receiver.up(403)
        clock.advance(600)
        await d.flush()
    assert [f"/hook/{SECRET}"] == receiver.paths
    assert {"notification sent", "notification retry", "notification failed"} <= {
        e["event"] for e in logs
    }
    assert SECRET not in repr(logs)
    assert SECRET not in repr(await store.notifications(clock.now() - timedelta(hours=1)))


async def test_route_secret_stays_out_of_stdlib_logging(
    receiver: Receiver,
    make_store: StoreFactory,
    tmp_path: Path,
    clock: VirtualClock,
    metrics: Metrics,
) -> None:
    """apprise, urllib3 and httpx log full URLs at DEBUG/INFO; a host's stdlib logging set-up
    sees none of them: neither a route's nor the heartbeat's secret."""
    root, seen = logging.getLogger(), io.StringIO()
    handler, level = logging.StreamHandler(seen), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        failed = await deliver(route(f"json://127.0.0.1:9/hook/{SECRET}"), "t", "b", Severity.INFO)
        sent = await deliver(route(receiver.url(f"hook/{SECRET}")), "t", "b", Severity.INFO)
        async with httpx.AsyncClient() as http:
            d = Dispatcher(
                await make_store(tmp_path / "s.db"), [], clock=clock, metrics=metrics, http=http
            )
            url = f"http://127.0.0.1:{receiver.port}/ping/{SECRET}"
            pinged = await d.heartbeat(SecretStr(url))
        logging.getLogger("sbwatch.test").debug("a line that does reach the root logger")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert (Delivery.RETRY, Delivery.SENT, True) == (failed.delivery, sent.delivery, pinged)
    assert [f"/hook/{SECRET}", f"/ping/{SECRET}"] == receiver.paths
    assert "a line that does reach the root logger" in seen.getvalue()
    assert SECRET not in seen.getvalue()


async def test_routing_by_severity_and_project(
    store: SqliteStore, clock: VirtualClock, metrics: Metrics
) -> None:
    """Only routes whose severity and project filters match get a notification."""
    routes = [
        route("json://127.0.0.1:9/a", "pager", severities=[Severity.CRITICAL]),
        route("json://127.0.0.1:9/b", "chat"),
        route("json://127.0.0.1:9/c", "other", projects=["zzzzzzzzzzzzzzzzzzzz"]),
    ]
    d = dispatcher(store, routes, clock, metrics)
    warning = await submit(d, action(clock, Severity.WARNING))
    critical = await submit(d, action(clock, Severity.CRITICAL))
    assert (["chat"], ["pager", "chat"]) == (
        [n.route for n in warning],
        [n.route for n in critical],
    )


async def test_unsent_action_is_recorded_without_notification(
    store: SqliteStore, clock: VirtualClock, metrics: Metrics
) -> None:
    """A silenced action saves the alert and queues nothing."""
    d = dispatcher(store, [route("json://127.0.0.1:9/a")], clock, metrics)
    assert [] == await submit(d, action(clock, send=False))
    assert [f"{P}:diagnosis"] == [a.key for a in await store.open_alerts()]


async def test_notice_is_sent_but_not_kept_open(
    receiver: Receiver,
    store: SqliteStore,
    clock: VirtualClock,
    metrics: Metrics,
) -> None:
    """A notice is delivered and leaves no open alert."""
    d = dispatcher(store, [route(receiver.url())], clock, metrics)
    await submit(
        d, notice(P, "escalation", Severity.INFO, "Compute raised", "to small", clock.now())
    )
    assert (1, []) == (await d.flush(), await store.open_alerts())


async def test_invalid_route_url_is_permanent() -> None:
    """An URL apprise cannot load fails permanently without a send (the config refuses it too,
    so the route is built here without validation)."""
    broken = RouteSettings.model_construct(name="phone", url=SecretStr("nosuchschema://x"))
    result = await deliver(broken, "t", "b", Severity.INFO)
    assert SendResult(Delivery.FAILED, "invalid route url") == result


@pytest.mark.parametrize(
    ("timed_out", "lines", "expected"),
    [
        (False, ["Failed to send JSON POST notification: error=500."], (Delivery.RETRY, 500)),
        (False, ["Failed: error=503."], (Delivery.RETRY, 503)),
        (False, ["Failed: error=429."], (Delivery.RETRY, 429)),
        (False, ["Failed: error=408."], (Delivery.RETRY, 408)),
        (False, ["Failed: Bad Request, error=400."], (Delivery.FAILED, 400)),
        (False, ["Failed: error=401."], (Delivery.FAILED, 401)),
        (False, ["Failed: error=404."], (Delivery.FAILED, 404)),
        (
            False,
            ["A Connection error occurred sending JSON notification to h."],
            (Delivery.RETRY, None),
        ),
        (True, [], (Delivery.RETRY, None)),
        (False, ["something new"], (Delivery.RETRY, None)),
    ],
)
def test_classify(timed_out: bool, lines: list[str], expected: tuple[Delivery, int | None]) -> None:
    """Statuses 5xx/408/429, connection errors, timeouts and unknowns retry; other 4xx fail."""
    result = classify(timed_out, lines)
    assert expected == (result.delivery, result.status)


def test_backoff_is_exponential_capped_and_jittered() -> None:
    """Backoff grows by doubling, never exceeds the cap, and is at least half its ceiling."""
    rng = random.Random(7)
    delays = [backoff_s(n, 600, rng) for n in range(12)]
    assert all(5 * 2**n <= d <= 10 * 2**n for n, d in enumerate(delays[:5]))
    assert all(300 <= d <= 600 for d in delays[7:])


def test_route_matches() -> None:
    """Project ``*`` matches all; a list matches its members; severities filter."""
    r = route("json://x", projects=[P], severities=[Severity.WARNING])
    assert (True, False, False) == (
        route_matches(r, P, Severity.WARNING),
        route_matches(r, "zzzzzzzzzzzzzzzzzzzz", Severity.WARNING),
        route_matches(r, P, Severity.CRITICAL),
    )


@pytest.mark.parametrize(
    ("respond", "expected"),
    [(200, True), (500, False), ("refused", False)],
)
async def test_heartbeat(
    respond: int | str,
    expected: bool,
    make_store: StoreFactory,
    tmp_path: Path,
    clock: VirtualClock,
    metrics: Metrics,
) -> None:
    """The heartbeat is True on 2xx, False otherwise, and never logs its URL."""

    def handler(request: httpx.Request) -> httpx.Response:
        if respond == "refused":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(int(respond))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        d = Dispatcher(
            await make_store(tmp_path / "s.db"), [], clock=clock, metrics=metrics, http=http
        )
        with capture_logs() as logs:
            assert expected == await d.heartbeat(SecretStr(f"https://hc.example/ping/{SECRET}"))
    assert SECRET not in repr(logs)
