"""The replay's fast path (handlers called directly, samples handed over, probe tables kept as
values, known probe answers reused and quiet minutes skipped) gives the very report of the
full path through httpx's in-process HTTP transport."""

from __future__ import annotations

import asyncio
import os
import random
from typing import Any

import pytest
from tests.replay.conftest import DATA, SHIPPED

from sbwatch.sim.direct import InProcessClient
from sbwatch.sim.fuzz import generate, to_toml
from sbwatch.sim.replay import NetworkGate, replay
from sbwatch.sim.scenario import Scenario, load_scenario, parse_scenario
from sbwatch.watch.pipeline import Pipeline

pytestmark = [pytest.mark.slow]

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


ONE_DAY_CASES = tuple(int(i) for i in os.environ.get("SBWATCH_BOTH_WAYS", "0,6").split(","))
"""Generated one-day cases held equal both ways (what a scorecard campaign replays): 0 has
loads, emails, faults and an outage; 6 holds the Management API to its rate limit, where the
probe's requests stop reaching the world. Each costs half a minute of the full path; ``make
fuzz`` replays the first twenty both ways (``SBWATCH_BOTH_WAYS``)."""


@pytest.mark.parametrize("index", ONE_DAY_CASES)
def test_fast_report_equals_full_on_one_day_fuzz_cases(index: int) -> None:
    """The first cases of ``sim fuzz --seed 1 --days 1``: loads, emails, faults and outages
    over a day, the quiet minutes skipped on the fast path: the same report both ways."""
    rng = random.Random(1)
    docs = [generate(rng, 1.0, i) for i in range(index + 1)]
    fast, full = both(parse_scenario(to_toml(docs[index])))
    assert full["messages"] == fast["messages"]
    assert full == fast


def test_the_fast_path_skips_quiet_minutes() -> None:
    """Evaluations that would repeat an idle one and probes whose answer is known are not run
    on the fast path: far fewer evaluations and far fewer requests to the simulator."""
    scenario = load_scenario(DATA / "service-down.toml")
    counted = {"evaluations": 0, "requests": 0}
    evaluate, answer = Pipeline._evaluate, InProcessClient._answer

    async def counting_evaluate(self: Pipeline, runtime: Any, may: Any) -> Any:
        counted["evaluations"] += 1
        return await evaluate(self, runtime, may)

    async def counting_answer(self: InProcessClient, *args: Any) -> Any:
        counted["requests"] += 1
        return await answer(self, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Pipeline, "_evaluate", counting_evaluate)
        patch.setattr(InProcessClient, "_answer", counting_answer)
        patch.setattr(NetworkGate, "handle_async_request", _counting(counted, NetworkGate))
        full = asyncio.run(replay(scenario, fast=False))
        every = dict(counted)
        counted.update(evaluations=0, requests=0)
        fast = asyncio.run(replay(scenario, fast=True))
    assert full == fast
    assert counted["evaluations"] * 2 < every["evaluations"]
    assert counted["requests"] * 2 < every["requests"]


def _counting(counted: dict[str, int], gate: type[NetworkGate]) -> Any:
    forward = gate.handle_async_request

    async def handle(self: NetworkGate, request: Any) -> Any:
        counted["requests"] += 1
        return await forward(self, request)

    return handle


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
