"""The replay's inline store: the same reports as the daemon's aiosqlite SqliteStore."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.replay.conftest import DATA

from sbwatch.core.results import Alert, Diagnosis, DiagnosisKind, IntentState, Severity
from sbwatch.sim.replay import replay
from sbwatch.sim.replay_store import FastReplayStore, ReplayStore
from sbwatch.sim.scenario import load_scenario
from sbwatch.store.sqlite import SqliteStore
from sbwatch.supabase.tiers import Tier

REF = "abcdefghijklmnopqrst"


@pytest.mark.parametrize("name", ["mgmt-patch-error", "service-down", "spoofed-email"])
async def test_inline_store_gives_the_same_report(name: str) -> None:
    """A replay on ReplayStore and on SqliteStore(":memory:") yields identical reports."""
    scenario = load_scenario(DATA / f"{name}.toml")
    inline = await replay(scenario)
    threaded = await replay(scenario, store=SqliteStore(":memory:"))
    assert json.dumps(threaded, sort_keys=True) == json.dumps(inline, sort_keys=True)
    assert inline["passed"]


async def test_inline_store_round_trips_state() -> None:
    """State written through the inline connection reads back; closing twice is harmless."""
    store = ReplayStore()
    await store.open()
    await store.put_state("test", "key", {"a": 1})
    assert {"a": 1} == await store.get_state("test", "key")
    await store.delete_state("test", "key")
    assert None is await store.get_state("test", "key")
    await store.close()
    await store.close()


async def _journal_and_alerts(store: ReplayStore) -> list[Any]:
    """Write and read diagnoses, alerts and intents in turn; everything read, in order."""
    at = datetime(2026, 5, 20, tzinfo=UTC)
    later = at + timedelta(minutes=10)
    seen: list[Any] = []
    for when, kind in ((at, DiagnosisKind.HEALTHY), (later, DiagnosisKind.SERVICE_DOWN)):
        down = ("rest",) if kind is DiagnosisKind.SERVICE_DOWN else ()
        diagnosis = Diagnosis(
            REF, when, kind, 0.9, ("why",), services=down, onsets=tuple((s, at) for s in down)
        )
        await store.record_diagnosis(diagnosis)
        seen += [await store.latest_diagnosis(REF), await store.diagnoses(REF, at)]
    alert = Alert(f"{REF}:diagnosis", REF, Severity.WARNING, "title", "body", at)
    seen.append(await store.open_alerts(REF))
    await store.save_alert(alert)
    seen += [await store.open_alerts(REF), await store.open_alerts()]
    await store.save_alert(replace(alert, closed_at=later))
    seen.append(await store.open_alerts(REF))
    seen += [await store.intents(REF), await store.unfinished_intents(REF)]
    intent = await store.create_intent(REF, Tier.SMALL, Tier.MEDIUM, "why", "daemon", at)
    seen += [await store.intents(REF), await store.unfinished_intents(REF)]
    await store.update_intent(intent.id, IntentState.RECOVERED, later)
    seen += [
        await store.intents(REF),
        await store.intents(REF, later),
        await store.unfinished_intents(),
    ]
    return seen


async def test_fast_store_reads_what_the_sqlite_store_reads() -> None:
    """Diagnoses kept as values and alerts and intents read again only after a write: the
    fast replay store answers every read as the SQLite store does."""
    answers = []
    for store in (ReplayStore(), FastReplayStore()):
        await store.open()
        try:
            answers.append(await _journal_and_alerts(store))
        finally:
            await store.close()
    assert answers[0] == answers[1]
