"""The replay's fast path for probes: an answer reused while the world it reads stays the same.

A replay probes REST, auth and the Management API every minute, and the status page every
few; on most minutes of a case nothing those answers depend on has moved. ``SteadyProbe``
asks the world first, without HTTP, for what the answer depends on (its *key*) and how long
it takes on the virtual clock: when the key is the one of the last run, the probe's result is
the last one at the new time (the clock moved as the handler would move it). Any other run
goes through the probe itself.

A key is None when the answer cannot be known this way (requests that fail at random, a
Management API fault, a rate limit near or held to): then the probe runs. A key is read where
the request would read the world, and with the same side effects (a project's model advanced
to now, never when the request would not have reached it; a request counted by the rate
limiter), so the world runs exactly as it would. ``tests/replay/test_fast_path.py`` holds
the fast path's reports equal to the full path's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime

from sbwatch.core.clock import Clock
from sbwatch.core.results import ProbeKind, ProbeResult
from sbwatch.probes.base import Probe
from sbwatch.probes.mgmt_health import MgmtHealthProbe
from sbwatch.sim.app import RateLimiter
from sbwatch.sim.endpoints import NOTICEABLE_S
from sbwatch.sim.model import FAIL_LATENCY_S
from sbwatch.sim.world import SimWorld
from sbwatch.supabase.mgmt_api import ManagementApi

Answer = tuple[Hashable, float]
"""What an answer depends on (its key), and how long it takes on the virtual clock."""
Key = Callable[[], Answer | None]
NETWORK_DOWN: Answer = (("network down",), 0.0)
"""Every request while our own network is down: it fails before reaching anyone, at once."""


class SteadyProbe:
    """A probe whose last result is reused while its key stays the same (see module doc)."""

    def __init__(self, inner: Probe, clock: Clock, key: Key, after: Callable[[], None]) -> None:
        """``after``: what a reused answer must still do to the simulator (count requests)."""
        self.kind = inner.kind
        self._inner = inner
        self._clock = clock
        self._key = key
        self._after = after
        self._seen: Answer | None = None
        self._last: ProbeResult | None = None
        self._asked: tuple[Answer | None] | None = None
        """The answer ``reuse`` read for the real run that follows it at the same moment."""
        self._held: ProbeResult | None = None

    async def reuse(self) -> ProbeResult | None:
        """The result this moment's run gives, found without asking; None when it must ask.

        A result found stands for the run: the simulator counts it and the virtual clock
        moves as the handler's answer would have. ``hold`` hands it to the next ``run``.
        """
        answer = self._key()
        if answer is None or answer != self._seen or self._last is None:
            self._asked = (answer,)
            return None
        self._after()
        started = self._clock.monotonic()
        if answer[1] > 0.0:
            await self._clock.sleep(answer[1])  # as slowly as the handler answers
        took = max(self._clock.monotonic() - started, 0.0)
        return _at(self._last, self._clock.now(), took)

    def hold(self, result: ProbeResult) -> None:
        """The next ``run`` (at this moment) returns ``result``, found by ``reuse``."""
        self._held = result

    async def run(self) -> ProbeResult:
        """The last result at the new time when the key is unchanged, else a real run."""
        held, self._held = self._held, None
        if held is not None:
            return held
        asked, self._asked = self._asked, None
        if asked is None:
            reused = await self.reuse()
            if reused is not None:
                return reused
            asked, self._asked = self._asked, None
        answer = asked[0] if asked is not None else None
        started = self._clock.monotonic()
        result = await self._inner.run()
        moved = self._clock.monotonic() != started
        steady = answer is not None and moved == (answer[1] > 0.0)
        self._seen, self._last = (answer, result) if steady else (None, None)
        return result

    async def aclose(self) -> None:
        """Close the probe."""
        await self._inner.aclose()


def _at(result: ProbeResult, at: datetime, took: float) -> ProbeResult:
    """``result`` at another time (``dataclasses.replace``, without its per-call look-ups)."""
    return ProbeResult(
        project=result.project,
        probe=result.probe,
        outcome=result.outcome,
        at=at,
        duration_s=took,
        detail=result.detail,
        status_code=result.status_code,
        data=result.data,
        sample=result.sample,
        skipped_lines=result.skipped_lines,
        retry_after_s=result.retry_after_s,
        checks=result.checks,
        host=result.host,
    )


def _nothing() -> None:
    return None


def steady(probe: Probe, world: SimWorld, ref: str, *, limiter: RateLimiter, token: str) -> Probe:
    """``probe`` on the fast path when its kind has a key; else ``probe`` itself."""
    clock = world.clock
    if probe.kind is ProbeKind.REST:
        return SteadyProbe(probe, clock, lambda: _service_key(world, ref, "rest"), _nothing)
    if probe.kind is ProbeKind.AUTH:
        return SteadyProbe(probe, clock, lambda: _service_key(world, ref, "auth"), _nothing)
    if probe.kind is ProbeKind.STATUS_PAGE:
        return SteadyProbe(probe, clock, lambda: _status_key(world), _nothing)
    if probe.kind is ProbeKind.MGMT_HEALTH:

        def counted() -> None:  # the project and its health: two requests
            if world.network_up:
                limiter.count(token, ref)
                limiter.count(token, ref)

        assert isinstance(probe, MgmtHealthProbe)
        api = probe.api
        return SteadyProbe(
            probe, clock, lambda: _mgmt_key(world, ref, limiter, token, api), counted
        )
    return probe


def _service_key(world: SimWorld, ref: str, service: str) -> Answer | None:
    """What REST's or auth's answer depends on (sim/endpoints.py), and how long it takes."""
    if not world.network_up:
        return NETWORK_DOWN
    world.sync(ref)  # as the handler does first
    project = world.projects.get(ref)
    if project is None:
        return None
    faults = frozenset(project.faults & ({"rest", "db"} if service == "rest" else {service}))
    no_slot = service == "rest" and project.pools.full
    rebooting = project.host.down(world.clock.monotonic())
    unavailable = (
        world.platform_outage,
        project.paused,
        project.resizing,
        faults,
        no_slot,
        rebooting,
    )
    if any(unavailable):
        return unavailable, 0.0
    latency = project.model.latency_s(service)
    if latency >= FAIL_LATENCY_S:
        return None  # answered 522 or 544, drawn at random: asked for real
    delay = latency if latency >= NOTICEABLE_S else 0.0
    return (unavailable, delay), delay


def _status_key(world: SimWorld) -> Answer | None:
    """What the status page's summary depends on."""
    if not world.network_up:
        return NETWORK_DOWN
    components = tuple(world.status_components) if world.status_components else None
    return (world.status_indicator, components), 0.0


def _mgmt_key(
    world: SimWorld, ref: str, limiter: RateLimiter, token: str, api: ManagementApi
) -> Answer | None:
    """What the project and health documents the probe reads depend on (sim/mgmt.py), when
    both would be answered 200.

    None, before the world is touched, when the probe's requests may not reach the simulator
    (the client holds back after a 429) or meet a fault: the run itself then goes as it goes.
    """
    if api.blocked():
        return None
    if not world.network_up:
        return NETWORK_DOWN
    if world.mgmt_fault_for("GET") != "none":
        return None
    world.sync(ref)  # as the guard does first
    project = world.projects.get(ref)
    if world.platform_outage or project is None or not limiter.room(token, ref, 2):
        return None
    latencies = tuple(project.model.latency_s(name) for name in ("db", "rest", "auth"))
    shown = (project.name, project.region, world.status(ref))
    return (shown, project.resizing, project.paused, tuple(world.down(ref)), latencies), 0.0
