"""What sbwatch says around a provider email and a resize: folded emails, the outlook."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.config.settings import Settings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import (
    NOT_APPLIED,
    Alert,
    EmailKind,
    Intent,
    IntentState,
    IoSample,
    ProviderEmail,
    Severity,
)
from sbwatch.core.tiers import Tier
from sbwatch.policy.budget import BudgetEstimator
from sbwatch.store.sqlite import SqliteStore
from sbwatch.watch.announcer import FOLDED_NOTE, Announcer
from sbwatch.watch.escalation import _retrying, outlook
from sbwatch.watch.runtime import ProjectRuntime

REF = "abcdefghijklmnopqrst"
T0 = datetime(2026, 5, 20, 20, 0, tzinfo=UTC)
MB = 1_000_000


def settings(tier: str = "micro", max_tier: str = "small") -> Settings:
    """One project, a phone route, no real endpoints (nothing here probes)."""
    return Settings.model_validate(
        {
            "projects": [
                {"ref": REF, "tier": tier, "probes": {}, "escalation": {"max_tier": max_tier}}
            ],
            "alerting": {"routes": [{"name": "phone", "url": "json://127.0.0.1:9/"}]},
            "metrics": {"enabled": False},
            "status_page": {"enabled": False},
        }
    )


def runtime_at(mbps: float, config: Settings, tier: Tier = Tier.MICRO) -> ProjectRuntime:
    """A runtime whose estimator has watched ``mbps`` of reads for an hour."""
    estimator = BudgetEstimator(REF, tier)
    for minute in range(61):
        at = T0 + timedelta(minutes=minute)
        estimator.update(IoSample(at, mbps * MB * 60 * minute, 0.0, 100.0 * 60 * minute, 0.0))
    return ProjectRuntime(config.projects[0], estimator, tier)


def email(*, trusted: bool = True, kind: EmailKind = EmailKind.IO_BUDGET_WARNING) -> ProviderEmail:
    """A provider email about this project."""
    return ProviderEmail(
        "<m1@supabase.com>",
        kind,
        REF,
        T0,
        "Your project is depleting its Disk IO Budget",
        "alerts@supabase.com",
        trusted,
        "dkim=pass" if trusted else "dkim=fail",
    )


def announcer(store: SqliteStore, config: Settings) -> Announcer:
    """An announcer whose outbox is the store (nothing is flushed here)."""
    clock = VirtualClock(T0)
    dispatcher = Dispatcher(store, config.alerting.routes, clock=clock, metrics=Metrics())
    return Announcer(config, store, clock=clock, dispatcher=dispatcher)


async def open_budget_alert(store: SqliteStore, *, sent: bool) -> Alert:
    """An open IO budget alert, sent (or held back by a silence) at 07:12."""
    opened = T0 - timedelta(hours=12, minutes=48)
    alert = Alert(
        f"{REF}:io_budget",
        REF,
        Severity.WARNING,
        "disk IO budget 77% left, runs out in ~1d",
        "Estimated from disk throughput 15.0 MB/s on micro.",
        opened,
        last_sent_at=opened if sent else None,
    )
    await store.save_alert(alert)
    return alert


async def test_trusted_budget_email_folds_into_the_open_warning(store: SqliteStore) -> None:
    """The person already holds the warning: the email is written on it and nothing is sent."""
    config = settings()
    await open_budget_alert(store, sent=True)
    seen = []
    speaker = announcer(store, config)
    speaker.on_alert = lambda action, _message: seen.append(action)
    await speaker.email(runtime_at(15, config), email())
    assert [] == await store.notifications(T0 - timedelta(days=1))
    saved = await store.get_alert(f"{REF}:io_budget")
    assert saved is not None
    assert saved.closed_at is None
    assert saved.body.endswith("Supabase emailed at 2026-05-20 20:00 UTC: " + email().subject)
    assert [(False, FOLDED_NOTE)] == [(a.send, a.note) for a in seen]


async def test_a_folded_email_follows_the_alerts_its_budget_took_in(store: SqliteStore) -> None:
    """The budget alert named what it took in after its body: the email line comes after
    that line, as the alert said them."""
    config = settings()
    alert = await open_budget_alert(store, sent=True)
    await store.save_alert(replace(alert, part_of=("db is down",)))
    await announcer(store, config).email(runtime_at(15, config), email())
    saved = await store.get_alert(f"{REF}:io_budget")
    assert saved is not None
    said = [
        "Estimated from disk throughput 15.0 MB/s on micro.",
        "Part of it: db is down.",
        "Supabase emailed at 2026-05-20 20:00 UTC: " + email().subject,
    ]
    assert ((), said) == (saved.part_of, saved.body.splitlines())


@pytest.mark.parametrize(
    ("alert", "mail"),
    [
        ("none", email()),
        ("unsent", email()),
        ("sent", email(trusted=False)),
        ("sent", email(kind=EmailKind.CPU)),
    ],
    ids=["no-alert-open", "alert-never-sent", "untrusted", "not-about-the-budget"],
)
async def test_other_provider_emails_are_relayed_at_once(
    store: SqliteStore, alert: str, mail: ProviderEmail
) -> None:
    """Nothing on the phone covers it (or it may be spoofed): the email becomes a notice."""
    config = settings()
    if alert != "none":
        await open_budget_alert(store, sent=alert == "sent")
    await announcer(store, config).email(runtime_at(15, config), mail)
    queued = await store.notifications(T0 - timedelta(days=1))
    assert [("phone", f"{REF}:mail")] == [(n.route, n.alert_key) for n in queued]
    assert mail.subject in queued[0].title


def test_outlook_when_the_new_size_drains_too() -> None:
    """40 MB/s on small (22 MB/s baseline): how long it lasts, and the command to go further."""
    config = settings()
    text = outlook(runtime_at(40, config), Tier.SMALL)
    assert text.startswith("At the current 40 MB/s, small's IO budget lasts about 6h3")
    assert "then throughput is held at 22 MB/s" in text
    assert text.endswith(
        f"max_tier is small; to go further, run: sbwatch escalate {REF} --to medium"
    )


def test_outlook_below_max_tier_names_no_command() -> None:
    """Below max_tier sbwatch may raise it again itself: no command to run."""
    text = outlook(runtime_at(40, settings(max_tier="large")), Tier.SMALL)
    assert "lasts about" in text
    assert "sbwatch escalate" not in text


def test_outlook_when_the_new_size_carries_the_load() -> None:
    """15 MB/s on small: its baseline carries it, nothing will run out."""
    text = outlook(runtime_at(15, settings()), Tier.SMALL)
    assert "At the current 15 MB/s, small's baseline of 22 MB/s carries it." == text


def test_eta_on_a_size_uses_a_full_budget_and_the_current_rate() -> None:
    """The forecast for another size: its full bucket at today's rate; None when it carries it."""
    estimator = runtime_at(40, settings()).estimator
    eta = estimator.eta_on(Tier.SMALL)
    assert eta is not None
    assert (261 - 22) * 1800 / (40 - 22) == pytest.approx(eta, rel=0.02)
    assert (261 - 39) * 1800 / (40 - 39) == pytest.approx(estimator.eta_on(Tier.MEDIUM), rel=0.05)
    assert estimator.eta_on(Tier.LARGE) is None  # 79 MB/s baseline
    assert estimator.eta_on(Tier.XL4) is None  # no budget at all
    assert estimator.rate_mbps == pytest.approx(40, rel=0.01)


def journal_entry(id: int, minutes: float, state: IntentState, detail: str = "") -> Intent:
    """A journalled change ``minutes`` after T0."""
    at = T0 + timedelta(minutes=minutes)
    return Intent(id, REF, Tier.MICRO, Tier.SMALL, "io", "daemon", at, state, at, detail)


@pytest.mark.parametrize(
    ("before", "retried"),
    [
        (journal_entry(1, 0, IntentState.FAILED, NOT_APPLIED), True),
        (journal_entry(1, 0, IntentState.FAILED, "refused: 400 bad variant"), False),
        (journal_entry(1, -120, IntentState.FAILED, NOT_APPLIED), False),
        (journal_entry(1, 0, IntentState.RECOVERED), False),
    ],
    ids=["not-taken-just-before", "refused", "not-taken-long-ago", "recovered"],
)
def test_a_change_tried_again_after_the_api_did_not_take_it(before: Intent, retried: bool) -> None:
    """Only a change right after one the API did not take (429, 5xx) is the same need tried
    again: the person was told once, and is not paged at every retry."""
    now = journal_entry(2, 3, IntentState.OPEN)
    assert retried == _retrying([before, now], now)
