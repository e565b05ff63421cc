"""The Store contract: every method, against SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from tests.store.conftest import Backend

from sbwatch.core.connections import ConnReading
from sbwatch.core.errors import StoreError
from sbwatch.core.facts import Fact, FactKind, recorded
from sbwatch.core.results import (
    Alert,
    BudgetEstimate,
    DataCheckKind,
    DataCheckResult,
    Diagnosis,
    DiagnosisKind,
    EmailKind,
    IncidentEvent,
    IncidentEventKind,
    IntentState,
    IoSample,
    Outcome,
    ProbeKind,
    ProbeResult,
    ProbeState,
    ProbeStatus,
    ProviderEmail,
    Severity,
    Transition,
    Verdict,
)
from sbwatch.core.tiers import Tier
from sbwatch.store import Store
from sbwatch.store.migrations import latest_version
from sbwatch.store.postgres import PostgresStore
from sbwatch.store.sqlite import SqliteStore

T0 = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """T0 plus some seconds."""
    return T0 + timedelta(seconds=seconds)


def probe(project: str, kind: ProbeKind, seconds: float, **kw: object) -> ProbeResult:
    """A probe result at T0 + seconds."""
    return ProbeResult(project, kind, Outcome.OK, at(seconds), 0.25, **kw)  # type: ignore[arg-type]


def email(message_id: str, ref: str | None, seconds: float, subject: str = "s") -> ProviderEmail:
    """A provider email at T0 + seconds."""
    return ProviderEmail(
        message_id, EmailKind.IO_BUDGET_WARNING, ref, at(seconds), subject, "a@b.c", True, "dkim"
    )


@pytest.mark.parametrize("cls", [SqliteStore, PostgresStore])
def test_backends_define_every_protocol_method(cls: type) -> None:
    """Each backend has every Store method with the protocol's parameters."""
    names = [n for n, _ in inspect.getmembers(Store, inspect.isfunction) if not n.startswith("_")]
    missing = [
        n
        for n in names
        if list(inspect.signature(getattr(Store, n)).parameters)
        != list(inspect.signature(getattr(cls, n)).parameters)
    ]
    assert [] == missing


async def test_schema_version_after_open(store: Store) -> None:
    """A freshly opened store reports the latest migration."""
    assert latest_version() == await store.schema_version()


async def test_reopen_keeps_data_and_does_not_rerun_migrations(backend: Backend) -> None:
    """Reopening finds the data and applies no migration a second time."""
    first = await backend.open()
    await first.put_state("ns", "k", {"v": 1})
    await first.close()
    rows_before = await backend.migration_rows()
    second = await backend.open()
    assert {"v": 1} == await second.get_state("ns", "k")
    assert latest_version() == await second.schema_version()
    assert rows_before == await backend.migration_rows()
    assert list(range(1, latest_version() + 1)) == [v for v, _ in rows_before]


async def test_probe_results_round_trip_filter_and_order(store: Store) -> None:
    """Probe results come back equal, oldest first, filtered by project, since and kind."""
    data = {"services": {"db": "ACTIVE_HEALTHY"}, "n": [1, 2.5, None, True], "ü": "ß"}
    full = probe("p", ProbeKind.REST, 10, detail="503 body", status_code=503, data=data)
    bare = probe("p", ProbeKind.DB, 5)
    for result in (full, bare, probe("p", ProbeKind.DB, -1), probe("q", ProbeKind.DB, 6)):
        await store.record_probe(result)
    assert [bare, full] == await store.recent_probes("p", T0)
    assert [bare] == await store.recent_probes("p", T0, ProbeKind.DB)
    assert [full] == await store.recent_probes("p", at(10))
    assert [] == await store.recent_probes("p", at(11))


async def test_probe_statuses_upsert_and_order(store: Store) -> None:
    """A status is replaced per (project, probe); the list is ordered by project then probe."""
    last = probe("b", ProbeKind.REST, 1, data={"x": 1})
    first = ProbeStatus("b", ProbeKind.REST, ProbeState.UNKNOWN, 0, 0, None, None)
    await store.save_probe_status(first)
    newer = ProbeStatus("b", ProbeKind.REST, ProbeState.DOWN, 0, 3, at(1), last)
    await store.save_probe_status(newer)
    other = ProbeStatus("b", ProbeKind.AUTH, ProbeState.UP, 2, 0, at(2), None)
    a_db = ProbeStatus("a", ProbeKind.DB, ProbeState.UP, 1, 0, at(3), None)
    await store.save_probe_status(other)
    await store.save_probe_status(a_db)
    assert [a_db, other, newer] == await store.probe_statuses()
    assert [other, newer] == await store.probe_statuses("b")


