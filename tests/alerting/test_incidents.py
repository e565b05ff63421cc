"""Incidents: recorded at the announcer's, the mailbox's and the journal's seams; one summary."""

from __future__ import annotations

import asyncio
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sbwatch.alerting.incidents import (
    SUMMED_UP,
    IncidentRecorder,
    closes_every,
    one_summary,
)
from sbwatch.alerting.phone import Message
from sbwatch.cli import main
from sbwatch.commands.incidents import list_incidents, show_incident, since_of
from sbwatch.core.clock import VirtualClock
from sbwatch.core.results import (
    Alert,
    EmailKind,
    IncidentEventKind,
    IntentState,
    ProviderEmail,
    Severity,
)
from sbwatch.core.tiers import Tier
from sbwatch.policy.alerts import AlertAction, notice
from sbwatch.store.sqlite import SqliteStore

REF = "abcdefghijklmnopqrst"
T0 = datetime(2026, 5, 20, 7, 0, tzinfo=UTC)


def alert(
    subject: str, severity: Severity, title: str, cause: str = "", at: datetime = T0
) -> Alert:
    """An alert of the project about one subject."""
    return Alert(f"{REF}:{subject}", REF, severity, title, "body", at, at, cause=cause)


def said(action: AlertAction) -> Message:
    """The message a phone would show (its text does not matter here)."""
    return Message(action.alert.title, action.alert.body)


async def record(recorder: IncidentRecorder, action: AlertAction, *, ends: bool = False) -> Message:
    """Record an action of the project on micro."""
    return await recorder.record(action, said(action), name="shop", tier=Tier.MICRO, ends=ends)


def test_a_cycle_closing_every_alert_sends_one_summary() -> None:
    """Two resolves that close the project's last alerts: the critical one is sent (last), the
    other is recorded only; a cycle that opens an alert or leaves one open closes nothing."""
    rest = alert("service:rest", Severity.CRITICAL, "rest is down")
    budget = alert("io_budget", Severity.WARNING, "disk IO budget 2% left")
    resolves = [AlertAction("resolve", budget), AlertAction("resolve", rest)]
    opening = [*resolves, AlertAction("open", alert("service:auth", Severity.CRITICAL, "auth"))]
    summed = one_summary(resolves)
    assert (True, False, False) == (
        closes_every([rest, budget], resolves),
        closes_every([rest, budget], resolves[:1]),
        closes_every([rest, budget], opening),
    )
    assert [(budget.key, False, SUMMED_UP), (rest.key, True, "")] == [
        (a.alert.key, a.send, a.note) for a in summed
    ]


async def test_messages_attach_to_the_open_incident_until_it_ends(store: SqliteStore) -> None:
    """The first message opens an incident (with the email received before it); later
    messages, a cause change and a person's raise attach to it; the closing resolve becomes
    the three-line summary; the next message begins a second incident."""
    clock = VirtualClock(T0)
    recorder = IncidentRecorder(store, clock)
    email = ProviderEmail(
        "<m1>",
        EmailKind.IO_BUDGET_WARNING,
        REF,
        T0 - timedelta(hours=2),
        "Depleting",
        "a",
        True,
        "dkim",
    )
    await store.record_email(email)
    forecast = alert("io_budget", Severity.WARNING, "disk IO budget 77% left", "draining")
    await record(recorder, AlertAction("open", forecast))
    clock.advance(3600)
    failing = replace(forecast, severity=Severity.CRITICAL, title="exhausted", cause="failing")
    await record(recorder, AlertAction("update", failing, was=forecast.title))
    intent = await store.create_intent(REF, Tier.MICRO, Tier.SMALL, "r", "cli:alice", clock.now())
    await recorder.intent(await store.update_intent(intent.id, IntentState.APPLIED, clock.now()))
    clock.advance(600)
    closed = replace(failing, closed_at=clock.now())
    summary = await record(recorder, AlertAction("resolve", closed), ends=True)
    incident = (await store.incidents())[0]
    events = await store.incident_events(incident.id)
    clock.advance(60)
    await record(recorder, AlertAction("open", alert("service:rest", Severity.CRITICAL, "down")))
    assert [
        IncidentEventKind.EMAIL,
        IncidentEventKind.MESSAGE,
        IncidentEventKind.DIAGNOSIS,
        IncidentEventKind.MESSAGE,
        IncidentEventKind.ACTION,
        IncidentEventKind.MESSAGE,
        IncidentEventKind.CLOSE,
    ] == [e.kind for e in events]
    assert (
        "disk IO budget exhausted on micro",
        "RESOLVED shop: disk IO budget exhausted on micro (lasted 1h10m)",
        [
            "Cause: disk IO budget exhausted on micro; warned 3h ahead (provider email of "
            "May 20 05:00; sbwatch forecast of May 20 07:00, 1h ahead).",
            "sbwatch: raised to small by alice (sbwatch escalate) (+$5.00/month, $1.88 for "
            "the rest of May).",
            "Lasted 1h10m: 2026-05-20 07:00 to 08:10 UTC.",
        ],
        [incident.id, incident.id + 1],
    ) == (
        incident.cause,
        summary.title,
        summary.body.splitlines(),
        [i.id for i in await store.incidents()],
    )


