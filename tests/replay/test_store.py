"""The replay's inline store: the same reports as the daemon's aiosqlite SqliteStore."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.replay.conftest import DATA

from sbwatch.core.facts import recorded
from sbwatch.core.results import Alert, Diagnosis, DiagnosisKind, IntentState, Severity
from sbwatch.core.tiers import Tier
from sbwatch.sim.replay import replay
from sbwatch.sim.replay_store import FastReplayStore, ReplayStore
from sbwatch.sim.scenario import load_scenario
from sbwatch.store.sqlite import SqliteStore

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
        onsets = tuple((s, at) for s in down)
        why = (recorded("why"),)
        diagnosis = Diagnosis(REF, when, kind, 0.9, why, services=down, onsets=onsets)
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


async def _windows_and_acks(store: ReplayStore) -> list[Any]:
    """Write and read maintenance windows, acks and alert escalations, with the open alerts
    read between them; everything read, in order."""
    at = datetime(2026, 5, 20, tzinfo=UTC)
    hour = timedelta(hours=1)
    alert = Alert(f"{REF}:diagnosis", REF, Severity.WARNING, "title", "body", at)
    await store.save_alert(alert)
    seen: list[Any] = [await store.maintenance_windows(at), await store.open_alerts(REF)]
    window = await store.add_maintenance(REF, at, at + 2 * hour, "upgrade", "ops")
    for when in (at - hour, at + hour, at + 2 * hour, at + 3 * hour, None):
        seen += [await store.maintenance_windows(when), await store.open_alerts(REF)]
    await store.end_maintenance(window.id, at + hour)
    seen += [await store.maintenance_windows(at + hour / 2), await store.maintenance_windows()]
    seen += [await store.acks(REF), await store.alert_escalations(REF)]
    await store.ack_alert(alert.key, REF, at, at + hour, "ops")
    await store.claim_alert_escalation(alert.key, REF, at, at + hour, ["sms"])
    seen += [await store.acks(REF), await store.acks(), await store.alert_escalations()]
    return seen


async def test_fast_store_reads_windows_and_acks_as_the_sqlite_store() -> None:
    """Maintenance windows filtered by their end, acks and escalations, written and read in
    turn: the fast store answers as the SQLite store does."""
    answers = []
    for store in (ReplayStore(), FastReplayStore()):
        await store.open()
        try:
            answers.append(await _windows_and_acks(store))
        finally:
            await store.close()
    assert answers[0] == answers[1]


async def test_reading_maintenance_windows_keeps_the_fast_stores_selects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every evaluation reads the maintenance windows in force: that read must not be taken
    for a write, which would forget every SELECT kept and read the open alerts again."""
    statements: list[str] = []
    fetch = SqliteStore._fetch

    async def counting(self: SqliteStore, op: str, *args: Any, **kwargs: Any) -> Any:
        statements.append(op)
        return await fetch(self, op, *args, **kwargs)

    monkeypatch.setattr(SqliteStore, "_fetch", counting)
    store = FastReplayStore()
    await store.open()
    try:
        at = datetime(2026, 5, 20, tzinfo=UTC)
        await store.save_alert(Alert(f"{REF}:x", REF, Severity.WARNING, "t", "b", at))
        statements.clear()
        for minute in range(10):
            now = at + timedelta(minutes=minute)
            await store.maintenance_windows(now)
            await store.acks(REF)
            await store.alert_escalations(REF)
            assert 1 == len(await store.open_alerts(REF))
    finally:
        await store.close()
    assert 1 == statements.count("select alerts")
    assert 1 == statements.count("maintenance_windows")


STATES: list[Any] = [
    {"a": 1, "b": [1.5, -0.0, 2.0], "c": (1, "x", None, True), "d": {"e": [[1.0, 2], []]}},
    {"figures": [0.1 * i for i in range(168)], "ints": [1, 2, 3], "empty": {}},
    {1: "keys that are no text", 2: ["b"]},  # JSON writes them as "1" and "2"
    {1: "keys of two kinds", "x": 2.0},  # which JSON cannot sort
    {"tier": Tier.SMALL, "state": IntentState.RECOVERED},  # enums are written as their values
    {"big": [1e308, 1e308]},  # finite figures whose sum is not: written all the same
    {"nan": [1.0, float("nan")]},
    {"inf": float("inf")},
    {"set": {1, 2}},
    {"when": datetime(2026, 5, 20, tzinfo=UTC)},
]


async def _states(store: ReplayStore) -> list[Any]:
    """Write each document, change it afterwards, read it back; a refusal as its error."""
    seen: list[Any] = []
    for index, document in enumerate(STATES):
        written = copy.deepcopy(document)
        try:
            await store.put_state("test", str(index), written)
        except Exception as exc:  # the store's refusal, compared by kind
            seen.append(type(exc).__name__)
            continue
        for value in written.values():  # what the writer does with it next is not kept
            if isinstance(value, list):
                value.append(0)
            if isinstance(value, dict):
                value.clear()
        seen.append(await store.get_state("test", str(index)))
    nested: dict[str, Any] = {"x": 1}
    nested["self"] = nested
    try:
        await store.put_state("test", "cycle", nested)
    except Exception as exc:
        seen.append(type(exc).__name__)
    deep: dict[str, Any] = {"level": 0}
    for level in range(40):
        deep = {"level": level + 1, "inner": deep}
    await store.put_state("test", "deep", deep)
    seen.append(await store.get_state("test", "deep"))
    return seen


async def test_fast_store_keeps_state_documents_as_the_sqlite_store_does() -> None:
    """State documents kept as copies read back as their JSON text reads back: the same
    values, none of the writer's later changes, and the same refusals (keys JSON cannot sort,
    NaN, infinity, a set, a time, a cycle)."""
    answers = []
    for store in (ReplayStore(), FastReplayStore()):
        await store.open()
        try:
            answers.append(await _states(store))
        finally:
            await store.close()
    assert answers[0] == answers[1]
    assert answers[0].count("StoreError") == 6
    assert {"1": "keys that are no text", "2": ["b"]} == answers[0][2]