async def test_the_last_result_keeps_its_rate_limit_and_skips(store: Store) -> None:
    """A status's last result comes back with its retry time and skipped lines."""
    last = probe("b", ProbeKind.MGMT_HEALTH, 1, retry_after_s=30.0, skipped_lines=2)
    status = ProbeStatus("b", ProbeKind.MGMT_HEALTH, ProbeState.UP, 1, 0, at(1), last)
    await store.save_probe_status(status)
    assert [status] == await store.probe_statuses("b")


async def test_the_last_data_result_keeps_its_checks(store: Store) -> None:
    """A data probe's last result comes back with each check's verdict, value and times."""
    checks = (
        DataCheckResult("rows", DataCheckKind.NOT_EMPTY, "public.t", Verdict.WARNING, 0.0,
                        "empty", empty_since=at(0)),
        DataCheckResult("spend", DataCheckKind.SUM, "public.s", Verdict.OK, 186.5, "186.5"),
        DataCheckResult("q", DataCheckKind.QUERY, "-", Verdict.ERROR),
    )  # fmt: skip
    last = probe("b", ProbeKind.DATA, 1, checks=checks)
    status = ProbeStatus("b", ProbeKind.DATA, ProbeState.DOWN, 0, 1, at(1), last)
    await store.save_probe_status(status)
    assert [status] == await store.probe_statuses("b")


async def test_transitions_round_trip_since_and_order(store: Store) -> None:
    """Transitions come back oldest first from ``since``, per project."""
    t1 = Transition("p", ProbeKind.DB, ProbeState.UNKNOWN, ProbeState.UP, at(1))
    t2 = Transition("p", ProbeKind.DB, ProbeState.UP, ProbeState.DOWN, at(2))
    for transition in (
        t2,
        t1,
        Transition("q", ProbeKind.DB, ProbeState.UP, ProbeState.DOWN, at(3)),
    ):
        await store.record_transition(transition)
    assert [t1, t2] == await store.transitions("p", T0)
    assert [t2] == await store.transitions("p", at(2))


async def test_io_samples_round_trip_with_and_without_optionals(store: Store) -> None:
    """IO samples keep every counter, None gauges included, oldest first."""
    bare = IoSample(at(1), 1e9, 2e9, 1000.0, 2000.0)
    full = IoSample(at(2), 1.5, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 1.0)
    await store.record_io_sample("p", full)
    await store.record_io_sample("p", bare)
    await store.record_io_sample("q", bare)
    assert [bare, full] == await store.io_samples("p", T0)
    assert [full] == await store.io_samples("p", at(1.5))


async def test_io_samples_keep_swap_and_the_connections_the_plan_weighs(store: Store) -> None:
    """Swap in use and the direct and pooler connections in use come back (the plan's peaks);
    the rest of a scrape's connections (PostgREST's pool, users) is not kept."""
    reading = ConnReading(direct_used=42.0, direct_max=60.0, rest_max=10.0, pooler_used=7.0)
    sample = IoSample(at(1), 1.0, 2.0, 3.0, 4.0, connections=reading, swap_used_bytes=5e8)
    await store.record_io_sample("p", sample)
    (kept,) = await store.io_samples("p", T0)
    expected = ConnReading(direct_used=42.0, pooler_used=7.0)
    assert (expected, 5e8) == (kept.connections, kept.swap_used_bytes)


async def test_budgets_latest_and_history(store: Store) -> None:
    """The latest estimate is the newest; history is oldest first from ``since``."""
    assert await store.latest_budget("p") is None
    old = BudgetEstimate("p", at(1), Tier.MICRO, 0.9, 1.5, 3600.0, 0.8, 12.0, 90.0)
    new = BudgetEstimate("p", at(2), Tier.XL2, 0.0, -2.0, None, 0.1)
    await store.record_budget(new)
    await store.record_budget(old)
    await store.record_budget(BudgetEstimate("q", at(3), Tier.NANO, 1.0, 0.0, None, 1.0))
    assert new == await store.latest_budget("p")
    assert [old, new] == await store.budget_history("p", T0)
    assert [new] == await store.budget_history("p", at(2))


