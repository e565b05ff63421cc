"""How close the daemon's budget estimator stays to the simulator's disk IO model.

Drives a DiskIoModel through a load shape, scrapes what its metrics endpoint publishes (both
disks summed, values of the last whole minute) every ``step_s`` seconds into IoSamples for a
BudgetEstimator (optionally with minute-to-minute load noise, jittered scrape
times and dropped scrapes), and records the ratio error at every scrape and the ETA error
wherever the load has stayed above the baseline for ``burn_after_s``. The true time-to-empty is
found by advancing copies of the model at the current demand (the forecast answers "if the
load stays as it is"), never by the estimator's own arithmetic. A run may give the model true
limits above the published ones (``true_limits_factor``), which the estimator cannot know.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sbwatch.core.results import IoSample
from sbwatch.core.tiers import Tier, spec
from sbwatch.policy.budget import BudgetEstimator
from sbwatch.sim.model import DiskIoModel

START = datetime(2026, 5, 20, tzinfo=UTC)
EMPTY = 1e-9
MIN_TRUE_ETA_S = 600.0
"""ETA errors are judged only where the true time-to-empty is at least this long."""

Demand = Callable[[float], float]
"""Total demand in MB/s (or IOPS) at a time in seconds since the start."""


@dataclass(frozen=True)
class Shape:
    """A named load shape for one tier: demand over time, duration, starting budget.

    ``iops``: the operations asked for over time (None: the bytes at the model's default
    operation size), for workloads of small random IO.
    """

    name: str
    demand: Demand
    duration_s: float
    budget_pct: float = 100.0
    iops: Demand | None = None


def shapes(tier: Tier) -> list[Shape]:
    """The load shapes every tier is judged on, scaled to its baseline and burst headroom."""
    s = spec(tier)
    base, head = s.baseline_mbps, s.max_mbps - s.baseline_mbps
    hour = 3600.0

    def day_night(t: float) -> float:
        return base + 0.04 * head if (t // (12 * hour)) % 2 == 0 else 0.5 * base

    def ramp(t: float) -> float:
        low, high = 0.5 * base, base + 0.1 * head
        return low + (high - low) * min(1.0, t / (8 * hour))

    return [
        Shape("steady", lambda t: base + 0.05 * head, 14 * hour),
        Shape("day-night", day_night, 72 * hour),
        Shape("spike", lambda t: s.max_mbps if hour <= t < 80 * 60 else 0.5 * base, 8 * hour),
        Shape("ramp", ramp, 16 * hour),
        Shape("under", lambda t: 0.8 * base, 24 * hour, budget_pct=40.0),
        Shape("burst-idle", lambda t: s.max_mbps if t < 45 * 60 else 0.1 * base, 12 * hour),
    ]


@dataclass
class Result:
    """Errors of one (tier, shape) run."""

    tier: Tier
    shape: str
    ratio_errors: list[float] = field(default_factory=list)
    eta_errors: list[float] = field(default_factory=list)
    """Relative ETA errors, (estimate - truth) / truth."""
    eta_missing: int = 0
    """Points where the truth was finite but the estimator gave no ETA."""

    @property
    def max_ratio_error(self) -> float:
        """Largest absolute ratio error (fraction, not points)."""
        return max(map(abs, self.ratio_errors), default=0.0)

    @property
    def mean_ratio_error(self) -> float:
        """Mean absolute ratio error."""
        return sum(map(abs, self.ratio_errors)) / max(1, len(self.ratio_errors))

    @property
    def max_eta_error(self) -> float | None:
        """Largest absolute relative ETA error, None when no point qualified."""
        return max(map(abs, self.eta_errors)) if self.eta_errors else None


@dataclass(frozen=True)
class Realism:
    """How far scrapes depart from the ideal: load noise, timestamp jitter, lost scrapes."""

    noise: float = 0.0
    """Each minute's demand is the shape's times a uniform factor in [1 - noise, 1 + noise]."""
    jitter_s: float = 0.0
    """Each sample's timestamp is off by up to this many seconds either way."""
    drop: float = 0.0
    """Probability that a scrape is lost."""
    seed: int = 1


