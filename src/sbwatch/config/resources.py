"""What a project's size, disk, memory and CPUs are watched by and what sbwatch may change:
``[projects.budget]``, ``[projects.escalation]``, ``[projects.disk]``, ``[projects.memory]``,
``[projects.cpu]``."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from sbwatch.config.types import Duration, PositiveDuration
from sbwatch.config.types import StrictModel as _Model
from sbwatch.core.results import EscalationMode
from sbwatch.core.tiers import Tier


class TierLimits(_Model):
    """This project's own disk limits of one size, where they differ from the published."""

    baseline_mbps: float | None = Field(default=None, gt=0)
    max_mbps: float | None = Field(default=None, gt=0)
    baseline_iops: float | None = Field(default=None, gt=0)
    max_iops: float | None = Field(default=None, gt=0)


class BudgetSettings(_Model):
    """Disk IO budget estimation and its alert thresholds."""

    limits: dict[Tier, TierLimits] = Field(default_factory=dict)
    """Per size, limits that replace the published ones (``[projects.budget.limits.small]``)."""

    consumed_pct: float | None = Field(default=None, ge=0, le=100)
    """A known "Disk IO % consumed" reading from the dashboard; the estimator starts there."""
    warn_horizon: PositiveDuration = timedelta(hours=24)
    """Warn when the budget runs out within this at the current rate (no pattern known yet)."""
    plan_notice: bool = False
    """Once a week, say when the last two weeks' disk IO fits another size than today's."""
    pattern_warn_horizon: PositiveDuration = timedelta(days=3)
    """Warn when the week's learned pattern runs the budget out within this: a slow drain is
    told days ahead, and a daily refill never cries wolf in the morning."""
    critical_horizon: PositiveDuration | None = None
    """Page when the forecast runs out within this. None (the default): the budget alone never
    pages. The published limits are minimums, so a forecast from them runs out early (hours
    early near the end); the page comes when the services fail from the used-up budget."""
    low_ratio: float = Field(default=0.2, ge=0, le=1)
    smoothing: PositiveDuration = timedelta(minutes=30)


class EscalationSettings(_Model):
    """What sbwatch may do about the compute size of one project."""

    mode: EscalationMode = EscalationMode.ASK
    max_tier: Tier = Tier.SMALL
    monthly_cost_cap_usd: float = Field(default=30.0, ge=0)
    cooldown: Duration = timedelta(hours=1)
    max_steps: int = Field(default=1, ge=1, le=8)
    escalate_within: PositiveDuration = timedelta(hours=2)
    """Escalate when the budget forecast runs out within this (or it is exhausted)."""
    verify_timeout: PositiveDuration = timedelta(minutes=15)
    size_check: PositiveDuration = timedelta(minutes=10)
    """How often the compute size is read from the provider (a resize made elsewhere)."""


class DiskSettings(_Model):
    """The disk space of one project's ``/data``: when to warn, and what sbwatch may grow.

    The lever follows ``escalation.mode`` (off, ask, auto) and ``monthly_cost_cap_usd`` (which
    bounds the compute size and the disk together) and its cooldown.
    """

    check: PositiveDuration = timedelta(minutes=10)
    """How often the disk's size, use and last change are read from the Management API."""
    warn_within: PositiveDuration = timedelta(hours=48)
    """Warn when the database would go read-only within this."""
    critical_within: PositiveDuration = timedelta(hours=6)
    """Page when it would go read-only within this."""
    grow_within: PositiveDuration = timedelta(hours=24)
    """Grow the disk (or propose it, in ask mode) when read-only comes within this."""
    headroom: PositiveDuration = timedelta(days=3)
    """A grown disk holds this long of the current fill under 80% full."""
    max_gb: int = Field(default=100, ge=1)
    """The largest disk sbwatch grows to by itself."""
    spend_cap: bool = False
    """The organization's spend cap is on: the disk does not grow past 8 GB."""


class MemorySettings(_Model):
    """Memory and swap of one project: how long RAM must stay high, how far a leak is told."""

    sustain: PositiveDuration = timedelta(minutes=15)
    """RAM above 75% used for this long is "consistently": the size is too small."""
    warn_within: PositiveDuration = timedelta(hours=24)
    """Warn when a leak (free memory falling steadily) runs the machine out within this."""


class CpuSettings(_Model):
    """The CPUs of one project."""

    sustain: PositiveDuration = timedelta(minutes=15)
    """Busy above 90% (iowait apart) for this long: the CPUs are saturated."""
