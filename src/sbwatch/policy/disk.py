"""The disk space of ``/data``: fill rate, the provider's autoscaling and its quota, and when the
database goes read-only; and whether sbwatch grows the disk itself (pure).

The forecast plays the provider's rules forward at the current fill rate: at 90% full the disk
grows by half, while fewer than four disk changes fall in the last 24 hours; at 95% with no
growth possible (the quota spent, or the spend cap's 8 GB reached) the database goes
read-only. The changes already made are the ones sbwatch saw (``last_modified_at`` of
``GET .../config/disk``, kept in the store).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from sbwatch.core.results import EscalationMode, IoSample
from sbwatch.supabase.disk import (
    AUTOSCALE_AT,
    CHANGE_WINDOW,
    CHANGES_PER_WINDOW,
    GB,
    READ_ONLY_AT,
    SPEND_CAP_GB,
    autoscaled_gb,
    monthly_disk_usd,
)

RATE_WINDOW = timedelta(hours=6)
"""The fill rate is the slope of the readings of this last stretch."""
MIN_SPAN = timedelta(minutes=10)
"""Readings closer together than this give no rate."""
HORIZON = timedelta(days=7)
"""Nothing further out is forecast."""
HORIZON_S = HORIZON.total_seconds()
TARGET_FULL = 0.8
"""A disk sbwatch grows is sized to be at most this full after the headroom's fill."""
FAILED_RETRY = timedelta(minutes=15)
"""After a disk change that failed, wait this long before proposing another."""
MAX_STEPS = 32
"""Autoscales played forward at most (each one grows the disk by a fifth at least)."""

Blocked = Literal["quota", "spend_cap"]


@dataclass(frozen=True, slots=True)
class DiskPoint:
    """One reading of ``/data``: its size and what is used, in bytes."""

    at: datetime
    size_bytes: float
    used_bytes: float

    @property
    def used_ratio(self) -> float:
        """The used share, 0..1."""
        return (
            0.0 if self.size_bytes <= 0 else min(1.0, max(0.0, self.used_bytes / self.size_bytes))
        )


@dataclass(frozen=True, slots=True)
class Quota:
    """The disk changes of the rolling window at one moment."""

    used: int
    spent: bool
    frees_at: datetime | None
    """When the next change is allowed again (None: allowed now)."""


@dataclass(frozen=True, slots=True)
class DiskForecast:
    """Where the disk stands and where it is going at the current fill rate."""

    at: datetime
    size_bytes: float
    used_bytes: float
    used_ratio: float
    rate_bytes_s: float | None
    """Bytes added per second (None: too few readings to tell; 0 or less: not filling)."""
    quota: Quota
    autoscale_eta_s: float | None
    """Seconds until the disk reaches 90% (None: not filling, or beyond the horizon)."""
    read_only_eta_s: float | None
    """Seconds until the database goes read-only, autoscales counted (None: not within the
    horizon); 0 when it is read-only now."""
    autoscales: int = 0
    """Autoscales the provider makes before then."""
    blocked_by: Blocked | None = None
    """Why the disk cannot grow when it reaches 95%."""
    frees_at: datetime | None = None
    """For a read-only moment the quota causes: when the quota lets the disk grow again."""

    @property
    def size_gb(self) -> float:
        """The filesystem's size in GB."""
        return self.size_bytes / GB


def point_of(sample: IoSample) -> DiskPoint | None:
    """The ``/data`` reading of a metrics scrape, when it has one."""
    size, avail = sample.fs_size_bytes, sample.fs_avail_bytes
    if size is None or avail is None or size <= 0:
        return None
    return DiskPoint(sample.at, size, size - avail)


def quota(changes: Sequence[datetime], now: datetime) -> Quota:
    """The quota at ``now`` from the disk changes made so far."""
    recent = sorted(c for c in changes if now - CHANGE_WINDOW < c <= now)
    if len(recent) < CHANGES_PER_WINDOW:
        return Quota(len(recent), False, None)
    return Quota(len(recent), True, recent[-CHANGES_PER_WINDOW] + CHANGE_WINDOW)


def fill_rate(points: Sequence[DiskPoint], now: datetime) -> float | None:
    """Bytes per second added to ``/data`` lately (least squares); None when unknown."""
    since = now - RATE_WINDOW
    recent = [p for p in points if since <= p.at <= now]
    if len(recent) < 2 or recent[-1].at - recent[0].at < MIN_SPAN:
        return None
    t0 = recent[0].at
    xs = [(p.at - t0).total_seconds() for p in recent]
    ys = [p.used_bytes for p in recent]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    if den <= 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