async def test_state_put_get_replace_delete(store: Store) -> None:
    """State documents are stored, replaced, isolated by namespace, and deleted."""
    assert await store.get_state("imap", "cursor") is None
    await store.put_state("imap", "cursor", {"uid": 1, "validity": 7})
    doc = {"uid": 2, "nested": {"list": [1.25, "x", None], "flag": False}}
    await store.put_state("imap", "cursor", doc)
    await store.put_state("budget", "cursor", {"other": True})
    assert doc == await store.get_state("imap", "cursor")
    await store.delete_state("imap", "cursor")
    await store.delete_state("imap", "never-there")
    assert await store.get_state("imap", "cursor") is None
    assert {"other": True} == await store.get_state("budget", "cursor")


async def test_emails_dedupe_by_message_id(store: Store) -> None:
    """A known Message-ID is refused with False and the first copy stays unchanged."""
    original = email("<m1@x>", "p", 1, subject="first")
    assert await store.record_email(original) is True
    assert await store.record_email(email("<m1@x>", "p", 2, subject="again")) is False
    assert [original] == await store.recent_emails(T0)


async def test_recent_emails_filter_by_project_and_since(store: Store) -> None:
    """A project's emails include those without a ref; ``since`` bounds them; oldest first."""
    mine, general, other = email("a", "p", 2), email("b", None, 1), email("c", "q", 3)
    for item in (mine, general, other, email("d", "p", -5)):
        await store.record_email(item)
    assert [general, mine] == await store.recent_emails(T0, "p")
    assert [general, mine, other] == await store.recent_emails(T0)
    assert [other] == await store.recent_emails(at(3))


async def test_diagnoses_round_trip_latest_and_since(store: Store) -> None:
    """Diagnoses keep evidence and service; latest is newest; since filters."""
    assert await store.latest_diagnosis("p") is None
    said = (recorded("budget 0%"), recorded("email"))
    d1 = Diagnosis("p", at(1), DiagnosisKind.IO_BUDGET_EXHAUSTED, 0.9, said)
    d2 = Diagnosis("p", at(2), DiagnosisKind.SERVICE_DOWN, 0.5, (), "rest")
    for item in (d2, d1, Diagnosis("q", at(3), DiagnosisKind.HEALTHY, 1.0)):
        await store.record_diagnosis(item)
    assert d2 == await store.latest_diagnosis("p")
    assert [d1, d2] == await store.diagnoses("p", T0)
    assert [d2] == await store.diagnoses("p", at(1.5))


async def test_a_diagnosis_is_stored_in_the_words_it_was_said_in(store: Store) -> None:
    """The diagnoses table keeps the evidence as text: a fact not yet said (the store knows no
    words) is a permanent StoreError and nothing is written."""
    down = (Fact(FactKind.PROBE_DOWN, service="rest"),)
    unsaid = Diagnosis("p", at(1), DiagnosisKind.SERVICE_DOWN, 0.5, down, "rest")
    with pytest.raises(StoreError) as caught:
        await store.record_diagnosis(unsaid)
    assert (False, None) == (caught.value.transient, await store.latest_diagnosis("p"))


async def test_intent_life_cycle(store: Store) -> None:
    """An intent is OPEN, then APPLIED (unfinished), then RECOVERED (finished)."""
    intent = await store.create_intent("p", Tier.MICRO, Tier.SMALL, "io exhausted", "daemon", at(1))
    assert (IntentState.OPEN, "", None) == (intent.state, intent.detail, intent.recovered_s)
    assert (at(1), at(1)) == (intent.created_at, intent.updated_at)
    applied = await store.update_intent(intent.id, IntentState.APPLIED, at(2), "patched")
    assert [applied] == await store.unfinished_intents("p")
    done = await store.update_intent(intent.id, IntentState.RECOVERED, at(3), recovered_s=42.5)
    assert (IntentState.RECOVERED, "patched", 42.5, at(3)) == (
        done.state,
        done.detail,
        done.recovered_s,
        done.updated_at,
    )
    assert [] == await store.unfinished_intents()
    assert [done] == await store.intents("p")


async def test_intents_filters_and_unfinished_states(store: Store) -> None:
    """intents() filters by project and since; unfinished means OPEN or APPLIED only."""
    a = await store.create_intent("p", Tier.NANO, Tier.MICRO, "r", "cli:ops", at(1))
    b = await store.create_intent("q", Tier.SMALL, Tier.MEDIUM, "r", "daemon", at(2))
    c = await store.create_intent("p", Tier.XL, Tier.XL2, "r", "daemon", at(3))
    c = await store.update_intent(c.id, IntentState.APPLIED, at(4))
    failed = await store.update_intent(b.id, IntentState.FAILED, at(5), "400 refused")
    assert [a, failed, c] == await store.intents()
    assert [a, c] == await store.intents("p")
    assert [failed, c] == await store.intents(since=at(2))
    assert [a, c] == await store.unfinished_intents()
    assert [a, c] == await store.unfinished_intents("p")


