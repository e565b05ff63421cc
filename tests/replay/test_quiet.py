"""The replay's shortcuts through quiet minutes: a probe's answer reused while its key holds,
a reused result identical but for its time, and metrics that keep nothing."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import generate_latest

from sbwatch.core.clock import VirtualClock
from sbwatch.core.results import (
    DataCheckKind,
    DataCheckResult,
    HostSample,
    IoSample,
    Outcome,
    ProbeKind,
    ProbeResult,
    Verdict,
)
from sbwatch.sim.quiet import UnreadMetrics
from sbwatch.sim.steady import Answer, SteadyProbe, _at


class CountingProbe:
    """A REST probe stand-in that counts its runs and takes ``delay_s`` on the clock."""

    kind = ProbeKind.REST

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.runs = 0
        self.delay_s = 0.0

    async def run(self) -> ProbeResult:
        """One run: the time it took, and which run it was in the detail."""
        self.runs += 1
        started = self.clock.monotonic()
        if self.delay_s:
            await self.clock.sleep(self.delay_s)
        return ProbeResult(
            project="p",
            probe=ProbeKind.REST,
            outcome=Outcome.OK,
            at=self.clock.now(),
            duration_s=self.clock.monotonic() - started,
            detail=f"run {self.runs}",
            status_code=200,
        )

    async def aclose(self) -> None:
        """Nothing to close."""


def steady_probe() -> tuple[CountingProbe, SteadyProbe, list[Answer | None], list[int]]:
    """A counting probe behind SteadyProbe, its key settable, and the count of reuses."""
    clock = VirtualClock()
    inner = CountingProbe(clock)
    key: list[Answer | None] = [(("up",), 0.0)]
    reused = [0]

    def after() -> None:
        reused[0] += 1

    return inner, SteadyProbe(inner, clock, lambda: key[0], after), key, reused


def test_an_unchanged_key_reuses_the_last_result_at_the_new_time() -> None:
    """The probe runs once; the next run a minute later is its result, stamped then."""
    inner, probe, _, reused = steady_probe()
    first = asyncio.run(probe.run())
    inner.clock.advance(60)
    second = asyncio.run(probe.run())
    assert 1 == inner.runs
    assert 1 == reused[0]
    assert first.at + timedelta(seconds=60) == second.at
    assert dataclasses.replace(first, at=second.at) == second


def test_a_changed_or_unknown_key_runs_the_probe() -> None:
    """A new key, or none (the answer cannot be known), asks for real every time."""
    inner, probe, key, reused = steady_probe()
    asyncio.run(probe.run())
    key[0] = (("down",), 0.0)
    asyncio.run(probe.run())
    key[0] = None
    asyncio.run(probe.run())
    asyncio.run(probe.run())
    assert 4 == inner.runs
    assert 0 == reused[0]


def test_a_slow_answer_reused_takes_its_time_on_the_clock() -> None:
    """A reused answer of a slow handler moves the virtual clock as the handler would."""
    inner, probe, key, _ = steady_probe()
    inner.delay_s = 2.5
    key[0] = (("up", 2.5), 2.5)
    asyncio.run(probe.run())
    before = inner.clock.monotonic()
    again = asyncio.run(probe.run())
    assert 1 == inner.runs
    assert 2.5 == inner.clock.monotonic() - before
    assert 2.5 == again.duration_s


def test_reuse_then_hold_gives_the_next_run_that_result() -> None:
    """A result found by reuse and held is what the following run returns, without asking."""
    inner, probe, _, reused = steady_probe()
    asyncio.run(probe.run())
    found = asyncio.run(probe.reuse())
    assert found is not None
    probe.hold(found)
    assert found == asyncio.run(probe.run())
    assert 1 == inner.runs
    assert 1 == reused[0]


def test_a_result_at_another_time_keeps_every_other_field() -> None:
    """``_at`` is ``dataclasses.replace`` of the time and duration, every field kept."""
    at = datetime(2026, 5, 20, tzinfo=UTC)
    sample = IoSample(at, 1.0, 2.0, 3.0, 4.0)
    values: dict[str, Any] = {
        "project": "p",
        "probe": ProbeKind.METRICS,
        "outcome": Outcome.FAIL,
        "at": at,
        "duration_s": 1.5,
        "detail": "detail",
        "status_code": 503,
        "data": {"k": "v"},
        "sample": sample,
        "skipped_lines": 3,
        "retry_after_s": 7.0,
        "checks": (DataCheckResult("c", DataCheckKind.FRESH, "t", Verdict.OK),),
        "host": HostSample(at, 1.0, 0.5),
    }
    fields = {f.name for f in dataclasses.fields(ProbeResult)}
    assert fields == set(values), "every field is set to a value other than its default"
    result = ProbeResult(**values)
    later = at + timedelta(minutes=1)
    assert dataclasses.replace(result, at=later, duration_s=0.25) == _at(result, later, 0.25)


def test_unread_metrics_take_every_update_and_keep_nothing() -> None:
    """The watcher's updates go through; the registry exposes no value of them."""
    metrics = UnreadMetrics()
    series = metrics.probe_series("p", "rest")
    series.up.set(1.0)
    series.duration.observe(0.5)
    series.runs("ok").inc()
    metrics.io_budget_ratio.labels("p").set(0.5)
    metrics.diagnosis.labels("p", "healthy").set(1.0)
    assert b"sbwatch_probe_up{" not in generate_latest(metrics.registry)
    assert b"sbwatch_io_budget_ratio{" not in generate_latest(metrics.registry)