def iops_shapes(tier: Tier) -> list[Shape]:
    """Small random IO: MB/s far under the baseline while the IOPS run over theirs."""
    s = spec(tier)
    base, head = s.baseline_iops, s.max_iops - s.baseline_iops
    low_mbps = 0.3 * s.baseline_mbps
    hour = 3600.0
    return [
        Shape("iops-steady", lambda t: low_mbps, 14 * hour, iops=lambda t: base + 0.05 * head),
        Shape(
            "iops-day-night",
            lambda t: low_mbps,
            72 * hour,
            iops=lambda t: base + 0.04 * head if (t // (12 * hour)) % 2 == 0 else 0.5 * base,
        ),
    ]


def true_seconds_to_empty(
    model: DiskIoModel,
    demand_mbps: float,
    horizon_s: float = 30 * 86400.0,
    demand_iops: float | None = None,
) -> float | None:
    """Seconds until a copy of ``model`` held at ``demand_mbps`` has an empty budget."""
    if model.budget_ratio <= EMPTY:
        return 0.0
    model = copy.deepcopy(model)
    model.set_demand(demand_mbps, 0.0, demand_iops)
    low, high = 0.0, 60.0
    while not _empty_after(model, high):
        low, high = high, high * 2
        if high > horizon_s:
            return None
    while high - low > max(1.0, 0.001 * high):
        mid = (low + high) / 2
        low, high = (low, mid) if _empty_after(model, mid) else (mid, high)
    return high


def _empty_after(model: DiskIoModel, seconds: float) -> bool:
    clone = copy.deepcopy(model)
    clone.advance(seconds)
    return clone.budget_ratio <= EMPTY


def _sample(model: DiskIoModel, at: datetime) -> IoSample:
    """What a scrape reads: the published reading, both disks summed."""
    reading = model.published
    disks = reading.disks.values()
    return IoSample(
        at=at,
        read_bytes_total=sum(d.read_bytes for d in disks),
        written_bytes_total=sum(d.written_bytes for d in disks),
        reads_completed_total=sum(d.reads_completed for d in disks),
        writes_completed_total=sum(d.writes_completed for d in disks),
        iowait_seconds_total=reading.cpu.iowait,
        cpu_seconds_total=reading.cpu.total,
        idle_seconds_total=reading.cpu.idle,
    )


def run(
    tier: Tier,
    shape: Shape,
    *,
    step_s: float = 60.0,
    burn_after_s: float = 3600.0,
    eta_every_s: float = 900.0,
    smoothing_s: float = 1800.0,
    realism: Realism | None = None,
    true_limits_factor: float = 1.0,
) -> Result:
    """Replay one shape on one tier and collect the estimator's errors."""
    real = realism or Realism()
    rng = random.Random(real.seed)
    model = DiskIoModel(tier, budget_pct=shape.budget_pct, true_limits_factor=true_limits_factor)
    estimator = BudgetEstimator(
        "sim", tier, ratio=shape.budget_pct / 100.0, smoothing_s=smoothing_s
    )
    result = Result(tier, shape.name)
    baseline = model.limits["baseline_mbps"]
    baseline_iops = model.limits["baseline_iops"]
    burning_since: float | None = None
    t = 0.0
    estimate = None
    while t <= shape.duration_s:
        if t == 0 or rng.random() >= real.drop:
            at = START + timedelta(seconds=t + rng.uniform(-real.jitter_s, real.jitter_s))
            estimate = estimator.update(_sample(model, at))
            result.ratio_errors.append(estimate.ratio - model.budget_ratio)
        demand = shape.demand(t)
        iops = None if shape.iops is None else shape.iops(t)
        noise = rng.uniform(1 - real.noise, 1 + real.noise)
        model.set_demand(demand * noise, 0.0, None if iops is None else iops * noise)
        burning = demand > baseline or (iops is not None and iops > baseline_iops)
        burning_since = (t if burning_since is None else burning_since) if burning else None
        burned = 0.0 if burning_since is None else t - burning_since
        if estimate is not None and burned >= burn_after_s and int(t) % int(eta_every_s) == 0:
            _judge_eta(model, demand, iops, estimate.eta_now_s, result)  # the current-rate figure
        model.advance(step_s)
        t += step_s
    return result


def _judge_eta(
    model: DiskIoModel, demand: float, iops: float | None, eta: float | None, result: Result
) -> None:
    """Compare the forecast with the truth if the shape's demand (noise aside) stays as now."""
    truth = true_seconds_to_empty(model, demand, demand_iops=iops)
    if truth is None or truth < MIN_TRUE_ETA_S:
        return
    if eta is None:
        result.eta_missing += 1
        return
    result.eta_errors.append((eta - truth) / truth)


BURST_TIERS = (Tier.MICRO, Tier.SMALL, Tier.MEDIUM, Tier.LARGE, Tier.XL, Tier.XL2)


def run_all(
    tiers: tuple[Tier, ...] = BURST_TIERS,
    realism: Realism | None = None,
    *,
    true_limits_factor: float = 1.0,
    with_iops: bool = False,
) -> list[Result]:
    """Every shape on every given tier (micro to 2xl by default), IOPS shapes when asked."""
    return [
        run(tier, shape, realism=realism, true_limits_factor=true_limits_factor)
        for tier in tiers
        for shape in [*shapes(tier), *(iops_shapes(tier) if with_iops else [])]
    ]
