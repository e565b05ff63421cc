"""What the connections and the memory recorded ask of the compute size (pure).

Each limit's need is the smallest size a project can move to (a paid one) that holds the peak
the recorded scrapes saw, with the room sbwatch warns at kept free: a fifth of a connection
limit (``NEAR_RATIO``), a quarter of the RAM (``RAM_HIGH``, the provider's own threshold).
The limits are data: the per-size connections (``supabase.connections``) and RAM
(``supabase.tiers.MEMORY_GB``). A connections peak is one scrape (a client over the limit is
refused at once); memory's is the use held for ``[memory] sustain``. Memory
read on a bigger size holds that size's larger buffers too: a smaller size's need is
overstated, never understated. Each need carries its reading as figures (``IoReading``,
``ConnectionsReading``, ``MemoryReading``); ``alerting.words`` says them in words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from sbwatch.core.connections import DIRECT, POOLER
from sbwatch.core.results import IoSample
from sbwatch.core.tiers import MEMORY_GB, TIERS, Tier, rank
from sbwatch.policy.connections import NEAR_RATIO
from sbwatch.policy.memory import GIB, RAM_HIGH
from sbwatch.supabase.connections import size_limit


class NeedLimit(StrEnum):
    """A limit the plan weighs (``alerting.words`` names it)."""

    DISK_IO = "disk_io"
    CONNECTIONS = "connections"
    MEMORY = "memory"


DISK_IO = NeedLimit.DISK_IO
CONNECTIONS = NeedLimit.CONNECTIONS
MEMORY = NeedLimit.MEMORY
PAID = tuple(s.tier for s in TIERS if s.variant is not None)
"""The sizes a project can move to, smallest first (nano has no add-on variant)."""
SUSTAIN = timedelta(minutes=15)
"""Memory held this long is "consistently" in use (the default of ``[memory] sustain``)."""
MAX_GAP = timedelta(minutes=15)
"""Readings further apart than this do not show what was held in between."""


@dataclass(frozen=True)
class IoReading:
    """The disk IO replayed through every size: whether one stayed above ``floor`` of its
    budget, never throttled."""

    floor: float
    """The lowest budget share a size may reach and still count as holding, 0..1."""
    stays: bool
    """False: no size stayed above it (or nothing was replayed)."""


@dataclass(frozen=True)
class PoolReading:
    """One pool's peak (one scrape) and the sizes around it."""

    pool: str
    """``DIRECT`` or ``POOLER``."""
    peak: float
    size: Tier
    """The smallest size whose limit keeps a fifth free at the peak; the largest when none
    does (not ``holds``)."""
    allows: int
    """``size``'s limit on the pool."""
    holds: bool = True
    """False: no size keeps a fifth of its limit free."""
    under: Tier | None = None
    """The size just below ``size`` (None: ``size`` is the smallest, or none holds)."""
    under_allows: int = 0
    """``under``'s limit on the pool."""

    @property
    def fewer(self) -> bool:
        """Whether ``under``'s limit is below the peak itself (else it would leave less than a
        fifth free)."""
        return self.peak > self.under_allows


@dataclass(frozen=True)
class ConnectionsReading:
    """The peak of each pool recorded (none: no connections recorded)."""

    pools: tuple[PoolReading, ...] = ()


@dataclass(frozen=True)
class MemoryReading:
    """The memory in use (RAM and swap) held for ``sustain`` and the smallest size whose RAM
    holds it under ``high``."""

    sustain: timedelta
    gb: float | None = None
    """The use held, in GB (None: no stretch of readings that long was recorded)."""
    size: Tier | None = None
    """The smallest size that holds it (None: none does, or nothing recorded)."""
    ram_gb: float = 0.0
    """``size``'s RAM."""
    high: float = RAM_HIGH
    """The share of the RAM the use must stay under."""

    @property
    def room_gb(self) -> float:
        """How much ``size``'s RAM holds under ``high``."""
        return self.high * self.ram_gb


Reading = IoReading | ConnectionsReading | MemoryReading
"""The figures a need rests on, one shape per limit."""


@dataclass(frozen=True)
class Need:
    """What one limit asks: the smallest size that holds it, and the reading it rests on."""

    limit: NeedLimit
    smallest: Tier | None
    """None: no size holds it (``known``), or nothing was recorded (not ``known``)."""
    reading: Reading
    known: bool = True


def _smallest(holds: Callable[[Tier], bool]) -> Tier | None:
    return next((tier for tier in PAID if holds(tier)), None)


def _peak(values: Sequence[float | None]) -> float | None:
    seen = [v for v in values if v is not None]
    return max(seen) if seen else None


def _pool_need(pool: str, peak: float) -> PoolReading:
    """The smallest size whose limit on ``pool`` keeps a fifth free at ``peak``, and the size
    under it."""

    def limit(tier: Tier) -> int:
        return size_limit(tier, pool) or 0

    smallest = _smallest(lambda tier: peak <= NEAR_RATIO * limit(tier))
    if smallest is None:
        top = PAID[-1]
        return PoolReading(pool, peak, top, limit(top), holds=False)
    below = [t for t in PAID if rank(t) < rank(smallest)]
    under = below[-1] if below else None
    allowed = 0 if under is None else limit(under)
    return PoolReading(pool, peak, smallest, limit(smallest), under=under, under_allows=allowed)


def connections_need(samples: Sequence[IoSample]) -> Need:
    """The size the peak direct connections and pooler clients need (the larger of the two)."""
    readings = [s.connections for s in samples if s.connections is not None]
    peaks = {
        DIRECT: _peak([r.direct_used for r in readings]),
        POOLER: _peak([r.pooler_used for r in readings]),
    }
    found = tuple(_pool_need(pool, peak) for pool, peak in peaks.items() if peak is not None)
    reading = ConnectionsReading(found)
    if not found:
        return Need(CONNECTIONS, None, reading, known=False)
    if not all(pool.holds for pool in found):
        return Need(CONNECTIONS, None, reading)
    return Need(CONNECTIONS, max((pool.size for pool in found), key=rank), reading)


def held_peak(points: Sequence[tuple[datetime, float]], sustain: timedelta) -> float | None:
    """The highest value held for ``sustain``: the largest, over each reading, of the least
    value from it until a reading ``sustain`` later (None when no stretch is that long
    without a gap over ``MAX_GAP``)."""
    best = None
    for i, (start, _) in enumerate(points):
        low = points[i][1]
        for (before, _), (at, value) in pairwise(points[i:]):
            if at - before > MAX_GAP:
                break
            low = min(low, value)
            if at - start >= sustain:
                best = low if best is None else max(best, low)
                break
    return best


def memory_need(samples: Sequence[IoSample], sustain: timedelta = SUSTAIN) -> Need:
    """The size whose RAM holds the use (RAM and swap) held for ``sustain`` under ``RAM_HIGH``:
    the provider's "consistently above" (a spike goes to swap, and the OOM's own readings are
    lost with the reboot)."""
    used = [
        (s.at, s.mem_total_bytes - s.mem_available_bytes + (s.swap_used_bytes or 0.0))
        for s in samples
        if s.mem_total_bytes is not None and s.mem_available_bytes is not None
    ]
    peak = held_peak(used, sustain)
    if peak is None:
        return Need(MEMORY, None, MemoryReading(sustain), known=False)
    smallest = _smallest(lambda tier: peak <= RAM_HIGH * MEMORY_GB[tier] * GIB)
    ram = 0.0 if smallest is None else MEMORY_GB[smallest]
    return Need(MEMORY, smallest, MemoryReading(sustain, peak / GIB, smallest, ram))
