"""Probe results and states are written in shared transactions, and none is lost on an error."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from tests.store.conftest import Backend
from tests.store.test_contract import T0, at

from sbwatch.core.errors import StoreError
from sbwatch.core.results import Outcome, ProbeKind, ProbeResult, ProbeState, ProbeStatus
from sbwatch.store.sql import SqlStore

KINDS = (ProbeKind.REST, ProbeKind.AUTH, ProbeKind.METRICS)


def _result(index: int) -> ProbeResult:
    return ProbeResult(f"p{index % 50:02d}", KINDS[index % 3], Outcome.OK, at(index), 0.1)


def _status(index: int) -> ProbeStatus:
    return ProbeStatus(f"p{index % 50:02d}", KINDS[index % 3], ProbeState.UP, index, 0, at(0), None)


class Counted:
    """Wraps a store's one-transaction write: counts them, and fails the first ``fail``."""

    def __init__(self, store: SqlStore, fail: int = 0) -> None:
        self.calls = 0
        self.fail = fail
        self._many = store._many

    async def __call__(self, op: str, batches: Sequence[tuple[str, list[Sequence[Any]]]]) -> None:
        self.calls += 1
        if self.calls <= self.fail:
            await asyncio.sleep(0.01)  # the others queue meanwhile
            raise StoreError("store unreachable", transient=True)
        await self._many(op, batches)


async def test_concurrent_writes_share_transactions(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await backend.open()
    assert isinstance(store, SqlStore)
    counted = Counted(store)
    monkeypatch.setattr(store, "_many", counted)

    async def run(index: int) -> None:
        await store.record_probe(_result(index))
        await store.save_probe_status(_status(index))

    await asyncio.gather(*(run(i) for i in range(300)))
    rows = [r for p in range(50) for r in await store.recent_probes(f"p{p:02d}", T0)]
    statuses = await store.probe_statuses()
    assert 300 == len(rows)
    assert 150 == len(statuses)  # 50 projects x 3 kinds, each its latest
    assert all(s.consecutive_ok >= 150 for s in statuses)
    assert counted.calls < 60, counted.calls  # 600 writes, far fewer transactions


async def test_a_failed_write_keeps_its_rows_for_the_next(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await backend.open()
    assert isinstance(store, SqlStore)
    monkeypatch.setattr(store, "_many", Counted(store, fail=1))
    outcomes = await asyncio.gather(
        *(store.record_probe(_result(i * 50)) for i in range(10)), return_exceptions=True
    )
    errors = [o for o in outcomes if isinstance(o, StoreError)]
    assert 1 == len(errors)
    assert 10 == len(await store.recent_probes("p00", T0))