def _can_grow(size_gb: float, spend_cap: bool) -> bool:
    return not spend_cap or size_gb < SPEND_CAP_GB


def _grown(size_gb: float, spend_cap: bool) -> float:
    grown = autoscaled_gb(size_gb)
    return min(grown, float(SPEND_CAP_GB)) if spend_cap else grown


def forecast(
    points: Sequence[DiskPoint],
    changes: Sequence[datetime],
    now: datetime,
    *,
    spend_cap: bool = False,
) -> DiskForecast | None:
    """The disk's forecast from its readings and the changes made; None without a reading."""
    if not points:
        return None
    last = points[-1]
    rate = fill_rate(points, now)
    q = quota(changes, now)
    base = DiskForecast(now, last.size_bytes, last.used_bytes, last.used_ratio, rate, q, None, None)
    size_gb, used = last.size_bytes / GB, last.used_bytes
    made = list(changes)
    if last.used_ratio >= READ_ONLY_AT and not _grows_now(size_gb, made, now, spend_cap):
        why: Blocked = "quota" if _can_grow(size_gb, spend_cap) else "spend_cap"
        return _replace(base, read_only_eta_s=0.0, blocked_by=why, frees_at=_frees(made, now, why))
    if rate is None or rate <= 0:
        return base
    t = now
    autoscale_eta: float | None = None
    grown = 0
    for _ in range(MAX_STEPS):
        to90 = max(0.0, (AUTOSCALE_AT * size_gb * GB - used) / rate)
        if (t - now).total_seconds() + to90 > HORIZON.total_seconds():
            break
        at90 = t + timedelta(seconds=to90)
        if autoscale_eta is None:
            autoscale_eta = (at90 - now).total_seconds()
        used += rate * (at90 - t).total_seconds()
        t = at90
        to95 = min(max(0.0, (READ_ONLY_AT * size_gb * GB - used) / rate), 2 * HORIZON_S)
        at95 = t + timedelta(seconds=to95)
        if not _can_grow(size_gb, spend_cap):
            return _ended(base, autoscale_eta, at95, grown, "spend_cap", None)
        free = quota(made, t).frees_at or t
        if free >= at95:
            return _ended(base, autoscale_eta, at95, grown, "quota", free)
        used += rate * (free - t).total_seconds()
        t = free
        made.append(t)
        size_gb = _grown(size_gb, spend_cap)
        grown += 1
    return _replace(base, autoscale_eta_s=autoscale_eta, autoscales=grown)


def _grows_now(size_gb: float, made: list[datetime], now: datetime, spend_cap: bool) -> bool:
    return _can_grow(size_gb, spend_cap) and not quota(made, now).spent


def _frees(made: list[datetime], now: datetime, why: Blocked) -> datetime | None:
    return quota(made, now).frees_at if why == "quota" else None


def _ended(
    base: DiskForecast,
    autoscale_eta: float | None,
    at95: datetime,
    grown: int,
    why: Blocked,
    free: datetime | None,
) -> DiskForecast | None:
    eta = (at95 - base.at).total_seconds()
    if eta > HORIZON.total_seconds():
        return _replace(base, autoscale_eta_s=autoscale_eta, autoscales=grown)
    return _replace(
        base,
        autoscale_eta_s=autoscale_eta,
        read_only_eta_s=eta,
        autoscales=grown,
        blocked_by=why,
        frees_at=free,
    )


def _replace(base: DiskForecast, **changes: object) -> DiskForecast:
    return replace(base, **changes)  # type: ignore[arg-type]  # the fields of a DiskForecast


# -- the lever -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiskBounds:
    """What sbwatch may do about the disk of one project."""

    mode: EscalationMode
    grow_within_s: float
    """Grow when the database would go read-only within this."""
    headroom_s: float
    """A grown disk holds this long of the current fill below ``TARGET_FULL``."""
    max_gb: int
    monthly_cost_cap_usd: float
    compute_usd: float
    """The compute size's monthly price: the cap bounds compute and disk together."""
    cooldown_s: float
    spend_cap: bool = False