async def test_update_unknown_intent_is_permanent_error(store: Store) -> None:
    """Updating an intent that does not exist raises a permanent StoreError."""
    with pytest.raises(StoreError) as caught:
        await store.update_intent(999, IntentState.APPLIED, at(1))
    assert caught.value.transient is False


async def test_lock_acquire_refuse_renew_expire_release(store: Store) -> None:
    """The lock is exclusive, renewable by its owner, free after ttl, and releasable."""
    assert await store.acquire_lock("escalate", "a", 60, at(0)) is True
    assert await store.acquire_lock("escalate", "b", 60, at(30)) is False
    assert await store.acquire_lock("escalate", "a", 60, at(50)) is True  # renewed until 110
    assert await store.acquire_lock("escalate", "b", 60, at(100)) is False
    assert await store.acquire_lock("other", "b", 60, at(100)) is True
    assert await store.acquire_lock("escalate", "b", 60, at(110)) is True  # a's expired
    await store.release_lock("escalate", "a")  # not a's any more: no effect
    assert await store.acquire_lock("escalate", "a", 60, at(111)) is False
    await store.release_lock("escalate", "b")
    assert await store.acquire_lock("escalate", "a", 60, at(112)) is True


async def test_lock_holder_and_taking_it_from_a_named_holder(store: Store) -> None:
    """The holder is readable until expiry; ``replacing`` takes the lock only from that holder."""
    assert await store.lock_holder("escalate", at(0)) is None
    assert await store.acquire_lock("escalate", "cli:dead", 60, at(0)) is True
    assert "cli:dead" == await store.lock_holder("escalate", at(59))
    assert await store.acquire_lock("escalate", "daemon", 60, at(1), replacing="cli:other") is False
    assert "cli:dead" == await store.lock_holder("escalate", at(1))
    assert await store.acquire_lock("escalate", "daemon", 60, at(1), replacing="cli:dead") is True
    assert "daemon" == await store.lock_holder("escalate", at(2))
    assert await store.acquire_lock("escalate", "cli:dead", 60, at(3)) is False
    assert await store.lock_holder("escalate", at(61)) is None  # expired


async def test_lock_is_exclusive_between_two_stores(backend: Backend) -> None:
    """Two stores on the same storage racing for the lock: exactly one gets it."""
    one, two = await backend.open(), await backend.open()
    results = await asyncio.gather(
        one.acquire_lock("escalate", "daemon", 60, T0),
        two.acquire_lock("escalate", "cli", 60, T0),
    )
    assert [False, True] == sorted(results)


async def test_alerts_upsert_get_and_open(store: Store) -> None:
    """Alerts are replaced by key, fetched by key, and listed while open."""
    assert await store.get_alert("p:io") is None
    opened = Alert("p:io", "p", Severity.WARNING, "IO low", "body", at(1))
    await store.save_alert(opened)
    sent = Alert("p:io", "p", Severity.CRITICAL, "IO gone", "body 2", at(1), last_sent_at=at(2))
    sent = replace(sent, part_of=("db is down", "rest is down, again"))
    await store.save_alert(sent)
    closed = Alert("p:db", "p", Severity.INFO, "db", "", at(0), at(1), closed_at=at(3))
    other = Alert("q:io", "q", Severity.WARNING, "IO low", "", at(5))
    await store.save_alert(closed)
    await store.save_alert(other)
    assert sent == await store.get_alert("p:io")
    assert closed == await store.get_alert("p:db")
    assert [sent, other] == await store.open_alerts()
    assert [sent] == await store.open_alerts("p")


async def test_outbox_keeps_good_news(store: Store) -> None:
    """A resolve queued as good news comes back as good news; others do not."""
    good = await store.enqueue_notification(
        "p:io", "phone", Severity.CRITICAL, "RESOLVED", "b", at(1), good_news=True
    )
    plain = await store.enqueue_notification("p:io", "phone", Severity.CRITICAL, "t", "b", at(2))
    assert [(good.id, True), (plain.id, False)] == [
        (n.id, n.good_news) for n in await store.due_notifications(at(3))
    ]


