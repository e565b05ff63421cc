"""The right-sizing plan in words: the limits it weighs, the reading each need rests on
(``policy.needs``), and the weekly notice of a size that fits."""

from __future__ import annotations

from collections.abc import Sequence

from sbwatch.core.connections import DIRECT, POOLER
from sbwatch.core.durations import format_duration
from sbwatch.core.tiers import Tier
from sbwatch.policy.needs import (
    ConnectionsReading,
    IoReading,
    MemoryReading,
    NeedLimit,
    PoolReading,
    Reading,
)
from sbwatch.policy.plan import Plan

NEED_NAMES = {
    NeedLimit.DISK_IO: "disk IO",
    NeedLimit.CONNECTIONS: "connections",
    NeedLimit.MEMORY: "memory",
}
"""Each limit the plan weighs, as ``sbwatch plan`` and the notice name it."""
PEAK_NAMES = {DIRECT: "direct connections", POOLER: "pooler clients"}
"""What a pool's peak counts."""


def and_words(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return ", ".join(words[:-1]) + f" and {words[-1]}" if len(words) > 1 else "".join(words)


def need_name(limit: NeedLimit) -> str:
    """One limit's name ("disk IO")."""
    return NEED_NAMES[limit]


def limits_words(limits: Sequence[NeedLimit]) -> str:
    """The limits named and joined ("disk IO, connections and memory")."""
    return and_words([need_name(limit) for limit in limits])


def need_reading(reading: Reading) -> str:
    """The reading a need rests on, in one line."""
    match reading:
        case IoReading(floor=floor, stays=stays):
            head = "stays" if stays else "no size stays"
            return f"{head} above {floor:.0%} of its budget, never throttled"
        case ConnectionsReading(pools=()):
            return "no connections recorded"
        case ConnectionsReading(pools=pools):
            return "; ".join(pool_reading(pool) for pool in pools)
        case MemoryReading():
            return memory_reading(reading)


def pool_reading(pool: PoolReading) -> str:
    """One pool's peak and the smallest size that keeps a fifth of its limit free ("peak 70
    direct connections: small allows 90 (micro's 60 is fewer)")."""
    head = f"peak {pool.peak:.0f} {PEAK_NAMES[pool.pool]}"
    if not pool.holds:
        return f"{head}: no size keeps a fifth of its limit free ({pool.size} allows {pool.allows})"
    words = f"{head}: {pool.size} allows {pool.allows}"
    if pool.under is not None:
        short = "is fewer" if pool.fewer else "would leave less than a fifth free"
        words += f" ({pool.under}'s {pool.under_allows} {short})"
    return words


def memory_reading(reading: MemoryReading) -> str:
    """The use held and the smallest size whose RAM holds it ("1.2 GB in use (RAM and swap)
    held for 2h: small's 2 GB holds 1.5 GB under 75%")."""
    if reading.gb is None:
        return "no memory recorded long enough"
    held = format_duration(reading.sustain.total_seconds())
    head = f"{reading.gb:.1f} GB in use (RAM and swap) held for {held}"
    if reading.size is None:
        return f"{head}: no size holds it under {reading.high:.0%}"
    return (
        f"{head}: {reading.size}'s {reading.ram_gb:g} GB holds {reading.room_gb:g} GB "
        f"under {reading.high:.0%}"
    )


def plan_title(made: Plan, days: int, now: Tier) -> str:
    """The weekly right-sizing notice: the size that fits the last ``days``."""
    held = limits_words(made.limits_held)
    return f"plan: {made.pick} fits the last {days} days of {held} (now {now})"


def plan_body(made: Plan, ref: str) -> str:
    """Which way it fits, what decided it, and that sbwatch never downsizes by itself."""
    smaller = "a smaller size would have held" if made.downgrade else "it needed more"
    decided = limits_words(made.decided_by)
    return (
        f"Replayed through every size's budget and limits, {smaller}; decided by {decided}. "
        f"sbwatch never downsizes by itself; `sbwatch plan {ref}` shows each size."
    )