async def test_notices_other_than_a_compute_change_open_no_incident(store: SqliteStore) -> None:
    """A weekly plan notice or the good news of a recovery begins no incident; a raise does."""
    clock = VirtualClock(T0)
    recorder = IncidentRecorder(store, clock)
    now = clock.now()
    await record(recorder, notice(REF, "plan", Severity.INFO, "plan: small fits", "", now))
    good = notice(REF, "escalation", Severity.INFO, "recovered", "", now, good_news=True)
    await record(recorder, good, ends=True)
    assert [] == await store.incidents()
    raising = notice(REF, "escalation", Severity.CRITICAL, "raising compute", "", now)
    await record(recorder, raising)
    assert ["raising compute"] == [i.cause for i in await store.incidents()]


async def test_incidents_command_lists_and_shows(store: SqliteStore) -> None:
    """`incidents` lists each as its changelog entry, `--json` as data, `show ID` prints the
    timeline; an unknown ID exits 1; --since takes a duration or a date."""
    clock = VirtualClock(T0)
    recorder = IncidentRecorder(store, clock)
    down = alert("service:rest", Severity.CRITICAL, "rest is down")
    await record(recorder, AlertAction("open", down))
    listed, shown, missing, raw = io.StringIO(), io.StringIO(), io.StringIO(), io.StringIO()
    codes = (
        await list_incidents(store, REF, None, as_json=False, out=listed),
        await show_incident(store, 1, as_json=False, out=shown),
        await show_incident(store, 7, as_json=False, out=missing),
        await list_incidents(store, None, T0, as_json=True, out=raw),
    )
    assert (0, 0, 1, 0) == codes
    assert f"#1  {REF}  open  May 20 07:00 rest is down; cause: rest is down\n" == listed.getvalue()
    assert "May 20 07:00  phone: rest is down" in shown.getvalue()
    assert "no incident #7" in missing.getvalue()
    assert ["rest is down"] == [i["cause"] for i in json.loads(raw.getvalue())]
    assert (T0 - timedelta(days=7), datetime(2026, 5, 1, tzinfo=UTC)) == (
        since_of("7d", T0),
        since_of("2026-05-01", T0),
    )


def test_incidents_command_reads_the_configured_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sbwatch incidents --since 30d` through the CLI reads the configured SQLite file."""
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\npath = "{tmp_path / "state.db"}"\n', encoding="utf-8")

    async def made_by_the_daemon() -> None:
        store = SqliteStore(tmp_path / "state.db")
        await store.open()
        await store.close()

    asyncio.run(made_by_the_daemon())
    assert 0 == main(["--config", str(config), "incidents", "--since", "30d"])
    assert "no incidents recorded\n" == capsys.readouterr().out