async def test_outbox_due_retry_sent_failed(store: Store) -> None:
    """Notifications are due until sent or failed; a retry waits until its time."""
    n1 = await store.enqueue_notification("p:io", "phone", Severity.CRITICAL, "t", "b", at(1))
    n2 = await store.enqueue_notification("p:io", "chat", Severity.WARNING, "t2", "b2", at(2))
    n3 = await store.enqueue_notification("p:db", "chat", Severity.INFO, "t3", "", at(3))
    assert (0, None, None, None) == (n1.attempts, n1.next_attempt_at, n1.sent_at, n1.failed)
    assert [n1, n2, n3] == await store.due_notifications(at(3))
    await store.mark_retry(n1.id, at(60), "timeout")
    await store.mark_sent(n2.id, at(4))
    await store.mark_failed(n3.id, "400 bad url", at(5))
    assert [] == await store.due_notifications(at(59))
    [due] = await store.due_notifications(at(60))
    assert (n1.id, 1, at(60)) == (due.id, due.attempts, due.next_attempt_at)
    listed = await store.notifications(T0)
    assert [n1.id, n2.id, n3.id] == [n.id for n in listed]
    assert (at(4), None) == (listed[1].sent_at, listed[1].failed)
    assert (None, "400 bad url") == (listed[2].sent_at, listed[2].failed)
    assert [n3.id] == [n.id for n in await store.notifications(at(3))]


async def test_silences_active_filter_and_remove(store: Store) -> None:
    """Active silences include their start and exclude their end; removal reports presence."""
    s1 = await store.add_silence("p", at(0), at(60), "maintenance", "ops")
    s2 = await store.add_silence("*", at(30), at(90), "all", "")
    assert [s1, s2] == await store.silences()
    assert [s1] == await store.silences(at(0))
    assert [s1, s2] == await store.silences(at(30))
    assert [s2] == await store.silences(at(60))
    assert [] == await store.silences(at(90))
    assert await store.remove_silence(s1.id) is True
    assert await store.remove_silence(s1.id) is False
    assert [s2] == await store.silences()


async def test_maintenance_windows_add_list_and_end(store: Store) -> None:
    """Windows list by start; ``ending_after`` keeps those still to end; ending one cuts it
    short once, and a planned one ended early is over before it began."""
    w1 = await store.add_maintenance("p", at(0), at(60), "db migration", "ops")
    w2 = await store.add_maintenance("*", at(100), at(200), "upgrade", "cli:ann")
    assert [w1, w2] == await store.maintenance_windows()
    assert [w1, w2] == await store.maintenance_windows(at(59))
    assert [w2] == await store.maintenance_windows(at(60))
    ended = await store.end_maintenance(w1.id, at(30))
    assert (at(0), at(30)) == ((ended.starts_at, ended.ends_at) if ended else None)
    assert await store.end_maintenance(w1.id, at(40)) is None
    early = await store.end_maintenance(w2.id, at(50))
    assert (at(50), at(50)) == ((early.starts_at, early.ends_at) if early else None)
    assert await store.end_maintenance(9999, at(50)) is None
    assert [] == await store.maintenance_windows(at(50))


async def test_first_ack_of_an_alert_stands(store: Store) -> None:
    """An ack names one alert by key and opening time; a second ack returns the first, and a
    later alert of the same key is acknowledged apart."""
    first = await store.ack_alert("p:diagnosis", "p", at(0), at(10), "ann")
    again = await store.ack_alert("p:diagnosis", "p", at(0), at(20), "bob")
    later = await store.ack_alert("p:diagnosis", "p", at(100), at(110), "bob")
    other = await store.ack_alert("q:budget", "q", at(0), at(5), "cli:eve")
    assert (first, "ann", at(10)) == (again, again.acked_by, again.acked_at)
    assert [other, first, later] == await store.acks()
    assert [first, later] == await store.acks("p")


async def test_an_alert_is_passed_on_once(store: Store) -> None:
    """Claiming an alert's escalation succeeds once per alert (key and opening time)."""
    routes = ["second", "third"]
    assert await store.claim_alert_escalation("p:diagnosis", "p", at(0), at(900), routes)
    assert not await store.claim_alert_escalation("p:diagnosis", "p", at(0), at(960), ["x"])
    assert await store.claim_alert_escalation("p:diagnosis", "p", at(5000), at(6000), ["x"])
    [first, second] = await store.alert_escalations("p")
    assert (("second", "third"), at(900), at(0)) == (
        first.routes,
        first.escalated_at,
        first.opened_at,
    )
    assert (("x",), []) == (second.routes, await store.alert_escalations("q"))


