"""Provider facts about compute sizes: prices and disk IO limits, as data.

Source: Supabase's compute and disk documentation and its ``compute-disk-limits`` table
(packages/shared-data), as of December 2026: medium's baseline became 39 MB/s in September
2026, burst is documented up to 2XL, and every figure is a minimum (the real limit can be
higher; the estimator learns it from what it observes).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Tier(StrEnum):
    """A compute size, smallest first."""

    NANO = "nano"
    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    XL = "xl"
    XL2 = "2xl"
    XL4 = "4xl"
    XL8 = "8xl"


@dataclass(frozen=True, slots=True)
class TierSpec:
    """Published limits and price of one compute size."""

    tier: Tier
    variant: str | None  # the Management API add-on variant id; Nano has none
    monthly_usd: float
    hourly_usd: float
    baseline_mbps: float
    max_mbps: float
    baseline_iops: float
    max_iops: float

    @property
    def has_burst_budget(self) -> bool:
        """Whether the size may burst above its baseline (sizes below 4XL)."""
        return self.max_mbps > self.baseline_mbps


BURST_SECONDS_PER_DAY = 1800.0
"""About 30 minutes a day at full burst: the bucket capacity is (max - baseline) x this."""

TABLE_DATE = "2026-12"
"""When the figures below were last checked against the provider's documentation."""
TIERS: tuple[TierSpec, ...] = (
    TierSpec(Tier.NANO, None, 0, 0, 5, 261, 250, 11_800),
    TierSpec(Tier.MICRO, "ci_micro", 10, 0.01344, 11, 261, 500, 11_800),
    TierSpec(Tier.SMALL, "ci_small", 15, 0.0206, 22, 261, 1_000, 11_800),
    TierSpec(Tier.MEDIUM, "ci_medium", 60, 0.0822, 39, 261, 2_000, 11_800),
    TierSpec(Tier.LARGE, "ci_large", 110, 0.1517, 79, 594, 3_600, 20_000),
    TierSpec(Tier.XL, "ci_xlarge", 210, 0.2877, 149, 594, 6_000, 20_000),
    TierSpec(Tier.XL2, "ci_2xlarge", 410, 0.562, 297, 594, 12_000, 20_000),
    TierSpec(Tier.XL4, "ci_4xlarge", 960, 1.32, 594, 594, 20_000, 20_000),
    TierSpec(Tier.XL8, "ci_8xlarge", 1870, 2.562, 1188, 1188, 40_000, 40_000),
)

_BY_TIER = {spec.tier: spec for spec in TIERS}
_BY_VARIANT = {spec.variant: spec for spec in TIERS if spec.variant}


def spec(tier: Tier) -> TierSpec:
    """The published figures of one tier."""
    return _BY_TIER[tier]


def tier_for_variant(variant: str) -> Tier | None:
    """The tier of a Management API variant id such as ``ci_small``; None when unknown."""
    found = _BY_VARIANT.get(variant)
    return found.tier if found else None


def next_tier(tier: Tier) -> Tier | None:
    """The next size up, or None at the top of the table."""
    order = list(Tier)
    index = order.index(tier)
    return order[index + 1] if index + 1 < len(order) else None


def rank(tier: Tier) -> int:
    """Position in size order, for comparisons (nano is 0)."""
    return list(Tier).index(tier)


MEMORY_GB: dict[Tier, float] = {
    Tier.NANO: 0.5,
    Tier.MICRO: 1,
    Tier.SMALL: 2,
    Tier.MEDIUM: 4,
    Tier.LARGE: 8,
    Tier.XL: 16,
    Tier.XL2: 32,
    Tier.XL4: 64,
    Tier.XL8: 128,
}
"""Memory of each size, GB (the provider's compute table, December 2026)."""
CPUS: dict[Tier, int] = {
    Tier.NANO: 2,
    Tier.MICRO: 2,
    Tier.SMALL: 2,
    Tier.MEDIUM: 2,
    Tier.LARGE: 2,
    Tier.XL: 4,
    Tier.XL2: 8,
    Tier.XL4: 16,
    Tier.XL8: 32,
}
"""CPUs of each size (shared ARM cores up to medium, dedicated from large)."""
