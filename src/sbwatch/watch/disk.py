"""The disk space inside the watcher: readings of ``/data``, the forecast, the alert, the lever.

Readings come from the metrics scrape (``node_filesystem_*{mountpoint="/data"}``) and from
``GET .../config/disk/util``; the disk changes the provider made from ``last_modified_at`` of
``GET .../config/disk``, kept in the store (remediation/disk.py), which the quota of four
changes a day is counted from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sbwatch.alerting.words import (
    DISK_SPACE_NAME,
    disk_lines,
    disk_reason,
    disk_title,
    failed_disk_body,
    failed_title,
    growing_body,
    growing_title,
)
from sbwatch.config.settings import ProjectSettings
from sbwatch.core.clock import Clock
from sbwatch.core.errors import ApiError, SbwatchError
from sbwatch.core.lease import Fence
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import Diagnosis, DiagnosisKind, IntentState, Severity
from sbwatch.core.subjects import Subject
from sbwatch.policy.alerts import Condition
from sbwatch.policy.disk import (
    RATE_WINDOW,
    DiskBounds,
    DiskDecision,
    DiskForecast,
    DiskPoint,
    DiskReason,
    DiskWhy,
    decide_disk,
    forecast,
    point_of,
)
from sbwatch.policy.escalation import monthly_price
from sbwatch.remediation.disk import DiskChanger
from sbwatch.remediation.disk_journal import (
    DiskIntent,
    changes_seen,
    disk_intents,
    last_change,
    last_failed,
    note_change,
    pending,
)
from sbwatch.store.base import Store
from sbwatch.supabase.mgmt_api import DiskConfig
from sbwatch.watch.announcer import Announcer
from sbwatch.watch.runtime import ProjectRuntime

"""The alert subject of the disk space forecast."""
KEEP = RATE_WINDOW + timedelta(hours=1)


@dataclass
class DiskState:
    """What the watcher knows of one project's disk between jobs."""

    points: list[DiskPoint] = field(default_factory=list)
    config: DiskConfig | None = None
    forecast: DiskForecast | None = None
    decision: DiskDecision | None = None
    loaded: bool = False
    changes: list[datetime] | None = None
    """The disk changes seen, as the store keeps them (re-read at each disk check)."""
    intents: list[DiskIntent] | None = None
    """sbwatch's disk changes (re-read at each disk check: ``sbwatch escalate`` writes too)."""


def bounds_of(project: ProjectSettings, compute_usd: float) -> DiskBounds:
    """The lever's bounds from the project's settings."""
    disk, escalation = project.disk, project.escalation
    return DiskBounds(
        mode=escalation.mode,
        grow_within_s=disk.grow_within.total_seconds(),
        headroom_s=disk.headroom.total_seconds(),
        max_gb=disk.max_gb,
        monthly_cost_cap_usd=escalation.monthly_cost_cap_usd,
        compute_usd=compute_usd,
        cooldown_s=escalation.cooldown.total_seconds(),
        spend_cap=disk.spend_cap,
    )


