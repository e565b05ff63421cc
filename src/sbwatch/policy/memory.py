"""Memory and swap: the provider's thresholds held over a window, a leak's forecast, OOMs (pure).

The provider says a size is too small when swap is above 70% used, or RAM consistently above
75% used. "Consistently" is every reading of the last ``sustain`` above it, never one scrape.
An OOM reboots the machine: its counters start again from zero. A reset after readings with
memory full is taken for an OOM (the machine's ``oom_kill`` counter rising says it outright);
a size change resets them too, and the watcher forgets the readings then.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sbwatch.core.results import HostSample
from sbwatch.core.tiers import MEMORY_GB, Tier, rank

RAM_HIGH = 0.75
"""RAM used above this, consistently: the size is too small (the provider's troubleshooting)."""
SWAP_HIGH = 0.70
"""Swap used above this: the size is too small."""
OOM_FULL = 0.95
"""RAM used at or above this before a counter reset: the reset was an OOM."""
SWAP_IO_MBPS = 1.0
"""Swap traffic above this (MB/s, in and out) is significant: it is read from the root disk,
which shares the IO budget."""
PAGE_BYTES = 4096
"""The kernel's page: ``pswpin``/``pswpout`` count pages."""
LEAK_SPAN = timedelta(minutes=30)
"""A leak is forecast from at least this long of readings since the last restart."""
LEAK_FIT = 0.8
"""How straight the fall of free memory must be (R² of the line) to be called a leak."""
KEEP = timedelta(hours=6)
"""How long readings (and an OOM) are remembered."""
GIB = 1024**3
_MB = 1_000_000
_Counter = Callable[["MemoryPoint"], float | None]


@dataclass(frozen=True)
class MemoryPoint:
    """One reading of memory and swap; counters None when the scrape lacks them."""

    at: datetime
    total_bytes: float
    available_bytes: float
    swap_total_bytes: float = 0.0
    swap_free_bytes: float = 0.0
    swap_in_pages: float | None = None
    swap_out_pages: float | None = None
    major_faults: float | None = None
    oom_kills: float | None = None

    @property
    def used_ratio(self) -> float:
        """RAM in use (not available), 0..1."""
        return min(1.0, max(0.0, 1.0 - self.available_bytes / self.total_bytes))

    @property
    def swap_ratio(self) -> float | None:
        """Swap in use, 0..1 (None: no swap)."""
        if self.swap_total_bytes <= 0:
            return None
        return min(1.0, max(0.0, 1.0 - self.swap_free_bytes / self.swap_total_bytes))

    @property
    def swap_used_bytes(self) -> float:
        """Swap in use, bytes."""
        return max(0.0, self.swap_total_bytes - self.swap_free_bytes)

    @property
    def used_bytes(self) -> float:
        """What the machine holds: RAM in use and swap in use."""
        return max(0.0, self.total_bytes - self.available_bytes) + self.swap_used_bytes

    @property
    def headroom_bytes(self) -> float:
        """What is left before an OOM: RAM available and swap free."""
        return self.available_bytes + self.swap_free_bytes

    def counters(self) -> tuple[float | None, ...]:
        """The cumulative counters, for reset checks."""
        return (self.swap_in_pages, self.swap_out_pages, self.major_faults, self.oom_kills)


def point_of(host: HostSample) -> MemoryPoint | None:
    """The memory reading of one scrape; None when it has no RAM figures."""
    total, avail = host.mem_total_bytes, host.mem_available_bytes
    if total is None or avail is None or total <= 0:
        return None
    return MemoryPoint(
        host.at,
        total,
        avail,
        host.swap_total_bytes or 0.0,
        host.swap_free_bytes or 0.0,
        host.swap_in_pages_total,
        host.swap_out_pages_total,
        host.major_faults_total,
        host.oom_kills_total,
    )


def reset_between(prev: MemoryPoint, cur: MemoryPoint) -> bool:
    """Whether a counter went back: the machine restarted in between."""
    return any(
        a is not None and b is not None and b < a
        for a, b in zip(prev.counters(), cur.counters(), strict=True)
    )


def oom_between(prev: MemoryPoint, cur: MemoryPoint) -> bool:
    """Whether an OOM happened between two readings: the kill counter rose, or the counters
    reset after memory was full (the OOM rebooted the machine)."""
    if prev.oom_kills is not None and cur.oom_kills is not None and cur.oom_kills > prev.oom_kills:
        return True
    if not reset_between(prev, cur):
        return False
    swap = prev.swap_ratio
    return prev.used_ratio >= OOM_FULL or (
        prev.used_ratio >= RAM_HIGH and swap is not None and swap >= SWAP_HIGH
    )


@dataclass(frozen=True)
class MemoryState:
    """What the readings say about memory at ``at``."""

    at: datetime
    used_ratio: float
    swap_ratio: float | None
    total_bytes: float
    need_bytes: float
    """The most the machine held (RAM and swap in use) since its last restart."""
    high_for_s: float
    """How long every reading has had RAM above ``RAM_HIGH`` (0: the last one is not)."""
    held: bool
    """RAM above ``RAM_HIGH`` for the whole window: consistently."""
    swap_high: bool
    swap_io_mbps: float | None
    """Swap traffic over the last interval, MB/s (None: not measurable)."""
    major_faults_s: float | None
    oom_at: datetime | None
    """The reading that saw the last OOM (within ``KEEP``)."""
    oom_after: datetime | None = None
    """The reading before it: the OOM struck between the two."""
    swap_eta_s: float | None = None
    """A leak: seconds until RAM runs out and the machine swaps (None: no steady fall)."""
    oom_eta_s: float | None = None
    """A leak: seconds until RAM and swap run out (an OOM)."""
    leaking: bool = False
    """Free memory falls steadily since the last restart, or fell so up to the OOM that caused
    it: a leak, which a bigger size only puts off."""

    @property
    def short(self) -> bool:
        """The provider's thresholds are held: the size is too small."""
        return self.held or self.swap_high

    @property
    def swapping(self) -> bool:
        """Swap traffic is significant (it draws on the IO budget)."""
        return self.swap_io_mbps is not None and self.swap_io_mbps >= SWAP_IO_MBPS


@dataclass
class Restarts:
    """The restarts and OOMs found among a window's readings, each pair of neighbours checked
    once: when its later reading comes.

    The window only grows at its end and loses readings at its start (watch/readings.py), so
    two neighbours stay neighbours for as long as both are kept; a pair whose earlier reading
    was dropped is no longer in the window. Kept beside the one window it was built from.
    """

    scanned_to: datetime | None = None
    """The latest reading checked against the one before it."""
    resets: list[datetime] = field(default_factory=list)
    """The later reading of every pair with a counter gone back, oldest first."""
    ooms: list[tuple[datetime, datetime]] = field(default_factory=list)
    """Both readings of every pair an OOM struck between, oldest first."""
    peaks: deque[tuple[datetime, float]] = field(default_factory=deque)
    """(reading, what the machine held) of every reading that held more than all after it."""

    def scan(self, points: Sequence[MemoryPoint]) -> tuple[int, tuple[datetime, datetime] | None]:
        """Check the readings not checked yet; (where the last restart leaves the window, the
        last OOM's pair of readings) among ``points``."""
        first = points[0].at
        index = len(points)
        while index > 0 and (self.scanned_to is None or points[index - 1].at > self.scanned_to):
            index -= 1
        for cur in points[index:]:
            while self.peaks and self.peaks[-1][1] <= cur.used_bytes:
                self.peaks.pop()
            self.peaks.append((cur.at, cur.used_bytes))
        for later in range(max(index, 1), len(points)):
            prev, cur = points[later - 1], points[later]
            if oom_between(prev, cur):
                self.ooms.append((prev.at, cur.at))
            if reset_between(prev, cur):
                self.resets.append(cur.at)
        self.scanned_to = points[-1].at
        while self.resets and self.resets[0] <= first:
            self.resets.pop(0)
        while self.ooms and self.ooms[0][1] <= first:
            self.ooms.pop(0)
        start = 0
        if self.resets:
            start = bisect.bisect_left(points, self.resets[-1], key=_at)
        return start, self.ooms[-1] if self.ooms else None

    def held_most(self, since: datetime) -> float:
        """The most the machine held in a reading at or after ``since`` (never one before
        the last reading scanned, and ``since`` never goes back)."""
        while self.peaks[0][0] < since:
            self.peaks.popleft()
        return self.peaks[0][1]


def _at(point: MemoryPoint) -> datetime:
    return point.at


def assess(
    points: Sequence[MemoryPoint],
    now: datetime,
    sustain: timedelta,
    restarts: Restarts | None = None,
) -> MemoryState | None:
    """The memory state from readings in time order (no two at the same time); None without
    any.

    ``restarts``: what the last assessment of this very window (readings added since at its
    end, old ones dropped at its start) found of its restarts, so that only new readings are
    checked; without it, every pair is.
    """
    if not points:
        return None
    last = points[-1]
    scan = restarts if restarts is not None else Restarts()
    start, oom = scan.scan(points)
    oom_after, oom_at = oom if oom is not None else (None, None)
    alive = points[start:]
    high_since = None
    for point in reversed(alive):
        if point.used_ratio <= RAM_HIGH:
            break
        high_since = point.at
    high_for = 0.0 if high_since is None else (last.at - high_since).total_seconds()
    swap = last.swap_ratio
    swap_eta, oom_eta = _leak(alive)
    leaking = oom_eta is not None or (oom_at is not None and _ran_up_to(points, start, scan))
    return MemoryState(
        at=last.at,
        used_ratio=last.used_ratio,
        swap_ratio=swap,
        total_bytes=last.total_bytes,
        need_bytes=scan.held_most(alive[0].at),
        high_for_s=high_for,
        held=high_since is not None and high_for >= sustain.total_seconds(),
        swap_high=swap is not None and swap > SWAP_HIGH,
        swap_io_mbps=_swap_io(alive),
        major_faults_s=_rate(alive, lambda p: p.major_faults),
        oom_at=oom_at if oom_at is not None and now - oom_at <= KEEP else None,
        oom_after=oom_after if oom_at is not None and now - oom_at <= KEEP else None,
        swap_eta_s=swap_eta,
        oom_eta_s=oom_eta,
        leaking=leaking,
    )


def _ran_up_to(points: Sequence[MemoryPoint], start: int, scan: Restarts) -> bool:
    """Free memory fell steadily through the readings before the last restart (from the one
    before it): the OOM that restarted the machine was a leak's end."""
    earlier = [at for at in scan.resets if at < points[start].at] if start else []
    begin = bisect.bisect_left(points, earlier[-1], key=_at) if earlier else 0
    return start > 0 and _leak(points[begin:start])[1] is not None


def _rate(points: Sequence[MemoryPoint], counter: _Counter) -> float | None:
    if len(points) < 2:
        return None
    a, b = points[-2], points[-1]
    before, after = counter(a), counter(b)
    seconds = (b.at - a.at).total_seconds()
    if before is None or after is None or seconds <= 0 or after < before:
        return None
    return (after - before) / seconds


def _swap_io(points: Sequence[MemoryPoint]) -> float | None:
    pages_in = _rate(points, lambda p: p.swap_in_pages)
    pages_out = _rate(points, lambda p: p.swap_out_pages)
    if pages_in is None and pages_out is None:
        return None
    return ((pages_in or 0.0) + (pages_out or 0.0)) * PAGE_BYTES / _MB


def _leak(points: Sequence[MemoryPoint]) -> tuple[float | None, float | None]:
    """(seconds to swap, seconds to an OOM) when free memory falls steadily, else Nones."""
    if len(points) < 3 or points[-1].at - points[0].at < LEAK_SPAN:
        return None, None
    last = points[-1]
    line = _Line(points)
    slope = line.steady_slope([p.headroom_bytes or 0.0 for p in points])
    if slope is None:
        return None, None
    oom = last.headroom_bytes / -slope
    ram_slope = line.steady_slope([p.available_bytes or 0.0 for p in points])
    swap = None
    if last.used_ratio >= OOM_FULL:
        swap = 0.0
    elif ram_slope is not None:
        swap = max(0.0, last.available_bytes - last.total_bytes * (1 - OOM_FULL)) / -ram_slope
    return swap, oom


class _Line:
    """Least squares over the readings' times, the times' part worked out once."""

    def __init__(self, points: Sequence[MemoryPoint]) -> None:
        t0 = points[0].at
        xs = [(p.at - t0).total_seconds() for p in points]
        mx = sum(xs) / len(xs)
        self._dxs = [x - mx for x in xs]
        self._sxx = sum([dx**2 for dx in self._dxs])

    def steady_slope(self, ys: list[float]) -> float | None:
        """The slope (bytes a second) of a straight, falling line through ``ys`` (one a
        reading); else None."""
        my = sum(ys) / len(ys)
        dys = [y - my for y in ys]
        sxx = self._sxx
        syy = sum([dy**2 for dy in dys])
        sxy = sum([dx * dy for dx, dy in zip(self._dxs, dys, strict=True)])
        if sxx <= 0 or syy <= 0:
            return None
        slope = sxy / sxx
        if slope >= 0 or sxy * sxy / (sxx * syy) < LEAK_FIT:
            return None
        return slope


def holding_size(need_bytes: float, current: Tier) -> Tier | None:
    """The smallest size above ``current`` whose RAM holds ``need_bytes`` under ``RAM_HIGH``
    (the largest size when none does; None at the top)."""
    bigger = [t for t in Tier if rank(t) > rank(current)]
    for tier in bigger:
        if MEMORY_GB[tier] * GIB * RAM_HIGH >= need_bytes:
            return tier
    return bigger[-1] if bigger else None
