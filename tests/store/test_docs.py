"""Typed state documents: each is read and written through its slot as a value, and its JSON
is the one written before the slots (a store from an older sbwatch reads the same)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sbwatch.backup.job import health_slot
from sbwatch.daemon.presence import HEARTBEAT, Heartbeat
from sbwatch.policy.backup import BackupHealth
from sbwatch.remediation.disk_journal import changes_slot
from sbwatch.store.docs import Stamp, slot
from sbwatch.watch.state import Correction, correction_slot

T0 = datetime(2026, 5, 26, 12, 0, tzinfo=UTC)


class DictState:
    """The state role of a store, in a dict (what a slot writes is what is kept)."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], dict[str, Any]] = {}

    async def get_state(self, namespace: str, key: str) -> dict[str, Any] | None:
        return self.docs.get((namespace, key))

    async def put_state(self, namespace: str, key: str, value: dict[str, Any]) -> None:
        self.docs[(namespace, key)] = value

    async def delete_state(self, namespace: str, key: str) -> None:
        self.docs.pop((namespace, key), None)


async def test_a_slot_writes_reads_and_deletes_its_value() -> None:
    """None before the first write, the value after it, None again once deleted."""
    store = DictState()
    looked = slot("budget", "plan:r", Stamp)
    assert await looked.read(store) is None
    await looked.write(store, Stamp(T0))
    assert {("budget", "plan:r"): {"at": "2026-05-26T12:00:00+00:00"}} == store.docs
    assert Stamp(T0) == await looked.read(store)
    await looked.delete(store)
    assert await looked.read(store) is None


@pytest.mark.parametrize(
    ("value", "put", "stored"),
    [
        (Correction(35.5, T0), correction_slot("r").write, {"consumed_pct": 35.5, "at": T0}),
        (BackupHealth.VERIFY_FAILED, health_slot("r").write, {"health": "verify_failed"}),
        ([T0], changes_slot("r").write, {"seen": [T0]}),
    ],
)
async def test_each_document_keeps_its_former_json(value: Any, put: Any, stored: Any) -> None:
    """The JSON of a correction, a backup health and the disk changes seen is as before."""
    store = DictState()
    await put(store, value)
    (doc,) = store.docs.values()
    assert _iso(stored) == doc


async def test_a_malformed_document_raises_on_reading() -> None:
    """A correction written by hand and wrong is a ValueError, as parse_correction said."""
    store = DictState()
    store.docs[("budget", "correction:r")] = {"consumed_pct": 120.0, "at": T0.isoformat()}
    with pytest.raises(ValueError, match="out of range"):
        await correction_slot("r").read(store)


async def test_the_heartbeat_round_trips_through_its_slot() -> None:
    """The daemon's heartbeat comes back equal."""
    store = DictState()
    beat = Heartbeat("host:1", T0, None, 30.0, stopped_at=T0)
    await HEARTBEAT.write(store, beat)
    assert beat == await HEARTBEAT.read(store)


def _iso(value: Any) -> Any:
    """``value`` with every datetime as its ISO text."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value