class DiskFlow:
    """Reads, forecasts, alerts on and grows the disks of the watcher's projects."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock,
        metrics: Metrics,
        announcer: Announcer,
        owner: str,
    ) -> None:
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.announcer = announcer
        self.owner = owner
        self.states: dict[str, DiskState] = {}
        self._log = get_logger("disk")

    def state(self, ref: str) -> DiskState:
        """The project's disk state (created empty)."""
        state = self.states.get(ref)
        if state is None:  # made only when missing: it is asked for several times a cycle
            state = self.states[ref] = DiskState()
        return state

    def fold(self, ref: str, point: DiskPoint | None) -> None:
        """Keep one reading of ``/data``."""
        if point is None:
            return
        state = self.state(ref)
        if state.points and point.at < state.points[-1].at:
            return
        if state.points and point.at == state.points[-1].at:
            state.points[-1] = point  # the same moment read twice: the later answer holds
        else:
            state.points.append(point)
        cut = point.at - KEEP
        while state.points and state.points[0].at < cut:
            state.points.pop(0)

    async def check(self, runtime: ProjectRuntime) -> DiskConfig | None:
        """Read the disk's attributes and use from the Management API; note a change."""
        api = runtime.api
        if api is None:
            return None
        ref = runtime.settings.ref
        state = self.state(ref)
        try:
            config = await api.get_disk(ref)
            util = await api.get_disk_util(ref)
        except ApiError as exc:
            self._log.info("disk not read", project=ref, error=str(exc))
            return None
        state.config = config
        if await note_change(self.store, ref, config.last_modified_at, self.clock.now()):
            self._log.info(
                "disk change seen", project=ref, size_gb=config.size_gb, at=config.last_modified_at
            )
        if util.size_bytes > 0:
            self.fold(ref, DiskPoint(util.at or self.clock.now(), util.size_bytes, util.used_bytes))
        await self._reread(ref, state)
        return config

    async def _reread(self, ref: str, state: DiskState) -> None:
        state.changes = await changes_seen(self.store, ref)
        state.intents = await disk_intents(self.store, ref)

    async def _load(self, ref: str, state: DiskState) -> None:
        """After a start, the readings the store kept: the fill rate is known at once."""
        state.loaded = True
        since = self.clock.now() - KEEP
        known = [p for s in await self.store.io_samples(ref, since) if (p := point_of(s))]
        merged = {p.at: p for p in [*known, *state.points]}
        state.points = [merged[at] for at in sorted(merged)]

    async def evaluate(
        self, runtime: ProjectRuntime, diagnosis: Diagnosis, *, acting: bool, fence: Fence | None
    ) -> Condition:
        """Forecast, decide and (auto mode) grow; the disk condition of this cycle."""
        ref = runtime.settings.ref
        state = self.state(ref)
        if not state.loaded:
            await self._load(ref, state)
        now = self.clock.now()
        settings = runtime.settings.disk
        if state.changes is None or state.intents is None:
            await self._reread(ref, state)
        assert state.changes is not None
        assert state.intents is not None
        fc = forecast(state.points, state.changes, now, spend_cap=settings.spend_cap)
        state.forecast = fc
        self._gauges(ref, fc)
        intents = state.intents
        current = state.config.size_gb if state.config is not None else None
        if current is None and fc is not None:
            current = round(fc.size_gb)
        compute_usd = monthly_price(runtime.tier, runtime.prices)
        decision = decide_disk(
            fc,
            bounds_of(runtime.settings, compute_usd),
            current,
            now=now,
            pending=pending(intents),
            last_change=last_change(intents),
            last_failed=last_failed(intents),
        )
        if state.decision is None or disk_reason(state.decision) != disk_reason(decision):
            self._log.info(
                "disk decision", project=ref, action=decision.action, reason=disk_reason(decision)
            )
        state.decision = decision
        if acting and decision.action == "grow" and fc is not None and runtime.api is not None:
            await self._grow(runtime, fc, decision, fence)
            decision = state.decision
            await self._reread(ref, state)
            assert state.changes is not None
            fc = state.forecast = forecast(
                state.points, state.changes, now, spend_cap=settings.spend_cap
            )
        return self._condition(runtime, diagnosis, fc, decision)

    async def _grow(
        self, runtime: ProjectRuntime, fc: DiskForecast, decision: DiskDecision, fence: Fence | None
    ) -> None:
        assert runtime.api is not None
        assert decision.target_gb is not None
        ref = runtime.settings.ref
        changer = DiskChanger(
            self.store, runtime.api, clock=self.clock, metrics=self.metrics, owner=self.owner,
            fence=fence,
        )  # fmt: skip
        state = self.state(ref)
        try:
            intent = await changer.grow(ref, decision.target_gb, disk_reason(decision), self.owner)
        except SbwatchError as exc:
            self._log.warning("disk change not started", project=ref, error=str(exc))
            return
        finally:
            await self._reread(ref, state)
        state.decision = replace(decision, action="none", reason=DiskReason(DiskWhy.UNDER_WAY))
        if intent.state is IntentState.FAILED:
            await self.announcer.notice(
                runtime,
                Severity.CRITICAL,
                failed_title(intent.to_gb),
                failed_disk_body(intent.detail, ref, intent.to_gb),
                subject=Subject.DISK_SPACE,
            )
            return
        await self.announcer.notice(
            runtime,
            Severity.WARNING,
            growing_title(intent.from_gb, intent.to_gb, decision.monthly_cost_delta_usd),
            growing_body(fc, decision),
            subject=Subject.DISK_SPACE,
        )
        await self.check(runtime)

    def _condition(
        self,
        runtime: ProjectRuntime,
        diagnosis: Diagnosis,
        fc: DiskForecast | None,
        decision: DiskDecision | None,
    ) -> Condition:
        ref = runtime.settings.ref
        settings = runtime.settings.disk
        eta = None if fc is None else fc.read_only_eta_s
        asks = decision is not None and decision.action == "ask"
        active = fc is not None and (
            asks or (eta is not None and eta <= settings.warn_within.total_seconds())
        )
        critical = asks or (eta is not None and eta <= settings.critical_within.total_seconds())
        if fc is None or diagnosis.kind is DiagnosisKind.DISK_FULL:
            active = False  # read-only now: the diagnosis says it, with these lines
        return Condition(
            ref,
            Subject.DISK_SPACE,
            Severity.CRITICAL if critical else Severity.WARNING,
            disk_title(fc) if fc is not None else DISK_SPACE_NAME,
            "\n".join(disk_lines(fc, decision, ref)) if fc is not None else "",
            active,
            cause=_cause(fc),
            eta_s=eta,
        )

    def fold_into(self, conditions: list[Condition], ref: str, diagnosis: Diagnosis) -> None:
        """A read-only database: its diagnosis alert carries the disk's lines and takes the
        disk alert in (one alert, not two)."""
        state = self.state(ref)
        if diagnosis.kind is not DiagnosisKind.DISK_FULL or state.forecast is None:
            return
        extra = "\n".join(disk_lines(state.forecast, state.decision, ref))
        for index, cond in enumerate(conditions):
            if cond.subject == Subject.DIAGNOSIS:
                conditions[index] = replace(
                    cond,
                    body=f"{cond.body}\n{extra}" if cond.body else extra,
                    absorbs=(*cond.absorbs, Subject.DISK_SPACE),
                )

    def _gauges(self, ref: str, fc: DiskForecast | None) -> None:
        if fc is None:
            return
        self.metrics.disk_used_ratio.labels(ref).set(fc.used_ratio)
        eta = fc.read_only_eta_s
        self.metrics.disk_read_only_eta.labels(ref).set(math.inf if eta is None else eta)
        scale = fc.autoscale_eta_s
        self.metrics.disk_autoscale_eta.labels(ref).set(math.inf if scale is None else scale)


def _cause(fc: DiskForecast | None) -> str:
    """What the disk alert is about: a new cause (the quota now spent) is said again."""
    if fc is None:
        return "disk"
    if fc.quota.spent:
        return "disk:quota_spent"
    return f"disk:{fc.blocked_by or 'filling'}"
