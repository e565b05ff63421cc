"""run_probe: timeout, crash containment, metrics and the canonical log line."""

from __future__ import annotations

import asyncio

from tests.probes.conftest import REF, CapturingLog

from sbwatch.core.clock import SystemClock, VirtualClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import Outcome, ProbeKind, ProbeResult
from sbwatch.probes.runner import run_probe


class StubProbe:
    """A probe whose run does what the test says."""

    kind = ProbeKind.REST

    def __init__(self, behaviour: str, clock: VirtualClock | SystemClock) -> None:
        self.behaviour = behaviour
        self.clock = clock

    async def run(self) -> ProbeResult:
        """Answer, crash, hang or raise a stray TimeoutError."""
        if self.behaviour == "crash":
            raise RuntimeError("bug in probe")
        if self.behaviour == "stray-timeout":
            raise TimeoutError
        if self.behaviour == "hang":
            await asyncio.Event().wait()
        return ProbeResult(
            REF, self.kind, Outcome.FAIL, self.clock.now(), 0.25, "server error (500)"
        )

    async def aclose(self) -> None:
        """Nothing held."""


def _sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"project": REF, "probe": "rest", **labels})


async def test_result_is_recorded_in_metrics_and_logged(capture_log: CapturingLog) -> None:
    """A probe's own result is returned, counted, timed and logged once, at debug."""
    clock, metrics = VirtualClock(), Metrics()
    result = await run_probe(
        StubProbe("answer", clock),
        project=REF,
        timeout_s=5,
        clock=clock,
        metrics=metrics,
        log=capture_log,  # type: ignore[arg-type]  # a double of the two methods run_probe calls
    )
    assert (Outcome.FAIL, 0.25) == (result.outcome, result.duration_s)
    assert 0.0 == _sample(metrics, "sbwatch_probe_success")
    assert 1.0 == _sample(metrics, "sbwatch_probe_runs_total", outcome="fail")
    assert 0.25 == _sample(metrics, "sbwatch_probe_duration_seconds_sum")
    expected = (
        "debug",
        "probe finished",
        {
            "project": REF,
            "probe": "rest",
            "outcome": "fail",
            "duration_s": 0.25,
            "detail": "server error (500)",
        },
    )
    assert [expected] == capture_log.events


async def test_crash_becomes_error_with_traceback_logged(capture_log: CapturingLog) -> None:
    """An exception from a probe is an error outcome, logged with its traceback, never raised."""
    clock, metrics = VirtualClock(), Metrics()
    result = await run_probe(
        StubProbe("crash", clock),
        project=REF,
        timeout_s=5,
        clock=clock,
        metrics=metrics,
        log=capture_log,  # type: ignore[arg-type]  # a double of the two methods run_probe calls
    )
    assert (Outcome.ERROR, "probe crashed (RuntimeError)") == (result.outcome, result.detail)
    assert ["probe crashed", "probe finished"] == [event for _, event, _ in capture_log.events]
    assert "exception" == capture_log.events[0][0]
    assert 1.0 == _sample(metrics, "sbwatch_probe_runs_total", outcome="error")


async def test_stray_timeout_error_is_a_crash(capture_log: CapturingLog) -> None:
    """A TimeoutError not caused by the runner's deadline is a probe bug: error, not timeout."""
    clock = VirtualClock()
    result = await run_probe(
        StubProbe("stray-timeout", clock),
        project=REF,
        timeout_s=5,
        clock=clock,
        metrics=Metrics(),
        log=capture_log,  # type: ignore[arg-type]  # a double of the two methods run_probe calls
    )
    assert (Outcome.ERROR, "probe crashed (TimeoutError)") == (result.outcome, result.detail)


async def test_hanging_probe_times_out(capture_log: CapturingLog) -> None:
    """A probe that never returns is cut at timeout_s and reported as timeout."""
    clock, metrics = SystemClock(), Metrics()
    result = await run_probe(
        StubProbe("hang", clock),
        project=REF,
        timeout_s=0.05,
        clock=clock,
        metrics=metrics,
        log=capture_log,  # type: ignore[arg-type]  # a double of the two methods run_probe calls
    )
    assert (Outcome.TIMEOUT, "no answer within 0.05s") == (result.outcome, result.detail)
    assert 0.05 <= result.duration_s < 2
    assert 1.0 == _sample(metrics, "sbwatch_probe_runs_total", outcome="timeout")
    assert ["probe finished"] == [event for _, event, _ in capture_log.events]


async def test_success_sets_probe_success_to_one(capture_log: CapturingLog) -> None:
    """An ok result sets sbwatch_probe_success to 1."""

    class OkProbe(StubProbe):
        async def run(self) -> ProbeResult:
            return ProbeResult(REF, self.kind, Outcome.OK, self.clock.now(), 0.01)

    clock, metrics = VirtualClock(), Metrics()
    await run_probe(
        OkProbe("ok", clock),
        project=REF,
        timeout_s=5,
        clock=clock,
        metrics=metrics,
        log=capture_log,  # type: ignore[arg-type]  # a double of the two methods run_probe calls
    )
    assert 1.0 == _sample(metrics, "sbwatch_probe_success")
