"""The ten-minute slots with probe results: one query both stores answer alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sbwatch.core.results import Outcome, ProbeKind, ProbeResult
from sbwatch.store.base import Store

REF = "abcdefghijklmnopqrst"
T0 = datetime(2026, 5, 26, 9, 0, tzinfo=UTC)


async def test_slots_hold_each_probe_once_and_start_at_the_slot_of_since(store: Store) -> None:
    """Results at 09:00, 09:04, 09:13 and 09:39 for db, 09:05 for rest, one of another probe
    and one of another project: since 09:05 the db slots are 09:00, 09:10 and 09:30 (the slot
    holding since counts whole), rest's 09:00; the metrics probe was not asked for."""
    for minutes, probe, project in [
        (0, ProbeKind.DB, REF),
        (4, ProbeKind.DB, REF),
        (13, ProbeKind.DB, REF),
        (39.9, ProbeKind.DB, REF),
        (5, ProbeKind.REST, REF),
        (7, ProbeKind.METRICS, REF),
        (8, ProbeKind.DB, "zzzzzzzzzzzzzzzzzzzz"),
    ]:
        at = T0 + timedelta(minutes=minutes)
        await store.record_probe(ProbeResult(project, probe, Outcome.OK, at, 0.1))
    found = await store.probe_slots(REF, T0 + timedelta(minutes=5), [ProbeKind.DB, ProbeKind.REST])
    slot = [T0 + timedelta(minutes=m) for m in (0, 10, 30)]
    assert [
        (ProbeKind.DB, slot[0]),
        (ProbeKind.REST, slot[0]),
        (ProbeKind.DB, slot[1]),
        (ProbeKind.DB, slot[2]),
    ] == found
    assert [] == await store.probe_slots(REF, T0 + timedelta(minutes=40), [ProbeKind.DB])
