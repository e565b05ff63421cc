"""The replay's fast path (handlers called directly, samples handed over, probe tables kept as
values) gives the very report of the full path through httpx's in-process HTTP transport."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from tests.replay.conftest import DATA, SHIPPED

from sbwatch.sim.fuzz import generate, to_toml
from sbwatch.sim.replay import replay
from sbwatch.sim.scenario import Scenario, load_scenario, parse_scenario

FILES = (
    SHIPPED / "platform-outage.toml",
    DATA / "service-down.toml",
    DATA / "network-off.toml",
    DATA / "paused.toml",
    DATA / "spoofed-email.toml",
    DATA / "two-projects.toml",
    DATA / "mgmt-patch-slow.toml",
    DATA / "exhausted-failing.toml",
)


def both(scenario: Scenario) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fast and the full report of one scenario."""
    fast = asyncio.run(replay(scenario, fast=True))
    full = asyncio.run(replay(scenario, fast=False))
    return fast, full


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_fast_report_equals_full(path: Any) -> None:
    """Every key of the report, the messages the phone got first among them."""
    fast, full = both(load_scenario(path))
    assert full["messages"], "the scenario sends something"
    assert full["messages"] == fast["messages"]
    assert full == fast


def test_fast_report_equals_full_on_a_random_case() -> None:
    """A generated case with two projects, emails and faults: the same report both ways."""
    rng = random.Random(7)
    doc = next(d for d in (generate(rng, 0.5, i) for i in range(50)) if len(d["projects"]) == 2)
    fast, full = both(parse_scenario(to_toml(doc)))
    assert full == fast


def test_the_full_path_goes_through_http() -> None:
    """The full path is not the fast one: its requests reach Starlette's app over ASGI."""
    import starlette.applications

    calls = 0
    original = starlette.applications.Starlette.__call__

    async def counting(self: Any, scope: Any, receive: Any, send: Any) -> None:
        nonlocal calls
        calls += 1
        await original(self, scope, receive, send)

    scenario = load_scenario(DATA / "service-down.toml")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(starlette.applications.Starlette, "__call__", counting)
        asyncio.run(replay(scenario, fast=True))
        fast_calls = calls
        asyncio.run(replay(scenario, fast=False))
    assert 0 == fast_calls
    assert calls > 100
