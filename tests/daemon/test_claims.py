"""A flood of unverified provider emails is one notice an hour, saying how many and from whom."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.alerting.words import held_claims_body
from sbwatch.config.settings import Settings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import EmailKind, ProviderEmail
from sbwatch.core.tiers import Tier
from sbwatch.policy.budget import BudgetEstimator
from sbwatch.store.sqlite import SqliteStore
from sbwatch.watch.announcer import Announcer
from sbwatch.watch.claims import ClaimGroup
from sbwatch.watch.provider import say_unmatched
from sbwatch.watch.runtime import ProjectRuntime

REF = "abcdefghijklmnopqrst"
OTHER = "zyxwvutsrqponmlkjihg"
T0 = datetime(2026, 5, 20, 20, 0, tzinfo=UTC)
SENDERS = ("a@evil.example", "b@evil.example", "c@evil.example")


def config() -> Settings:
    """One project and a phone route (nothing is delivered here: the outbox is read)."""
    return Settings.model_validate(
        {
            "projects": [{"ref": REF, "probes": {}}],
            "alerting": {"routes": [{"name": "phone", "url": "json://127.0.0.1:9/"}]},
            "metrics": {"enabled": False},
            "status_page": {"enabled": False},
        }
    )


def spoof(index: int, ref: str = REF) -> ProviderEmail:
    """An unverified "depleted" claim; senders take turns, the first one most often."""
    sender = SENDERS[0] if index % 2 == 0 else SENDERS[1 + index % 4 // 2]
    return ProviderEmail(
        f"<spoof-{index}@evil.example>",
        EmailKind.IO_BUDGET_EXHAUSTED,
        ref,
        T0,
        "Your project has depleted its Disk IO Budget",
        sender,
        False,
        "no DKIM signature",
    )


def speaker(store: SqliteStore, settings: Settings, clock: VirtualClock) -> Announcer:
    """An announcer whose outbox is the store."""
    dispatcher = Dispatcher(store, settings.alerting.routes, clock=clock, metrics=Metrics())
    return Announcer(settings, store, clock=clock, dispatcher=dispatcher)


async def titles(store: SqliteStore) -> list[str]:
    """The titles of every notification queued so far."""
    return [n.title for n in await store.notifications(T0 - timedelta(days=1))]


async def test_three_thousand_spoofed_emails_are_two_notices(store: SqliteStore) -> None:
    """3,000 spoofed claims in ten minutes: the first is said at once, the rest are one notice
    when the hour is up, saying how many and from whom; nothing more after it."""
    settings = config()
    clock = VirtualClock(T0)
    announcer = speaker(store, settings, clock)
    runtime = ProjectRuntime(settings.projects[0], BudgetEstimator(REF, Tier.MICRO), Tier.MICRO)
    for index in range(3000):
        await announcer.email(runtime, spoof(index))
        clock.advance(0.2)
    first = await titles(store)
    await announcer.conditions(runtime, [])
    early = await titles(store)
    clock.advance(3600)
    await announcer.conditions(runtime, [])
    await announcer.conditions(runtime, [])
    said = await store.notifications(T0 - timedelta(days=1))
    summary = said[-1].body
    assert (1, 1, 2) == (len(first), len(early), len(said))
    assert said[-1].title.endswith(": UNVERIFIED email claims: 2,999 more in the last hour")
    assert "2,999 more unverified email(s)" in summary
    assert "From: a@evil.example (1,499), b@evil.example (750), c@evil.example (750)" in summary


async def test_spoofed_emails_about_an_unwatched_project_are_grouped(store: SqliteStore) -> None:
    """Claims about a project sbwatch does not watch are grouped the same way."""
    settings = config()
    clock = VirtualClock(T0)
    announcer = speaker(store, settings, clock)
    runtime = ProjectRuntime(settings.projects[0], BudgetEstimator(REF, Tier.MICRO), Tier.MICRO)
    projects = {REF: runtime}
    for index in range(200):
        await say_unmatched(announcer, projects, spoof(index, OTHER))
    held = len(await titles(store))
    clock.advance(3600)
    await announcer.conditions(runtime, [])
    last = (await titles(store))[-1]
    assert (1, True) == (
        held,
        last.endswith(": UNVERIFIED email claims: 199 more in the last hour"),
    )


async def test_a_claim_after_a_quiet_hour_is_said_at_once(store: SqliteStore) -> None:
    """The grouping only holds back a flood: one claim an hour later is said at once."""
    settings = config()
    clock = VirtualClock(T0)
    announcer = speaker(store, settings, clock)
    runtime = ProjectRuntime(settings.projects[0], BudgetEstimator(REF, Tier.MICRO), Tier.MICRO)
    await announcer.email(runtime, spoof(0))
    clock.advance(3601)
    await announcer.email(runtime, spoof(1))
    assert 2 == len(await titles(store))


def test_the_summary_names_five_senders_and_counts_the_others() -> None:
    """The five most frequent senders are named (an empty sender too), the rest counted."""
    group = ClaimGroup(T0, count=1_234)
    group.senders.update({"": 9, **{f"s{i}@evil.example": 8 - i for i in range(6)}})
    assert (
        "1,234 more unverified email(s) (not proven to come from Supabase) made claims since "
        "2026-05-20 20:00 UTC; not counted as evidence. From: (no sender) (9), "
        "s0@evil.example (8), s1@evil.example (7), s2@evil.example (6), s3@evil.example (5), "
        "and 2 other sender(s)."
    ) == held_claims_body(group.count, group.said_at, *group.shown())
