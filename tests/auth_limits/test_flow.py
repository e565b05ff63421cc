"""The auth rate limits in the watcher: readings kept, the gauge per route, the warning's
condition (never more than a warning), resolved once the 429s stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sbwatch.commands.status import gather_status, render
from sbwatch.config.settings import Settings
from sbwatch.core.errors import ApiError, AuthRejected, RateLimited
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import IoSample, Severity
from sbwatch.core.subjects import Subject
from sbwatch.store.sqlite import SqliteStore
from sbwatch.supabase.auth_limits import AuthConfig
from sbwatch.watch.auth_limits import NAMESPACE, AuthFlow

REF = "abcdefghijklmnopqrst"
T0 = datetime(2026, 12, 6, 12, tzinfo=UTC)


def scrape(minute: int, refused: dict[str, float] | None) -> IoSample:
    at = T0 + timedelta(minutes=minute)
    auth = None if refused is None else tuple(sorted(refused.items()))
    return IoSample(at, 0, 0, 0, 0, auth_refused=auth)


def gauge(metrics: Metrics, route: str) -> float | None:
    return metrics.registry.get_sample_value(
        "sbwatch_auth_rate_limited_per_minute", {"project": REF, "route": route}
    )


async def test_steady_429s_warn_then_resolve_when_they_stop(store: SqliteStore) -> None:
    metrics = Metrics()
    flow = AuthFlow(metrics, store)
    for minute in range(0, 7):
        flow.fold(REF, scrape(minute, {"/otp": 20.0 * minute}))
        flow.assess(REF, T0 + timedelta(minutes=minute))
        cond = flow.condition(REF)
        assert cond.active is (minute >= 5), minute
    assert cond.subject == Subject.AUTH_LIMITS
    assert cond.severity is Severity.WARNING
    assert cond.title == "auth rate limited: /otp (20/min) answering 429"
    assert "governed by rate_limit_otp or rate_limit_email_sent" in cond.body
    assert "built-in SMTP: 2 emails an hour; set custom SMTP" in cond.body
    assert cond.cause == "auth_limits:/otp"
    assert gauge(metrics, "/otp") == 20.0
    await flow.save(REF)
    stored = await store.get_state(NAMESPACE, REF)
    assert stored is not None
    assert stored["limited"] == ["/otp"]
    flow.fold(REF, scrape(7, {"/otp": 120.5}))  # below the threshold: still said while refusing
    flow.assess(REF, T0 + timedelta(minutes=7))
    assert flow.condition(REF).active
    flow.fold(REF, scrape(8, {"/otp": 120.5}))  # stopped
    flow.assess(REF, T0 + timedelta(minutes=8))
    assert not flow.condition(REF).active
    assert gauge(metrics, "/otp") == 0.0


async def test_a_route_warned_of_stays_while_auth_does_not_answer(store: SqliteStore) -> None:
    """/otp warned of, then auth goes down for ten minutes (an outage): no 429 while nothing
    answers says nothing, the warning stays. Once auth answers and /otp still refuses, it
    holds on; once auth answers without 429s, it ends."""
    flow = AuthFlow(Metrics(), store)
    for minute in range(0, 7):
        flow.fold(REF, scrape(minute, {"/otp": 20.0 * minute}))
        flow.assess(REF, T0 + timedelta(minutes=minute))
    assert flow.condition(REF).active
    for minute in range(7, 17):  # auth down: its counter does not move
        flow.fold(REF, scrape(minute, {"/otp": 120.0}))
        flow.assess(REF, T0 + timedelta(minutes=minute), answering=False)
        assert flow.condition(REF).active, minute
    flow.fold(REF, scrape(17, {"/otp": 140.0}))
    flow.assess(REF, T0 + timedelta(minutes=17))
    assert flow.condition(REF).active
    for minute in range(18, 20):
        flow.fold(REF, scrape(minute, {"/otp": 140.0}))
        flow.assess(REF, T0 + timedelta(minutes=minute))
    assert not flow.condition(REF).active


async def test_no_gotrue_series_keeps_nothing(store: SqliteStore) -> None:
    flow = AuthFlow(Metrics(), store)
    for minute in range(0, 8):
        flow.fold(REF, scrape(minute, None))
    assert flow.assess(REF, T0 + timedelta(minutes=8)) is None
    assert not flow.condition(REF).active
    await flow.save(REF)
    assert await store.get_state(NAMESPACE, REF) is None


async def test_status_names_each_route_refused_and_the_limited_ones(store: SqliteStore) -> None:
    """`sbwatch status` reads the stored assessment: each route's 429s a minute, the ones
    warned about marked; once they stop, "no 429s"."""
    flow = AuthFlow(Metrics(), store)
    for minute in range(0, 7):
        flow.fold(REF, scrape(minute, {"/signup": 12.0 * minute, "/token": 0.5 * minute}))
    flow.assess(REF, T0 + timedelta(minutes=6))
    await flow.save(REF)
    config = Settings.model_validate(
        {
            "projects": [{"ref": REF, "probes": {}}],
            "metrics": {"enabled": False},
            "status_page": {"enabled": False},
        }
    )
    lines = render(await gather_status(store, config, T0)).splitlines()
    assert "  auth 429     429s /signup 12.0/min (limited), /token 0.5/min" in lines
    flow.fold(REF, scrape(7, {"/signup": 72.0, "/token": 3.0}))
    flow.assess(REF, T0 + timedelta(minutes=7))
    await flow.save(REF)
    lines = render(await gather_status(store, config, T0)).splitlines()
    assert "  auth 429     no 429s" in lines


class _Refusing:
    """A Management API whose auth configuration read is refused."""

    def __init__(self, error: ApiError) -> None:
        self.error = error

    async def get_auth_config(self, ref: str) -> AuthConfig:
        raise self.error


async def test_a_refused_config_read_keeps_the_last_one_and_breaks_nothing(
    store: SqliteStore,
) -> None:
    """A 403 (a scoped token without auth_config_read), a 401 or a 429: not read, the last
    configuration read stays, the warning goes on (the SMTP line saying what is unknown)."""
    flow = AuthFlow(Metrics(), store)
    runtime: Any = SimpleNamespace(settings=SimpleNamespace(ref=REF), api=None)
    assert await flow.check(runtime) is None
    for error in (
        AuthRejected("GET config/auth: forbidden", status=403),
        AuthRejected("GET config/auth: unauthorized", status=401),
        RateLimited(30.0),
    ):
        runtime.api = _Refusing(error)
        assert await flow.check(runtime) is None
        assert REF not in flow.configs
    for minute in range(0, 7):
        flow.fold(REF, scrape(minute, {"/signup": 20.0 * minute}))
    flow.assess(REF, T0 + timedelta(minutes=6))
    assert "set custom SMTP, unless one is set already" in flow.condition(REF).body
    flow.configs[REF] = AuthConfig({"rate_limit_email_sent": 2}, custom_smtp=True)
    runtime.api = _Refusing(RateLimited(30.0))
    assert await flow.check(runtime) is None
    assert flow.configs[REF].custom_smtp
    assert "SMTP" not in flow.condition(REF).body
