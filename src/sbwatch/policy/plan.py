"""Right-sizing: the recorded disk IO replayed through every size's budget (pure).

For each compute size, the history of metrics samples is played through that size's buckets
(bytes and IO operations, starting at the level the project's budget had when the history
begins, full when that is unknown): the lowest level the budget would have reached,
how long IO would have been held at the baseline, and the price. Beside the disk IO, the
peak connections and memory the same scrapes saw each ask for a smallest size
(``policy.needs``). The plan names the cheapest size that would have stayed above a floor and
holds the connections and memory too, which limit decided it, and a smaller size than
today's when it would have held too (a downgrade is only ever proposed, never made).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

from sbwatch.core.results import IoSample
from sbwatch.core.tiers import TIERS, Tier, rank, spec
from sbwatch.policy.escalation import monthly_price
from sbwatch.policy.needs import (
    DISK_IO,
    SUSTAIN,
    IoReading,
    Need,
    NeedLimit,
    connections_need,
    memory_need,
)
from sbwatch.policy.tokens import Bucket

MB = 1_000_000.0
DEFAULT_FLOOR = 0.2
MAX_GAP_S = 900.0
"""Samples further apart than this are not joined: the gap's IO is unknown in shape."""


@dataclass(frozen=True)
class SizeOutcome:
    """What one size would have lived through."""

    tier: Tier
    lowest_ratio: float
    throttled_s: float
    monthly_usd: float


@dataclass(frozen=True)
class Plan:
    """Every size's outcome, the size to pick, and a cheaper one that would have held."""

    sizes: tuple[SizeOutcome, ...]
    observed_s: float
    pick: Tier | None
    """The cheapest size that stayed above the floor and holds every other need (None: none
    did, or no history)."""
    downgrade: Tier | None
    """A size below ``current`` that would have held as well."""
    needs: tuple[Need, ...] = ()
    """Each limit's own smallest size: disk IO, connections, memory."""
    decided_by: tuple[NeedLimit, ...] = ()
    """The limits whose own need is the pick (the ones that made it that big)."""

    @property
    def limits_held(self) -> list[NeedLimit]:
        """The limits the pick rests on: disk IO, and those with readings."""
        return [n.limit for n in self.needs if n.known]


def rates(samples: Sequence[IoSample]) -> list[tuple[float, float, float]]:
    """``(seconds, MB/s, IOPS)`` between consecutive samples, restarts and gaps left out."""
    out = []
    for before, after in pairwise(samples):
        dt = (after.at - before.at).total_seconds()
        moved = (after.read_bytes_total + after.written_bytes_total) - (
            before.read_bytes_total + before.written_bytes_total
        )
        ops = (after.reads_completed_total + after.writes_completed_total) - (
            before.reads_completed_total + before.writes_completed_total
        )
        if 0 < dt <= MAX_GAP_S and moved >= 0 and ops >= 0:
            out.append((dt, moved / MB / dt, ops / dt))
    return out


def replay_size(
    tier: Tier, history: Sequence[tuple[float, float, float]], start: float = 1.0
) -> tuple[float, float]:
    """``(lowest ratio, seconds throttled)`` of one size over the history, from ``start``."""
    s = spec(tier)
    mb = Bucket.new(s.baseline_mbps, s.max_mbps, start, known=True)
    ops = Bucket.new(s.baseline_iops, s.max_iops, start, known=True)
    lowest, throttled = (start if s.has_burst_budget else 1.0), 0.0
    for seconds, mbps, iops in history:
        over = mbps > s.max_mbps or iops > s.max_iops
        for bucket, rate in ((mb, mbps), (ops, iops)):
            if bucket.capacity > 0:
                bucket.flow((rate - bucket.baseline) * seconds)
                over = over or (bucket.level <= 0 and rate > bucket.baseline)
        if s.has_burst_budget:
            lowest = min(lowest, mb.ratio, ops.ratio)
        throttled += seconds if over else 0.0
    return lowest, throttled


def plan(
    samples: Sequence[IoSample],
    current: Tier,
    *,
    floor: float = DEFAULT_FLOOR,
    prices: Mapping[Tier, float] | None = None,
    start: float = 1.0,
    memory_sustain: timedelta = SUSTAIN,
) -> Plan:
    """Replay the samples through every size, each from ``start`` (the share of the budget
    the project had when the samples begin), weigh the connections and the memory held for
    ``memory_sustain``, and choose."""
    history = rates(samples)
    sizes = tuple(
        SizeOutcome(
            spec_.tier,
            *replay_size(spec_.tier, history, start),
            monthly_price(spec_.tier, prices),
        )
        for spec_ in TIERS
    )
    held = [  # sizes a paid project can move to (nano has no add-on variant)
        s
        for s in sizes
        if s.lowest_ratio >= floor and s.throttled_s == 0 and spec(s.tier).variant is not None
    ]
    io = _cheapest(held) if history else None
    needs = (
        Need(DISK_IO, io, IoReading(floor, stays=io is not None)),
        connections_need(samples),
        memory_need(samples, memory_sustain),
    )
    pick, decided = _pick(held if history else [], needs)
    downgrade = pick if pick is not None and rank(pick) < rank(current) else None
    observed = sum(seconds for seconds, _, _ in history)
    return Plan(sizes, observed, pick, downgrade, needs, decided)


def _cheapest(sizes: Sequence[SizeOutcome]) -> Tier | None:
    return min(sizes, key=lambda s: (s.monthly_usd, rank(s.tier))).tier if sizes else None


Decided = tuple[Tier | None, tuple[NeedLimit, ...]]


def _pick(held: Sequence[SizeOutcome], needs: Sequence[Need]) -> Decided:
    """The cheapest size held by the disk IO and at least as big as every other known need,
    and the limits that decided it; (None, ()) when a known need has no size."""
    known = [n for n in needs if n.known]
    if any(n.smallest is None for n in known):
        return None, ()
    floor = max((rank(n.smallest) for n in known if n.smallest is not None), default=0)
    pick = _cheapest([s for s in held if rank(s.tier) >= floor])
    if pick is None:
        return None, ()
    decided = tuple(n.limit for n in known if n.smallest is pick)
    if not decided:  # the disk IO's cheapest is not monotonic in size: the biggest need
        biggest = max(known, key=lambda n: rank(n.smallest) if n.smallest else -1)
        decided = (biggest.limit,)
    return pick, decided
