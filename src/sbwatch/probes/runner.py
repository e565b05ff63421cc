"""Runs one probe once: under a timeout, timed, with metrics and one canonical log line.

Where a probe's bug stops: a probe turns every failure it expects into an outcome and hands
on what it does not expect, so an exception reaching here is a bug, logged with its traceback
and reported as ``error``. It is not sbwatch's only catch-all: a scheduled job, a web request,
a message's delivery (``alerting/dispatch.py``), the mail watcher, the reading of each email
(``ingest/``), held work after a store outage, the daemon's last notice, and the simulator's
fuzz and scorecard runs each catch everything too, so that one failure does not stop the rest;
``tests/test_catch_alls.py`` holds every such handler to a comment saying why.
"""

from __future__ import annotations

import asyncio

from sbwatch.core.clock import Clock
from sbwatch.core.log import Logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import Outcome, ProbeResult
from sbwatch.probes.base import Probe


async def run_probe(
    probe: Probe, *, project: str, timeout_s: float, clock: Clock, metrics: Metrics, log: Logger
) -> ProbeResult:
    """Run ``probe`` once and return its result; never raises for a probe failure."""
    started = clock.monotonic()
    timeout = asyncio.timeout(timeout_s)
    try:
        async with timeout:
            result = await probe.run()
    except Exception as exc:  # the probes' catch-all: a probe bug becomes outcome=error
        if isinstance(exc, TimeoutError) and timeout.expired():
            detail = f"no answer within {timeout_s:g}s"
            result = _made_up(probe, project, clock, started, Outcome.TIMEOUT, detail)
        else:
            log.exception("probe crashed", project=project, probe=str(probe.kind))
            detail = f"probe crashed ({type(exc).__name__})"
            result = _made_up(probe, project, clock, started, Outcome.ERROR, detail)
    _record(metrics, project, result)
    # Debug: every run is a line; the watcher logs state changes and each cycle at info.
    log.debug(
        "probe finished",
        project=project,
        probe=str(result.probe),
        outcome=str(result.outcome),
        duration_s=round(result.duration_s, 6),
        detail=result.detail,
    )
    return result


def _made_up(
    probe: Probe, project: str, clock: Clock, started: float, outcome: Outcome, detail: str
) -> ProbeResult:
    return ProbeResult(
        project=project,
        probe=probe.kind,
        outcome=outcome,
        at=clock.now(),
        duration_s=max(clock.monotonic() - started, 0.0),
        detail=detail,
    )


def _record(metrics: Metrics, project: str, result: ProbeResult) -> None:
    series = metrics.probe_series(project, str(result.probe))
    series.success.set(1.0 if result.ok else 0.0)
    series.duration.observe(result.duration_s)
    series.runs(str(result.outcome)).inc()