async def test_datetimes_come_back_as_aware_utc(store: Store) -> None:
    """A datetime in another zone comes back as the same instant in UTC."""
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2026, 5, 1, 14, 0, 0, 5, tzinfo=plus_two)
    await store.record_probe(ProbeResult("p", ProbeKind.DB, Outcome.TIMEOUT, local, 5.0))
    [back] = await store.recent_probes("p", local)
    assert (local, UTC) == (back.at, back.at.tzinfo)
    assert [back] == await store.recent_probes("p", datetime(2026, 5, 1, 12, 0, 0, 5, tzinfo=UTC))


async def test_enums_round_trip_to_the_same_members(store: Store) -> None:
    """Every enum value survives storage as the same StrEnum member."""
    for index, kind in enumerate(ProbeKind):
        for outcome in Outcome:
            await store.record_probe(ProbeResult("p", kind, outcome, at(index), 0.0))
    stored = await store.recent_probes("p", T0)
    assert {(k, o) for k in ProbeKind for o in Outcome} == {(r.probe, r.outcome) for r in stored}
    for tier in Tier:
        await store.record_budget(BudgetEstimate("t", at(1), tier, 1.0, 0.0, None, 1.0))
    assert list(Tier) == [b.tier for b in await store.budget_history("t", T0)]


async def test_naive_datetime_is_refused(store: Store) -> None:
    """A naive datetime is a bug and is refused before anything is written."""
    naive = datetime(2026, 5, 1, 12, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="naive"):
        await store.record_probe(ProbeResult("p", ProbeKind.DB, Outcome.OK, naive, 0.0))
    assert [] == await store.recent_probes("p", at(-86400))


async def test_unserialisable_data_is_a_permanent_error(store: Store) -> None:
    """Probe data JSON cannot hold is a permanent StoreError and nothing is written."""
    bad = probe("p", ProbeKind.DB, 1, data={"x": object()})
    with pytest.raises(StoreError) as caught:
        await store.record_probe(bad)
    assert (False, []) == (caught.value.transient, await store.recent_probes("p", T0))


async def test_closed_store_raises_permanent_error(backend: Backend) -> None:
    """Using a closed store is a permanent StoreError; closing twice is harmless."""
    opened = await backend.open()
    await opened.close()
    await opened.close()
    with pytest.raises(StoreError) as caught:
        await opened.get_state("ns", "k")
    assert caught.value.transient is False


async def test_incidents_open_gather_their_timeline_and_close(store: Store) -> None:
    """An incident opens with its cause, takes timeline lines in time order (not insertion
    order), names a worse cause, and closes with its summary; then none is current."""
    first = await store.open_incident("p1", at(100), "rest is down", 1)
    await store.open_incident("p2", at(150), "other", 1)
    email_line = IncidentEvent(
        first.id, at(40), IncidentEventKind.EMAIL, "warning", {"received_at": at(40).isoformat()}
    )
    message = IncidentEvent(first.id, at(100), IncidentEventKind.MESSAGE, "rest is down")
    await store.add_incident_event(message)
    await store.add_incident_event(email_line)
    await store.set_incident_cause(first.id, "disk IO budget exhausted on micro", 3)
    current = await store.current_incident("p1")
    assert current is not None
    assert (first.id, at(100)) == (current.id, current.opened_at)
    await store.close_incident(first.id, at(400), "RESOLVED p1")
    closed = await store.incident(first.id)
    assert closed is not None
    assert (
        ("disk IO budget exhausted on micro", 3, at(400), "RESOLVED p1"),
        [email_line, message],
        None,
    ) == (
        (closed.cause, closed.cause_rank, closed.closed_at, closed.summary),
        await store.incident_events(first.id),
        await store.current_incident("p1"),
    )


async def test_incidents_since_keeps_open_ones_and_those_closed_after(store: Store) -> None:
    """Listing since a time: incidents closed before it are left out, open ones are kept."""
    old = await store.open_incident("p1", at(0), "old", 1)
    await store.close_incident(old.id, at(10), "")
    recent = await store.open_incident("p1", at(20), "recent", 1)
    await store.close_incident(recent.id, at(30), "")
    still = await store.open_incident("p2", at(25), "open", 1)
    assert (
        [recent.id, still.id],
        [recent.id],
        [old.id, recent.id, still.id],
        None,
    ) == (
        [i.id for i in await store.incidents(since=at(15))],
        [i.id for i in await store.incidents("p1", since=at(15))],
        [i.id for i in await store.incidents()],
        await store.incident(999),
    )
