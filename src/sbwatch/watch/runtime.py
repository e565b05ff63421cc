"""What the watcher knows about one project between jobs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sbwatch.config.settings import ProjectSettings
from sbwatch.core.results import (
    DataCheckResult,
    Diagnosis,
    Intent,
    IoSample,
    ProbeKind,
    ProbeStatus,
    ProviderEmail,
)
from sbwatch.core.tiers import Tier
from sbwatch.policy.alerts import PolicyState
from sbwatch.policy.budget import BudgetEstimator, Pressure
from sbwatch.policy.escalation import EscalationDecision
from sbwatch.probes.base import Probe
from sbwatch.remediation.executor import Escalator
from sbwatch.supabase.mgmt_api import ManagementApi


@dataclass
class ProjectRuntime:
    """What the watcher knows about one project between jobs."""

    settings: ProjectSettings
    estimator: BudgetEstimator
    tier: Tier
    probes: dict[ProbeKind, Probe] = field(default_factory=dict)
    statuses: dict[ProbeKind, ProbeStatus] = field(default_factory=dict)
    api: ManagementApi | None = None
    escalator: Escalator | None = None
    prices: dict[Tier, float] | None = None
    last_sample: IoSample | None = None
    pressure: Pressure | None = None
    policy_state: PolicyState = field(default_factory=PolicyState)
    budget_latched: bool = False
    """An IO budget alert was raised and the budget has not refilled since."""
    diagnosis: Diagnosis | None = None
    diagnosis_recorded_at: datetime | None = None
    decision: EscalationDecision | None = None
    emails: list[ProviderEmail] = field(default_factory=list)
    journal: list[Intent] = field(default_factory=list)
    saved_policy: dict[str, Any] | None = None
    data_checks: tuple[DataCheckResult, ...] = ()
    """The checks of the last data run that read the data (a run that could not connect says
    nothing about the data, so it does not replace them)."""
    evaluating: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One evaluation at a time: a probe's state change evaluates beside the schedule."""
    provider_name: str | None = None
    """The project's name at the provider (``GET /v1/projects/{ref}``): emails use it."""
    led_epoch: int | None = None
    """The fencing epoch this runtime's alert state was last read from the store under: a new
    lead starts from what the previous leader wrote."""
    held_epoch: int | None = None
    """Projects shared out: the epoch of the project's own lease this runtime was started
    under (None: not held); another means the project moved here and is started afresh."""
    replaced: bool = False
    """The project moved here again and runs in a new runtime (watch/fleet.py): a job still
    at work on this one keeps nothing of what it finds."""

    def names(self) -> set[str]:
        """Every name the provider's emails may call this project by, lowercased."""
        found = {self.settings.ref, self.settings.name, self.provider_name}
        return {name.lower() for name in found if name}
