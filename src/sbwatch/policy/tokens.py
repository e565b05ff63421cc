"""Token-bucket primitives of the disk IO budget: the bucket and a smoothed burn rate.

The burn rate follows real changes within minutes and damps minute-to-minute noise. Its
value is the median of three trackers fed the same observations: an EWMA with the slow
time constant, an EWMA six times faster, and the interquartile mean of the last ten minutes
(trimmed, so that one odd minute does not move it).
While the two fast trackers disagree (noise), the median is the slow EWMA; when both agree the
level moved (a step or a ramp), the nearer of them wins, so a new load is followed in minutes
instead of hours. Each tracker weighs observations (or their order statistics) positively,
and a median of monotone functions is monotone: a higher load never yields a lower burn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sbwatch.core.tiers import BURST_SECONDS_PER_DAY

FAST_DIVISOR = 6.0
DEFAULT_WINDOW_S = 600.0
TRIM = 0.25


def _ewma(previous: float | None, value: float, dt: float, tau: float) -> float:
    if previous is None:
        return value
    alpha = 1.0 - math.exp(-dt / tau)
    return previous + alpha * (value - previous)


def _trimmed_mean(values: list[tuple[float, float]], trim: float = TRIM) -> float:
    """Mean of ``(weight, value)`` pairs without the lowest and highest ``trim`` of the weight."""
    ordered = sorted(values, key=lambda pair: pair[1])
    total = sum(weight for weight, _ in ordered)
    low, high = trim * total, (1 - trim) * total
    kept = weighted = seen = 0.0
    for weight, value in ordered:
        share = max(0.0, min(seen + weight, high) - max(seen, low))
        kept += share
        weighted += share * value
        seen += weight
    return weighted / kept if kept > 0 else ordered[len(ordered) // 2][1]


class BurnTracker:
    """Median of a slow EWMA, a fast EWMA and a trimmed mean of the last minutes of rates."""

    def __init__(self, slow_s: float, *, window_s: float = DEFAULT_WINDOW_S) -> None:
        if slow_s <= 0 or window_s <= 0:
            raise ValueError("time constants must be positive")
        self.slow_s = slow_s
        self.window_s = window_s
        self._slow: float | None = None
        self._fast: float | None = None
        self._noise = 0.0
        self._window: list[tuple[float, float]] = []

    def reset(self) -> None:
        """Forget every observation."""
        self._slow = None
        self._fast = None
        self._noise = 0.0
        self._window = []

    def add(self, dt: float, value: float) -> None:
        """Observe ``value`` as the average rate over the last ``dt`` seconds."""
        if dt <= 0:
            return
        if self._slow is not None:
            self._noise = _ewma(self._noise, abs(value - self._slow), dt, self.slow_s)
        self._slow = _ewma(self._slow, value, dt, self.slow_s)
        self._fast = _ewma(self._fast, value, dt, self.slow_s / FAST_DIVISOR)
        self._window.append((dt, value))
        while len(self._window) > 1 and sum(d for d, _ in self._window[1:]) >= self.window_s:
            self._window.pop(0)

    @property
    def value(self) -> float | None:
        """The smoothed rate, or None before the first observation."""
        if self._slow is None or self._fast is None or not self._window:
            return None
        recent = _trimmed_mean(self._window)
        return sorted((self._slow, self._fast, recent))[1]

    @property
    def noise(self) -> float:
        """Mean absolute deviation of observations from the slow EWMA."""
        return self._noise

    def to_state(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot."""
        return {
            "slow_s": self.slow_s,
            "window_s": self.window_s,
            "slow": self._slow,
            "fast": self._fast,
            "noise": self._noise,
            "window": [[d, v] for d, v in self._window],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BurnTracker:
        """Rebuild from :meth:`to_state`."""
        tracker = cls(float(state["slow_s"]), window_s=float(state["window_s"]))
        tracker._slow = None if state["slow"] is None else float(state["slow"])
        tracker._fast = None if state["fast"] is None else float(state["fast"])
        tracker._noise = float(state["noise"])
        tracker._window = [(float(d), float(v)) for d, v in state["window"]]
        return tracker


@dataclass
class Bucket:
    """One token bucket (MB or operations) and bounds on what the real one can hold."""

    baseline: float
    capacity: float
    level: float
    low: float
    high: float

    @classmethod
    def new(cls, baseline: float, maximum: float, ratio: float, *, known: bool) -> Bucket:
        """A bucket of ``(maximum - baseline) x BURST_SECONDS_PER_DAY`` filled to ``ratio``;
        unless ``known``, the true level is only bounded by empty and full."""
        capacity = max(0.0, maximum - baseline) * BURST_SECONDS_PER_DAY
        level = _clamp(ratio, 0.0, 1.0) * capacity
        return cls(baseline, capacity, level, level if known else 0.0, level if known else capacity)

    @property
    def spread(self) -> float:
        """How much of the capacity the true level could be anywhere in (0 when pinned)."""
        return 0.0 if self.capacity <= 0 else (self.high - self.low) / self.capacity

    @property
    def ratio(self) -> float:
        """Level over capacity (1.0 without capacity)."""
        return 1.0 if self.capacity <= 0 else _clamp(self.level / self.capacity, 0.0, 1.0)

    def flow(self, net_drain: float) -> None:
        """Remove ``net_drain`` units (negative refills), clamped to the bucket."""
        self.level = _clamp(self.level - net_drain, 0.0, self.capacity)
        self.low = _clamp(self.low - net_drain, 0.0, self.capacity)
        self.high = _clamp(self.high - net_drain, 0.0, self.capacity)

    def pin(self, ratio: float) -> None:
        """Set a known level."""
        self.level = self.low = self.high = _clamp(ratio, 0.0, 1.0) * self.capacity


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