class DiskWhy(StrEnum):
    """Why the disk policy answers as it does (``alerting.words`` says it in words)."""

    GROW = "grow"
    """Auto mode: sbwatch grows the disk now."""
    ASK = "ask"
    """Ask mode: a person runs the command."""
    OFF = "off"
    """Escalation is off: the change it would make."""
    SIZE_UNKNOWN = "size_unknown"
    NOT_AHEAD = "not_ahead"
    """No read-only ahead within the horizon."""
    UNDER_WAY = "under_way"
    """A disk change is under way."""
    QUOTA_SPENT = "quota_spent"
    """The provider's quota of disk changes is spent: a change now would be refused."""
    SPEND_CAP = "spend_cap"
    """The spend cap holds the disk at its size."""
    FAILED = "failed"
    """The last disk change failed: a pause before the next."""
    COOLDOWN = "cooldown"
    MAX_GB = "max_gb"
    """The disk is at max_gb already."""
    COST_CAP = "cost_cap"
    """A bigger disk costs more than the cap, with the compute size's price."""


@dataclass(frozen=True, slots=True)
class DiskReason:
    """Why: the closed answer and the figures it rests on."""

    why: DiskWhy
    left_s: float = 0.0
    """``FAILED``, ``COOLDOWN``: how long until a change may be made."""
    frees_at: datetime | None = None
    """``QUOTA_SPENT``: when the next change is allowed."""
    max_gb: int = 0
    cap_usd: float = 0.0
    compute_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class DiskDecision:
    """What to do about the disk now, and why."""

    action: Literal["none", "ask", "grow"]
    target_gb: int | None
    reason: DiskReason
    monthly_cost_delta_usd: float | None = None
    current_gb: int | None = None
    """The size the change is from (set with ``target_gb``)."""


def _none(why: DiskWhy, **figures: Any) -> DiskDecision:
    return DiskDecision("none", None, DiskReason(why, **figures))


def decide_disk(
    fc: DiskForecast | None,
    bounds: DiskBounds,
    current_gb: int | None,
    *,
    now: datetime,
    pending: bool = False,
    last_change: datetime | None = None,
    last_failed: datetime | None = None,
) -> DiskDecision:
    """Whether to grow the disk now (one change, within the quota and the bounds)."""
    if fc is None or current_gb is None:
        return _none(DiskWhy.SIZE_UNKNOWN)
    eta = fc.read_only_eta_s
    if eta is None or eta > bounds.grow_within_s:
        return _none(DiskWhy.NOT_AHEAD)
    if pending:
        return _none(DiskWhy.UNDER_WAY)
    if fc.quota.spent:
        return _none(DiskWhy.QUOTA_SPENT, frees_at=fc.quota.frees_at)
    if bounds.spend_cap:
        return _none(DiskWhy.SPEND_CAP)
    if last_failed is not None and now - last_failed < FAILED_RETRY:
        left = (FAILED_RETRY - (now - last_failed)).total_seconds()
        return _none(DiskWhy.FAILED, left_s=left)
    if last_change is not None and (now - last_change).total_seconds() < bounds.cooldown_s:
        left = bounds.cooldown_s - (now - last_change).total_seconds()
        return _none(DiskWhy.COOLDOWN, left_s=left)
    target, why_not = _target(fc, bounds, current_gb)
    if target is None:
        assert why_not is not None
        return DiskDecision("none", None, why_not, None, current_gb)
    delta = round(monthly_disk_usd(target) - monthly_disk_usd(current_gb), 2)
    if bounds.mode is EscalationMode.OFF:
        return DiskDecision("none", target, DiskReason(DiskWhy.OFF), delta, current_gb)
    if bounds.mode is EscalationMode.ASK:
        return DiskDecision("ask", target, DiskReason(DiskWhy.ASK), delta, current_gb)
    return DiskDecision("grow", target, DiskReason(DiskWhy.GROW), delta, current_gb)


def _target(
    fc: DiskForecast, bounds: DiskBounds, current_gb: int
) -> tuple[int | None, DiskReason | None]:
    """The size to grow to within max_gb and the cost cap, or why there is none."""
    rate = max(0.0, fc.rate_bytes_s or 0.0)
    wanted = (fc.used_bytes + rate * bounds.headroom_s) / TARGET_FULL / GB
    target = max(math.ceil(wanted), int(autoscaled_gb(current_gb)))
    target = min(target, bounds.max_gb)
    budget = bounds.monthly_cost_cap_usd - bounds.compute_usd
    while target > current_gb and monthly_disk_usd(target) > budget:
        target -= 1
    if target <= current_gb:
        if bounds.max_gb <= current_gb:
            return None, DiskReason(DiskWhy.MAX_GB, max_gb=bounds.max_gb)
        cap, compute = bounds.monthly_cost_cap_usd, bounds.compute_usd
        return None, DiskReason(DiskWhy.COST_CAP, cap_usd=cap, compute_usd=compute)
    return target, None
