"""What the watcher knows about one project between jobs, and the read-only view of it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sbwatch.config.settings import ProjectSettings
from sbwatch.core.results import (
    BudgetEstimate,
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

    @property
    def budget(self) -> BudgetEstimate | None:
        """The IO budget's last estimate."""
        return self.estimator.estimate

    @property
    def reaches_api(self) -> bool:
        """Whether a Management API token reaches the project (its size, disk, escalation)."""
        return self.api is not None

    def names(self) -> set[str]:
        """Every name the provider's emails may call this project by, lowercased."""
        found = {self.settings.ref, self.settings.name, self.provider_name}
        return {name.lower() for name in found if name}


class ProjectView(Protocol):
    """One project as the watcher's readers see it (the daemon's schedule and its backups,
    the replay and its fast path): read-only; the watcher alone writes the runtime behind it."""

    @property
    def settings(self) -> ProjectSettings:
        """The project's configuration."""
        ...

    @property
    def tier(self) -> Tier:
        """The compute size the project runs on."""
        ...

    @property
    def probes(self) -> Mapping[ProbeKind, Probe]:
        """The project's probes, in the order they were built."""
        ...

    @property
    def statuses(self) -> Mapping[ProbeKind, ProbeStatus]:
        """Each probe's state."""
        ...

    @property
    def budget(self) -> BudgetEstimate | None:
        """The IO budget's last estimate."""
        ...

    @property
    def pressure(self) -> Pressure | None:
        """The load on the disk between the last two readings."""
        ...

    @property
    def reaches_api(self) -> bool:
        """Whether a Management API token reaches the project."""
        ...

    @property
    def diagnosis(self) -> Diagnosis | None:
        """The last diagnosis."""
        ...

    @property
    def decision(self) -> EscalationDecision | None:
        """The escalation policy's last decision."""
        ...

    @property
    def journal(self) -> Sequence[Intent]:
        """The compute changes the watcher last read from the journal."""
        ...

    @property
    def emails(self) -> Sequence[ProviderEmail]:
        """The provider's emails about the project the watcher holds."""
        ...

    @property
    def policy_state(self) -> PolicyState:
        """The alert timers."""
        ...

    @property
    def budget_latched(self) -> bool:
        """An IO budget alert was raised and the budget has not refilled since."""
        ...

    @property
    def data_checks(self) -> tuple[DataCheckResult, ...]:
        """The checks of the last data run that read the data."""
        ...
