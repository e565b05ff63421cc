"""What the connections and the memory recorded ask of the compute size (pure).

Each limit's need is the smallest size a project can move to (a paid one) that holds the peak
the recorded scrapes saw, with the room sbwatch warns at kept free: a fifth of a connection
limit (``NEAR_RATIO``), a quarter of the RAM (``RAM_HIGH``, the provider's own threshold).
The limits are data: the per-size connections (``supabase.connections``) and RAM
(``supabase.tiers.MEMORY_GB``). A connections peak is one scrape (a client over the limit is
refused at once); memory's is the use held for ``[memory] sustain``. Memory
read on a bigger size holds that size's larger buffers too: a smaller size's need is
overstated, never understated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from sbwatch.core.connections import DIRECT, POOLER
from sbwatch.core.durations import format_duration
from sbwatch.core.results import IoSample
from sbwatch.core.tiers import MEMORY_GB, TIERS, Tier, rank
from sbwatch.policy.connections import NEAR_RATIO
from sbwatch.policy.memory import GIB, RAM_HIGH
from sbwatch.supabase.connections import size_limit

DISK_IO = "disk IO"
CONNECTIONS = "connections"
MEMORY = "memory"
PAID = tuple(s.tier for s in TIERS if s.variant is not None)
"""The sizes a project can move to, smallest first (nano has no add-on variant)."""
WHAT = {DIRECT: "direct connections", POOLER: "pooler clients"}
SUSTAIN = timedelta(minutes=15)
"""Memory held this long is "consistently" in use (the default of ``[memory] sustain``)."""
MAX_GAP = timedelta(minutes=15)
"""Readings further apart than this do not show what was held in between."""


@dataclass(frozen=True)
class Need:
    """What one limit asks: the smallest size that holds it, and the reading it rests on."""

    limit: str
    smallest: Tier | None
    """None: no size holds it (``known``), or nothing was recorded (not ``known``)."""
    reading: str
    known: bool = True


def _smallest(holds: Callable[[Tier], bool]) -> Tier | None:
    return next((tier for tier in PAID if holds(tier)), None)


def _peak(values: Sequence[float | None]) -> float | None:
    seen = [v for v in values if v is not None]
    return max(seen) if seen else None


def _pool_need(pool: str, peak: float) -> tuple[Tier | None, str]:
    """The smallest size whose limit on ``pool`` keeps a fifth free at ``peak``, in words."""

    def limit(tier: Tier) -> int:
        return size_limit(tier, pool) or 0

    smallest = _smallest(lambda tier: peak <= NEAR_RATIO * limit(tier))
    head = f"peak {peak:.0f} {WHAT[pool]}"
    if smallest is None:
        top = PAID[-1]
        return None, f"{head}: no size keeps a fifth of its limit free ({top} allows {limit(top)})"
    words = f"{head}: {smallest} allows {limit(smallest)}"
    below = [t for t in PAID if rank(t) < rank(smallest)]
    if below:
        under, allowed = below[-1], limit(below[-1])
        short = "is fewer" if peak > allowed else "would leave less than a fifth free"
        words += f" ({under}'s {allowed} {short})"
    return smallest, words


def connections_need(samples: Sequence[IoSample]) -> Need:
    """The size the peak direct connections and pooler clients need (the larger of the two)."""
    readings = [s.connections for s in samples if s.connections is not None]
    peaks = {
        DIRECT: _peak([r.direct_used for r in readings]),
        POOLER: _peak([r.pooler_used for r in readings]),
    }
    found = [(pool, *_pool_need(pool, peak)) for pool, peak in peaks.items() if peak is not None]
    if not found:
        return Need(CONNECTIONS, None, "no connections recorded", known=False)
    reading = "; ".join(words for _, _, words in found)
    if any(tier is None for _, tier, _ in found):
        return Need(CONNECTIONS, None, reading)
    return Need(CONNECTIONS, max((t for _, t, _ in found if t), key=rank), reading)


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
        return Need(MEMORY, None, "no memory recorded long enough", known=False)
    smallest = _smallest(lambda tier: peak <= RAM_HIGH * MEMORY_GB[tier] * GIB)
    held = format_duration(sustain.total_seconds())
    head = f"{peak / GIB:.1f} GB in use (RAM and swap) held for {held}"
    if smallest is None:
        return Need(MEMORY, None, f"{head}: no size holds it under {RAM_HIGH:.0%}")
    ram = MEMORY_GB[smallest]
    return Need(
        MEMORY,
        smallest,
        f"{head}: {smallest}'s {ram:g} GB holds {RAM_HIGH * ram:g} GB under {RAM_HIGH:.0%}",
    )
