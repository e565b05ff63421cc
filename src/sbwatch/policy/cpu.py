"""CPU: busy time (iowait apart) held above the provider's line for a configured time (pure).

iowait is time the CPUs wait on the disks: it belongs to the IO budget, not to the CPU. Busy is
every other mode but idle. One busy interval is load; every interval of ``sustain`` busy is a
size too small for the work.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sbwatch.core.results import HostSample
from sbwatch.core.tiers import CPUS, Tier, rank

CPU_BUSY_HIGH = 0.90
"""Busy above this (iowait apart), sustained: the CPUs are saturated."""
KEEP = timedelta(hours=2)
"""How long readings are remembered."""


@dataclass(frozen=True)
class CpuPoint:
    """The CPU counters of one scrape."""

    at: datetime
    total_s: float
    busy_s: float
    cpus: int


def point_of(host: HostSample) -> CpuPoint | None:
    """The CPU reading of one scrape; None when it has no CPU series."""
    total, busy = host.cpu_seconds_total, host.cpu_busy_seconds_total
    if total is None or busy is None or host.cpus <= 0:
        return None
    return CpuPoint(host.at, total, busy, host.cpus)


@dataclass(frozen=True)
class CpuState:
    """What the readings say about the CPUs at ``at``."""

    at: datetime
    busy_ratio: float
    """Busy share of the last interval (iowait apart)."""
    busy_for_s: float
    """How long every interval has been busy above ``CPU_BUSY_HIGH`` (0: the last is not)."""
    held: bool
    """Busy above the line for the whole of ``sustain``."""
    cpus: int


def _busy(a: CpuPoint, b: CpuPoint) -> float | None:
    total = b.total_s - a.total_s
    if total <= 0 or b.busy_s < a.busy_s:
        return None  # a restart (counters reset) or a repeated reading
    return min(1.0, max(0.0, (b.busy_s - a.busy_s) / total))


def assess(points: Sequence[CpuPoint], sustain: timedelta) -> CpuState | None:
    """The CPU state from readings in time order; None without two to compare."""
    intervals = _intervals_back(points)
    newest = next(intervals, None)
    if newest is None or newest[0] != points[-1].at:
        return None
    since = None
    for end, start, ratio in itertools.chain((newest,), intervals):
        if ratio <= CPU_BUSY_HIGH:
            break
        if since is not None and end != since:
            break  # a gap (a restart): the run starts again
        since = start
    last = points[-1]
    busy_for = 0.0 if since is None else (last.at - since).total_seconds()
    return CpuState(
        at=last.at,
        busy_ratio=newest[2],
        busy_for_s=busy_for,
        held=since is not None and busy_for >= sustain.total_seconds(),
        cpus=last.cpus,
    )


def _intervals_back(points: Sequence[CpuPoint]) -> Iterator[tuple[datetime, datetime, float]]:
    """(end, start, busy share) of each interval that has one, the newest first: worked out
    only as far back as they are read."""
    for index in range(len(points) - 1, 0, -1):
        a, b = points[index - 1], points[index]
        ratio = _busy(a, b)
        if ratio is not None:
            yield b.at, a.at, ratio


def more_cpus(current: Tier) -> Tier | None:
    """The smallest size with more CPUs than ``current`` (None at the top)."""
    have = CPUS[current]
    return next((t for t in Tier if rank(t) > rank(current) and CPUS[t] > have), None)
