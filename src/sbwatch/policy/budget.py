"""The disk IO budget of one project: a token-bucket estimate per compute tier and its forecast.

Pure and synchronous: values in, values out. The model (shared/SUPABASE.md): a bucket of
``(max - baseline) x BURST_SECONDS_PER_DAY`` MB (MB = 1e6 bytes) drains at ``actual - baseline``
when IO runs above the baseline and refills at ``baseline - actual`` below it; IOPS have their
own bucket; the budget ratio is the lower of the two. Sizes without a burst budget read 1.0.

Choices where the metrics leave a hole:
- A counter going down (restart, device change) or a rate no disk can reach: the new sample
  becomes the baseline and the last smoothed rate is assumed to have continued for at most
  ``max_gap_s``; nothing else is invented.
- A scrape gap longer than ``max_gap_s`` with intact counters: the counters are cumulative, so
  the IO done during the gap is known exactly and is applied as its average rate (only its
  shape inside the gap is unknown). The forecast and the confidence restart from there, at the
  gap's average; the load now is not known (``load_known``) until the next scrape measures it:
  a burst that went on through an outage is warned of at once, one that ended in it buys no
  size.
- A tier change starts both buckets full (provider behaviour after a resize); a correction from
  the dashboard sets the ratio. IO before either moment does not count against the new level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sbwatch.config.settings import BudgetSettings, ProjectSettings, TierLimits
from sbwatch.core.results import BudgetEstimate, IoSample, ProbeKind, Severity, plain
from sbwatch.core.tiers import Tier, TierSpec, spec
from sbwatch.policy.forecast import Profile, run_forward
from sbwatch.policy.tokens import Bucket, BurnTracker

MB = 1_000_000.0
DEFAULT_MAX_GAP_S = 900.0
FULL_COVERAGE_S = 3600.0
"""Observing this long without a break gives full coverage in the confidence."""
REPEAT_WINDOW_S = 150.0
"""The endpoint updates once a minute: identical counters within this long of the last change
are the same reading again, not an idle disk. Past it, unchanged counters do mean no IO."""
LEARN_MARGIN = 0.05
"""IO within this fraction of one level counts as flat, and must clear the baseline by it."""
LEARN_AFTER_S = 900.0
"""Flat above the published baseline with the budget used up this long: a learned baseline."""
IMPLAUSIBLE_FACTOR = 2.0
"""A rate above this many times the tier maximum cannot be real IO: treated as a counter reset."""
IOWAIT_HIGH = 0.25
"""A share of CPU time waiting on IO this high means the disks hold the load back (throttled)."""
TREND_S = 900.0
"""A drain this old is a trend whatever it forecasts (see ``TREND_SHARE``)."""
TREND_SHARE = 0.5
"""A younger drain is forecast only once it has lasted this share of its own time to empty:
a ten-minute spike on a full budget is not a trend, a load that would empty it is by then."""
FLAT_LEAD = 4.0
"""A flat drain that has lasted t is warned of up to this many times t ahead (at most the
pattern's horizon): a steady drain is told two days ahead once it has held half a day, without
waiting for a day of history."""
ASSUMED_SPREAD = 0.05
"""A level known to within this share of the capacity is known; wider, it is assumed."""
EXHAUSTED_RATIO = 0.01
"""A budget at or below this is used up: throughput is held at the baseline. Diagnosis, the
escalation policy and the alert text all read this one value (a 3% budget is low, not used up)."""


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _over_baseline(s: TierSpec, mbps: float | None, iops: float | None) -> float:
    """A load as a multiple of the size's baseline, on the balance it strains more (bytes or
    IO operations); 0 when neither rate is known."""
    pairs = ((mbps, s.baseline_mbps), (iops, s.baseline_iops))
    return max(
        (rate / level for rate, level in pairs if rate is not None and level > 0), default=0.0
    )


@dataclass(frozen=True)
class _Counters:
    at: datetime
    mb: float
    ops: float
    iowait_s: float | None = None
    cpu_s: float | None = None

    def iowait_since(self, prev: _Counters) -> float | None:
        """The share of CPU time spent waiting on IO since ``prev`` (None when not exported),
        as :func:`pressure` reads it."""
        return _share(_delta(prev.iowait_s, self.iowait_s), _delta(prev.cpu_s, self.cpu_s))

    def same_reading(self, other: _Counters) -> bool:
        """Whether both hold the very same counter values (a repeated scrape)."""
        return (self.mb, self.ops) == (other.mb, other.ops)

    @classmethod
    def of(cls, sample: IoSample) -> _Counters:
        mb = (sample.read_bytes_total + sample.written_bytes_total) / MB
        ops = sample.reads_completed_total + sample.writes_completed_total
        return cls(sample.at, mb, ops, sample.iowait_seconds_total, sample.cpu_seconds_total)


class BudgetEstimator:
    """Estimates one project's disk IO budget from consecutive metrics samples."""

    def __init__(
        self,
        project: str,
        tier: Tier,
        *,
        ratio: float = 1.0,
        smoothing_s: float = 1800.0,
        max_gap_s: float = DEFAULT_MAX_GAP_S,
        learn_baseline: bool = True,
    ) -> None:
        self.project = project
        self.smoothing_s = smoothing_s
        self.max_gap_s = max_gap_s
        self._mb_rate = BurnTracker(smoothing_s)
        self._op_rate = BurnTracker(smoothing_s)
        self._tier = tier
        self.overrides: dict[Tier, TierLimits] = {}
        self.learned: dict[str, float] = {}
        """Per size, the throttled baseline seen (MB/s) where it exceeds the published one."""
        self._flat: tuple[datetime, float] | None = None
        self.learn_baseline = learn_baseline
        self._mb, self._ops = self._buckets(tier, ratio, known=False)
        self._last: _Counters | None = None
        self._since: datetime | None = None
        self._observed_s = 0.0
        self._throughput = 0.0
        self._iops = 0.0
        self._profile = Profile()
        self._estimate: BudgetEstimate | None = None
        self._drain_since: datetime | None = None
        self._overdrawn = False
        self._asked = 0.0
        """The load asked of the size, over its baseline (``BudgetEstimate.load_over``)."""
        self._gapped = False
        """The last interval spanned a scrape gap: its average is no measured load."""
        self._span_s = 0.0
        """The seconds the last interval covers (``BudgetEstimate.span_s``)."""

    def limits(self, tier: Tier) -> TierSpec:
        """The size's limits for this project: the configured ones over the published, and a
        baseline learned from throttled IO when it is higher."""
        s = spec(tier)
        given = self.overrides.get(tier)
        if given is not None:
            chosen = {k: v for k, v in given.model_dump().items() if v is not None}
            s = replace(s, **chosen)
        learned = self.learned.get(tier.value)
        if learned is not None and learned > s.baseline_mbps:
            s = replace(s, baseline_mbps=learned)
        return s

    def configure(self, overrides: Mapping[Tier, TierLimits]) -> None:
        """Use this project's configured limits; the buckets keep their fill."""
        self.overrides = dict(overrides)
        self._rebucket()

    def _rebucket(self) -> None:
        """Buckets of the size's current limits, holding the same share as before."""
        mb, ops = self._buckets(self._tier, 1.0, known=True)
        for new, old in ((mb, self._mb), (ops, self._ops)):
            if old.capacity > 0:
                scale = new.capacity / old.capacity
                new.level, new.low, new.high = old.level * scale, old.low * scale, old.high * scale
        self._mb, self._ops = mb, ops

    def _buckets(self, tier: Tier, ratio: float, *, known: bool) -> tuple[Bucket, Bucket]:
        s = self.limits(tier)
        return (
            Bucket.new(s.baseline_mbps, s.max_mbps, ratio, known=known),
            Bucket.new(s.baseline_iops, s.max_iops, ratio, known=known),
        )

    @property
    def tier(self) -> Tier:
        """The compute size the estimate is for."""
        return self._tier

    @property
    def estimate(self) -> BudgetEstimate | None:
        """The last estimate, or None before the first sample."""
        return self._estimate

    def update(self, sample: IoSample) -> BudgetEstimate:
        """Fold in one scrape and return the new estimate."""
        cur, prev = _Counters.of(sample), self._last
        dt = 0.0 if prev is None else (cur.at - prev.at).total_seconds()
        if prev is not None and dt <= 0:  # duplicate or out of order: nothing new
            return self._estimate or self._emit(prev.at)
        if prev is not None and cur.same_reading(prev) and dt < REPEAT_WINDOW_S:
            return self._estimate or self._emit(prev.at)  # the endpoint has not updated yet
        self._last = cur
        if prev is None:
            return self._emit(cur.at)
        counted = self._counted(prev.at, cur.at)
        mbps, iops = (cur.mb - prev.mb) / dt, (cur.ops - prev.ops) / dt
        s = self.limits(self._tier)
        if min(mbps, iops) < 0 or _implausible(s, mbps, iops):
            self._carry(min(dt, self.max_gap_s) * counted / dt)
            self._observed_s = 0.0
            return self._emit(cur.at)
        mbps, iops = min(mbps, s.max_mbps), min(iops, s.max_iops)
        if dt > self.max_gap_s:
            self._mb_rate.reset()
            self._op_rate.reset()
            self._observed_s = 0.0
        else:
            self._observed_s += dt
        self._mb.flow(self._net_mbps(mbps) * counted)
        self._ops.flow((iops - self._ops.baseline) * counted)
        self._mb_rate.add(dt, mbps)
        self._op_rate.add(dt, iops)
        self._gapped = dt > self.max_gap_s
        self._span_s = dt
        self._profile.add(cur.at, dt, mbps, iops)
        self._follow_drain(prev.at)
        self._learn_baseline(cur.at, mbps, cur.iowait_since(prev))
        held = self._held_back(s, mbps, iops)
        self._follow_overdraft(mbps, iops, cur.iowait_since(prev), held=held)
        if not held:
            self._asked = self._load_over(s)
        self._throughput, self._iops = mbps, iops
        return self._emit(cur.at)

    def _follow_drain(self, start: datetime) -> None:
        """Note when the smoothed load went above a baseline (None while it is not)."""
        rates = ((self._mb, self._mb_rate.value), (self._ops, self._op_rate.value))
        draining = any(r is not None and b.capacity > 0 and r > b.baseline for b, r in rates)
        if not draining:
            self._drain_since = None
        elif self._drain_since is None:
            self._drain_since = start

    def _drained_s(self, at: datetime) -> float | None:
        """How long the load has been above a baseline at ``at`` (None while it is not)."""
        return None if self._drain_since is None else (at - self._drain_since).total_seconds()

    def _young(self, at: datetime, eta: float) -> bool:
        """Whether the drain is too young for its forecast to be a trend (``TREND_SHARE``)."""
        lasted = self._drained_s(at)
        return lasted is not None and lasted < min(TREND_S, TREND_SHARE * eta)

    def _net_mbps(self, mbps: float) -> float:
        """What the throughput takes from the balance (negative: gives back). At a learned
        baseline the load is held there: within the learning margin nothing flows either way
        (a level learned as a mean must not refill an empty budget by its rounding)."""
        learned = self.learned.get(self._tier.value)
        if learned is not None and abs(mbps - learned) <= LEARN_MARGIN * learned:
            return 0.0
        return mbps - self._mb.baseline

    def _learn_baseline(self, at: datetime, mbps: float, iowait: float | None) -> None:
        """A used-up budget with IO flat above the published baseline for a while, the disks
        waited on: that level is this project's real throttled baseline (the published figures
        are minimums). IO flat above the baseline without waiting is not held back: the true
        budget is bigger than the published one and not spent yet (nothing is learned then)."""
        published = self.limits(self._tier).baseline_mbps
        if (
            not self.learn_baseline
            or self._mb.ratio > EXHAUSTED_RATIO
            or mbps <= published * (1 + LEARN_MARGIN)
            or (iowait is not None and iowait < IOWAIT_HIGH)
        ):
            self._flat = None
            return
        if self._flat is None or abs(mbps - self._flat[1]) > LEARN_MARGIN * self._flat[1]:
            self._flat = (at, mbps)
            return
        if (at - self._flat[0]).total_seconds() >= LEARN_AFTER_S:
            self.learned[self._tier.value] = round((self._flat[1] + mbps) / 2, 2)
            self._flat = None
            self._mb.baseline = self.limits(self._tier).baseline_mbps

    def _held_back(self, s: TierSpec, mbps: float, iops: float) -> bool:
        """Whether the estimate reads empty and the disks serve less than the load asked
        before: the budget ran out and the throttle holds the load back. The smoothed load
        would sink to what is served; the load asked before stands instead."""
        empty = min(self._mb.ratio, self._ops.ratio) <= EXHAUSTED_RATIO
        served = _over_baseline(s, mbps, iops)
        return empty and self._asked > 1.0 and served < self._asked * (1 - LEARN_MARGIN)

    def _follow_overdraft(
        self, mbps: float, iops: float, iowait: float | None, *, held: bool = False
    ) -> None:
        """Whether a balance's estimate ran out while the disks still serve above its baseline
        (bytes or IO operations) without waiting on IO: then the true budget is not spent (the
        published limits are minimums). It holds until the estimate refills or the disks are
        seen held back (``held``: served less than the load asked, on the way down to it)."""
        s = self.limits(self._tier)
        balances = ((self._mb, mbps, s.baseline_mbps), (self._ops, iops, s.baseline_iops))
        above = any(
            bucket.ratio <= EXHAUSTED_RATIO and served > baseline * (1 + LEARN_MARGIN)
            for bucket, served, baseline in balances
        )
        waited = iowait is not None and iowait >= IOWAIT_HIGH
        if waited or held or not above:
            self._overdrawn = False  # refilled, held back, or no longer served above it
        elif iowait is not None:
            self._overdrawn = True

    def _counted(self, start: datetime, end: datetime) -> float:
        """Seconds of ``start..end`` that count against the bucket (after a reset point)."""
        if self._since is not None and self._since > start:
            return max(0.0, (end - max(start, self._since)).total_seconds())
        return (end - start).total_seconds()

    def _carry(self, seconds: float) -> None:
        """Assume the smoothed rates went on for ``seconds`` (counters lost across a reset)."""
        for bucket, tracker in ((self._mb, self._mb_rate), (self._ops, self._op_rate)):
            rate = tracker.value
            if rate is not None:
                bucket.flow((rate - bucket.baseline) * seconds)

    @property
    def rate_mbps(self) -> float | None:
        """The smoothed disk throughput the forecasts use (None before two samples)."""
        return self._mb_rate.value

    def eta_on(self, tier: Tier) -> float | None:
        """How long a full budget on ``tier`` would last at the current rates.

        None when it would not run out (the tier's baseline carries the load, or it has no
        budget) or when no rate is known yet.
        """
        if not self.limits(tier).has_burst_budget:
            return None
        mb, ops = self._buckets(tier, 1.0, known=True)
        etas = [e for e in (_eta(mb, self._mb_rate), _eta(ops, self._op_rate)) if e is not None]
        return min(etas) if etas else None

    def set_tier(self, tier: Tier, at: datetime) -> None:
        """The compute size changed at ``at``: the new size starts with full buckets."""
        self._tier = tier
        self._mb, self._ops = self._buckets(tier, 1.0, known=True)
        self._asked = self._load_over(self.limits(tier))
        self._since = at
        self._observed_s = 0.0
        self._emit(self._now(at))

    def correct(self, consumed_pct: float, at: datetime) -> None:
        """Apply a dashboard "Disk IO % consumed" reading taken at ``at``.

        The figure is the limiting balance's: that bucket reads exactly it, the other at least
        it. A bucket as full as the limiting one (both unknown, as at first start) cannot be
        told from it, so it takes the figure too: its own level may be no higher."""
        ratio = _clamp(1.0 - consumed_pct / 100.0, 0.0, 1.0)
        buckets = sorted((self._mb, self._ops), key=lambda b: b.ratio)
        lowest = buckets[0].ratio
        buckets[0].pin(ratio)
        for other in buckets[1:]:
            other.pin(ratio if other.ratio <= lowest else max(other.ratio, ratio))
        if self._last is None or at > self._last.at:
            self._since = at
        self._emit(self._now(at))

    def _now(self, at: datetime) -> datetime:
        return at if self._last is None else max(at, self._last.at)

    def _emit(self, at: datetime) -> BudgetEstimate:
        s = self.limits(self._tier)
        burst = s.has_burst_budget
        etas = [
            eta
            for eta in (_eta(self._mb, self._mb_rate), _eta(self._ops, self._op_rate))
            if eta is not None
        ]
        mb_rate = self._mb_rate.value
        eta_now = min(etas) if burst and etas else None
        eta, basis, refills = eta_now, "current", False
        if burst and self._profile.known and mb_rate is not None:
            current = (mb_rate, self._op_rate.value or 0.0)
            latest = (self._throughput, self._iops)
            outlook = run_forward(self._mb, self._ops, self._profile, at, current, latest)
            eta, refills = outlook.eta_s, outlook.refills
            basis = "burst" if outlook.burst else "pattern"
        if eta is not None and basis != "pattern" and self._young(at, eta):
            eta = None  # the pattern has its days behind it; a new drain must last first
        if self._overdrawn:
            eta = eta_now = None  # the true level is unknown: no forecast from the published
        self._estimate = BudgetEstimate(
            limited_by=self._limit(),
            project=self.project,
            at=at,
            tier=self._tier,
            ratio=min(self._mb.ratio, self._ops.ratio) if burst else 1.0,
            burn_mbps=0.0 if mb_rate is None else mb_rate - s.baseline_mbps,
            eta_s=eta,
            confidence=self._confidence(s),
            throughput_mbps=self._throughput,
            iops=self._iops,
            basis=basis,
            eta_now_s=eta_now,
            refills=refills,
            overdrawn=self._overdrawn,
            assumed=burst and self._limiting().spread > ASSUMED_SPREAD,
            load_known=mb_rate is not None and not self._gapped,
            drain_s=self._drained_s(at),
            flat=self._flat_load(),
            load_over=self._asked,
            span_s=self._span_s,
        )
        return self._estimate

    def _load_over(self, s: TierSpec) -> float:
        """The smoothed load over the size's baseline, on the balance it strains more."""
        return _over_baseline(s, self._mb_rate.value, self._op_rate.value)

    def _flat_load(self) -> bool:
        """Whether both rates hold one level: each strays from its smoothed value by no more
        than ``LEARN_MARGIN`` of it on average."""
        rates = ((self._mb_rate, self._mb), (self._op_rate, self._ops))
        seen = [(t, t.value) for t, b in rates if b.capacity > 0 and t.value is not None]
        return bool(seen) and all(v > 0 and t.noise <= LEARN_MARGIN * v for t, v in seen)

    def _limiting(self) -> Bucket:
        """The balance the estimate's ratio reads (the lower one)."""
        return self._ops if self._ops.ratio < self._mb.ratio else self._mb

    def _limit(self) -> str:
        """The balance that runs out first: the sooner to empty, else the lower one."""
        mb_eta, ops_eta = _eta(self._mb, self._mb_rate), _eta(self._ops, self._op_rate)
        if ops_eta is not None and (mb_eta is None or ops_eta < mb_eta):
            return "iops"
        if mb_eta is None and ops_eta is None and self._ops.ratio < self._mb.ratio:
            return "iops"
        return "throughput"

    def _confidence(self, s: TierSpec) -> float:
        """0..1 from how long we have watched without a break, how steady the load is, and how
        well the level is pinned (a correction, a resize, or enough IO to fill or empty it)."""
        coverage = min(1.0, self._observed_s / FULL_COVERAGE_S)
        rate = self._mb_rate.value
        if rate is None:
            return 0.0
        scale = abs(rate - s.baseline_mbps) + 0.1 * s.baseline_mbps
        steadiness = 1.0 / (1.0 + self._mb_rate.noise / scale)
        return _clamp(coverage * steadiness * (1.0 - 0.5 * self._mb.spread), 0.0, 1.0)

    def to_state(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot to resume from after a restart."""
        last = self._last
        return {
            "version": 1,
            "project": self.project,
            "tier": str(self._tier),
            "smoothing_s": self.smoothing_s,
            "max_gap_s": self.max_gap_s,
            "buckets": [plain(self._mb), plain(self._ops)],
            "rates": [self._mb_rate.to_state(), self._op_rate.to_state()],
            "last": None
            if last is None
            else [last.at.isoformat(), last.mb, last.ops, last.iowait_s, last.cpu_s],
            "since": None if self._since is None else self._since.isoformat(),
            "observed_s": self._observed_s,
            "throughput": [self._throughput, self._iops],
            "profile": self._profile.to_state(),
            "learned": dict(self.learned),
            "drain_since": None if self._drain_since is None else self._drain_since.isoformat(),
            "overdrawn": self._overdrawn,
            "asked": self._asked,
            "gapped": self._gapped,
            "estimate": None if self._estimate is None else estimate_to_dict(self._estimate),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BudgetEstimator:
        """Rebuild from :meth:`to_state`."""
        est = cls(
            str(state["project"]),
            Tier(state["tier"]),
            smoothing_s=float(state["smoothing_s"]),
            max_gap_s=float(state["max_gap_s"]),
        )
        est._mb, est._ops = (Bucket(**b) for b in state["buckets"])
        est._mb_rate, est._op_rate = (BurnTracker.from_state(r) for r in state["rates"])
        last = state["last"]
        if last is not None:
            at, mb, ops, *cpu = last  # the CPU counters are absent from older states
            waited, total = (None if x is None else float(x) for x in [*cpu, None, None][:2])
            est._last = _Counters(datetime.fromisoformat(at), float(mb), float(ops), waited, total)
        est._since = None if state["since"] is None else datetime.fromisoformat(state["since"])
        est._observed_s = float(state["observed_s"])
        est._throughput, est._iops = (float(x) for x in state["throughput"])
        est._profile = Profile.from_state(state.get("profile"))
        est.learned = {str(k): float(v) for k, v in (state.get("learned") or {}).items()}
        drain = state.get("drain_since")
        est._drain_since = None if drain is None else datetime.fromisoformat(str(drain))
        est._overdrawn = bool(state.get("overdrawn", False))
        est._asked = float(state.get("asked", 0.0))
        est._gapped = bool(state.get("gapped", False))
        if state["estimate"] is not None:
            est._estimate = estimate_from_dict(state["estimate"])
        return est


def _implausible(s: TierSpec, mbps: float, iops: float) -> bool:
    return mbps > s.max_mbps * IMPLAUSIBLE_FACTOR or iops > s.max_iops * IMPLAUSIBLE_FACTOR


def _eta(bucket: Bucket, tracker: BurnTracker) -> float | None:
    rate = tracker.value
    if bucket.capacity <= 0 or rate is None or rate <= bucket.baseline:
        return None
    return bucket.level / (rate - bucket.baseline)


HELD_RATIO = 0.05
"""A budget this low whose load sits at the baseline is held there (throttled), whatever a
forecast from that load says: served IO at the baseline hides the demand above it."""
REFILL_MARGIN = 0.1
"""Load this fraction of the baseline below it (and nothing draining) is a budget refilling."""


def refilling(estimate: BudgetEstimate) -> bool:
    """The load sits clearly under the baseline and neither balance drains: it earns back.

    A budget held at the baseline once empty is not refilling (the load is throttled to it);
    paying for a bigger size fixes that, not this.
    """
    if estimate.eta_s is not None:
        return False
    size = spec(estimate.tier)
    if estimate.limited_by == "iops" and estimate.iops >= (1 - REFILL_MARGIN) * size.baseline_iops:
        return False  # the IO operations at their baseline: that balance does not earn back
    baseline = size.baseline_mbps
    margin = REFILL_MARGIN * baseline
    at_baseline = estimate.burn_mbps >= -margin or estimate.throughput_mbps >= baseline - margin
    if estimate.ratio <= HELD_RATIO and at_baseline:
        return False  # (nearly) empty, the load (smoothed or latest) at the baseline: throttled
    return estimate.refills or estimate.burn_mbps < -margin


def reads_used_up(estimate: BudgetEstimate) -> bool:
    """The estimate reads empty on a measured load and the disks are not seen serving above
    the baseline as if it were not (``overdrawn``): what an alert calls "used up"."""
    return estimate.ratio <= EXHAUSTED_RATIO and estimate.load_known and not estimate.overdrawn


def used_up_now(estimate: BudgetEstimate) -> bool:
    """The estimate reads used up and nothing says otherwise: not refilling, and the disks not
    serving above the baseline as if the budget were not spent (``overdrawn``)."""
    return estimate.ratio <= EXHAUSTED_RATIO and not refilling(estimate) and not estimate.overdrawn


def warn_horizon_s(estimate: BudgetEstimate, settings: BudgetSettings) -> float:
    """How far ahead a forecast is warned of: ``pattern_warn_horizon`` at the learned pattern;
    at the current rate ``warn_horizon``, stretched for a flat drain to ``FLAT_LEAD`` times how
    long it has held (up to the pattern's horizon): a load that has held one level for half a
    day is told two days ahead, before a day of history makes it a pattern."""
    pattern = settings.pattern_warn_horizon.total_seconds()
    if estimate.basis == "pattern":
        return pattern
    horizon = settings.warn_horizon.total_seconds()
    if estimate.flat and estimate.drain_s is not None:
        return max(horizon, min(pattern, FLAT_LEAD * estimate.drain_s))
    return horizon


EASED_HORIZONS = 2.0
"""A latched budget alert eases once nothing is forecast within this many warn horizons: a
drain hovering at the horizon holds its warning instead of opening and easing by turns."""


def eased(estimate: BudgetEstimate, settings: BudgetSettings) -> bool:
    """Whether a budget alert held open by its latch alone has nothing left to warn of: the
    budget refills, nothing is forecast, or the forecast is days past the warn horizon (the
    spike that raised it ended; a slow drain nothing would warn of on its own)."""
    if refilling(estimate) or estimate.eta_s is None:
        return True
    return estimate.eta_s > EASED_HORIZONS * warn_horizon_s(estimate, settings)


def budget_severity(
    estimate: BudgetEstimate, settings: BudgetSettings, *, raised_in_time: bool = False
) -> Severity | None:
    """WARNING when low, used up, or running out within a warn horizon, else None (refilling:
    the load under the baseline and nothing forecast to run out, however low it is).

    The estimate alone pages only when ``critical_horizon`` is set and the forecast runs out
    within it (``raised_in_time``, sbwatch raising the size itself before then, keeps it a
    warning). The published limits are minimums: a forecast from them runs out early and an
    estimate reading empty may be a project still served above them. When the services fail
    from the budget, the diagnosis pages.
    """
    if refilling(estimate):
        return None  # earning back with nothing forecast to run out: nothing to watch for
    eta = estimate.eta_s
    used_up = used_up_now(estimate)
    paging = settings.critical_horizon
    soon = eta is not None and paging is not None and eta <= paging.total_seconds()
    if soon and not raised_in_time:
        return Severity.CRITICAL
    within = eta is not None and eta <= warn_horizon_s(estimate, settings)
    if used_up or soon or estimate.ratio <= settings.low_ratio or within:
        return Severity.WARNING
    return None


@dataclass(frozen=True)
class Pressure:
    """Resource use between two samples, as fractions (None when not measurable)."""

    iowait_ratio: float | None  # share of all CPU time spent waiting on IO
    cpu_busy_ratio: float | None  # share of CPU time neither idle nor in iowait
    mem_available_ratio: float | None
    disk_used_ratio: float | None
    pg_up: bool | None


def _delta(prev: float | None, cur: float | None) -> float | None:
    if prev is None or cur is None or cur < prev:
        return None
    return cur - prev


def _share(part: float | None, whole: float | None) -> float | None:
    if part is None or whole is None or whole <= 0:
        return None
    return _clamp(part / whole, 0.0, 1.0)


def pressure(prev: IoSample | None, cur: IoSample) -> Pressure:
    """CPU, memory, disk space and Postgres signals from one sample and the one before it."""
    cpu = iowait = idle = None
    if prev is not None:
        cpu = _delta(prev.cpu_seconds_total, cur.cpu_seconds_total)
        iowait = _delta(prev.iowait_seconds_total, cur.iowait_seconds_total)
        idle = _delta(prev.idle_seconds_total, cur.idle_seconds_total)
    busy = None if cpu is None or idle is None else cpu - idle - (iowait or 0.0)
    avail, size = cur.fs_avail_bytes, cur.fs_size_bytes
    used = None if avail is None or size is None else size - avail
    return Pressure(
        iowait_ratio=_share(iowait, cpu),
        cpu_busy_ratio=_share(busy, cpu),
        mem_available_ratio=_share(cur.mem_available_bytes, cur.mem_total_bytes),
        disk_used_ratio=_share(used, size),
        pg_up=None if cur.pg_up is None else cur.pg_up >= 1.0,
    )


def estimate_to_dict(estimate: BudgetEstimate) -> dict[str, Any]:
    """A JSON-serialisable form of an estimate."""
    out = plain(estimate)
    out["at"] = estimate.at.isoformat()
    out["tier"] = str(estimate.tier)
    return out


def estimate_from_dict(data: dict[str, Any]) -> BudgetEstimate:
    """Inverse of :func:`estimate_to_dict`."""
    fields = dict(data)
    fields["at"] = datetime.fromisoformat(str(data["at"]))
    fields["tier"] = Tier(data["tier"])
    return BudgetEstimate(**fields)


def alert_thresholds(project: ProjectSettings, min_duration: timedelta) -> BudgetSettings:
    """The budget horizons moved earlier by an alert's own delay.

    A condition alerts only after ``min_duration`` and is seen only at the next metrics scrape,
    so "runs out within 24 h" is tested that much earlier: the warning then arrives at least
    ``warn_horizon`` before the budget runs out.
    """
    budget = project.budget
    metrics = project.probes.get(ProbeKind.METRICS)
    lead = min_duration + (metrics.interval if metrics is not None else timedelta(0))
    return budget.model_copy(
        update={
            "warn_horizon": budget.warn_horizon + lead,
            "pattern_warn_horizon": budget.pattern_warn_horizon + lead,
            "critical_horizon": None
            if budget.critical_horizon is None
            else budget.critical_horizon + lead,
        }
    )
