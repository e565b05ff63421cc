"""The schedule: stable phases, first runs spread when many start together, lag measured."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from structlog.testing import capture_logs

from sbwatch.core.clock import SystemClock
from sbwatch.core.metrics import Metrics
from sbwatch.daemon import scheduler as scheduling
from sbwatch.daemon.scheduler import JobName, Scheduler, phase

DEADLINE_S = 10.0


def _recorder(starts: dict[str, list[float]], name: str) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        starts.setdefault(name, []).append(time.monotonic())

    return job


async def _until(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(DEADLINE_S):
        while not check():  # noqa: ASYNC110 - the jobs under test offer no event to wait on
            await asyncio.sleep(0.02)


def test_a_jobs_phase_is_fixed_by_its_name() -> None:
    names = [f"probe:{i:04d}:rest" for i in range(2000)]
    phases = [phase(name) for name in names]
    assert phases == [phase(name) for name in names]
    assert all(0.0 <= p < 1.0 for p in phases)
    quarters = [sum(1 for p in phases if q / 4 <= p < (q + 1) / 4) for q in range(4)]
    assert min(quarters) > 400, quarters  # spread over the interval, not bunched


async def test_a_few_jobs_run_at_once_at_start() -> None:
    starts: dict[str, list[float]] = {}
    scheduler = Scheduler(SystemClock())
    for job in (JobName("probe", ("a", "rest")), JobName("probe", ("a", "auth"))):
        scheduler.every(job, 30.0, _recorder(starts, job.name))
    scheduler.every(JobName("evaluate", ("a",)), 30.0, _recorder(starts, "evaluate:a"))
    began = time.monotonic()
    scheduler.start()
    try:
        await _until(lambda: len(starts) == 3)
    finally:
        await scheduler.stop()
    assert max(at[0] for at in starts.values()) - began < 1.0


async def test_a_fleets_first_runs_are_spread_and_keep_their_phase(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """200 jobs at 2 s, at most 100 first runs a second: spread over the whole interval, and
    each job's next run comes one interval after its first was due (its phase), however late
    a busy loop started the first."""
    monkeypatch.setattr(scheduling, "FIRST_RUNS_PER_S", 100.0)
    starts: dict[str, list[float]] = {}
    scheduler = Scheduler(SystemClock())
    jobs = [JobName("probe", (f"{i:03d}", "rest")) for i in range(200)]
    names = [job.name for job in jobs]
    for job in jobs:
        scheduler.every(job, 2.0, _recorder(starts, job.name))
    began = time.monotonic()
    scheduler.start()
    try:
        await _until(lambda: all(len(starts.get(n, [])) >= 2 for n in names))
    finally:
        await scheduler.stop()
    firsts = sorted(starts[n][0] - began for n in names)
    in_first_half = sum(1 for at in firsts if at < 1.0)
    assert 60 < in_first_half < 140, in_first_half  # about half of them, not all at once
    assert firsts[-1] > 1.5
    due = {n: began + phase(n) * 2.0 + 2.0 for n in names}  # the spread is the interval
    late = [starts[n][1] - due[n] for n in names]
    assert all(-0.1 < s < 0.5 for s in late), (min(late), max(late))


async def test_a_late_start_is_measured_and_said_once() -> None:
    """A loop held from 0.5 s to 3.3 s makes the job due at 2 s late by 1.3 s (within its
    misfire grace of one interval): the histogram has it, and one warning says how many runs
    were late and the worst."""
    metrics = Metrics()
    scheduler = Scheduler(SystemClock(), metrics)
    runs: list[str] = []

    async def hog() -> None:
        runs.append("hog")
        if runs.count("hog") == 2:
            time.sleep(2.8)  # noqa: ASYNC251 - holds the event loop, as too much work would

    async def tick() -> None:
        runs.append("tick")

    with capture_logs() as logs:
        scheduler.every(JobName("hog"), 0.5, hog)
        scheduler.every(JobName("probe", ("x", "rest")), 2.0, tick)
        scheduler.start()
        try:
            await _until(lambda: any(e["event"] == "schedule running late" for e in logs))
        finally:
            await scheduler.stop()
    late = [e for e in logs if e["event"] == "schedule running late"]
    assert 1 == len(late)
    assert late[0]["late_runs"] >= 1
    assert late[0]["worst_s"] >= 1.0
    count = metrics.registry.get_sample_value("sbwatch_job_lag_seconds_count", {"job": "probe"})
    above = metrics.registry.get_sample_value(
        "sbwatch_job_lag_seconds_bucket", {"job": "probe", "le": "1.0"}
    )
    assert count is not None
    assert above is not None
    assert count > above  # one run over 1 s late


def test_a_job_name_keeps_its_kind_beside_its_name() -> None:
    """``probe:REF:rest`` is built from its parts; the lag metric's label is the kind itself,
    never read back out of the name."""
    job = JobName("probe", ("abc", "rest"))
    assert ("probe:abc:rest", "probe") == (job.name, job.kind)
    assert ("heartbeat", "heartbeat") == (JobName("heartbeat").name, JobName("heartbeat").kind)
