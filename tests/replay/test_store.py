"""The replay's inline store: the same reports as the daemon's aiosqlite SqliteStore."""

from __future__ import annotations

import json

import pytest
from tests.replay.conftest import DATA

from sbwatch.sim.replay import replay
from sbwatch.sim.replay_store import ReplayStore
from sbwatch.sim.scenario import load_scenario
from sbwatch.store.sqlite import SqliteStore


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
