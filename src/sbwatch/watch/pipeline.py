"""One project's pipeline: probe -> evaluate -> escalate -> announce, as plain async steps.

Each step works on one project's runtime and is handed a ``Mandate``: whether this instance
still runs the project (its gauges are the holder's alone), whether it acts for it (escalates,
alerts) and the fence of its writes. Which projects this instance holds, and moving them, is
the fleet's (watch/fleet.py); the pipeline never reads a lease.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Protocol

import httpx

from sbwatch.alerting.conditions import conditions
from sbwatch.alerting.data_conditions import data_conditions
from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.alerting.words import as_recorded, evidence_lines
from sbwatch.config.settings import BudgetSettings, ProjectSettings, Settings
from sbwatch.core.clock import Clock
from sbwatch.core.errors import SbwatchError
from sbwatch.core.lease import Fence
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import (
    BudgetEstimate,
    Diagnosis,
    DiagnosisKind,
    EmailKind,
    ProbeKind,
    ProbeState,
    ProbeStatus,
    ProviderEmail,
    Severity,
)
from sbwatch.policy.alerts import PolicyState
from sbwatch.policy.budget import alert_thresholds, budget_severity, refilling
from sbwatch.policy.conditions import IO_KINDS, next_latch
from sbwatch.policy.diagnosis import diagnose
from sbwatch.policy.escalation import EscalationDecision, beyond_reach, will_raise
from sbwatch.store.base import Store
from sbwatch.watch.announcer import AlertObserver, Announcer
from sbwatch.watch.auth_limits import AuthFlow
from sbwatch.watch.builder import RuntimeBuilder
from sbwatch.watch.connections import ConnFlow
from sbwatch.watch.disk import DiskFlow
from sbwatch.watch.escalation import EscalationFlow, Step
from sbwatch.watch.host import HostFlow
from sbwatch.watch.probing import Probing
from sbwatch.watch.provider import email_targets, provider_name
from sbwatch.watch.runtime import ProjectRuntime
from sbwatch.watch.signals import build_signals
from sbwatch.watch.sizing import Sizing
from sbwatch.watch.state import (
    correction_slot,
    policy_slot,
)

EMAIL_LOOKBACK = timedelta(hours=24)
DIAGNOSIS_RECORD_EVERY = timedelta(minutes=10)
"""An unchanged diagnosis is written to the store at most this often."""


class Mandate(Protocol):
    """What this instance may do for one project, as the fleet holds it now."""

    @property
    def fence(self) -> Fence | None:
        """The fence of the project's writes; None without high availability."""
        ...

    def runs(self) -> bool:
        """Whether this instance probes and diagnoses the project now (its gauges too)."""
        ...

    def acts(self) -> bool:
        """Whether this instance escalates and alerts for the project now."""
        ...


class Pipeline:
    """Probes, evaluates, escalates and announces for one project at a time."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        projects: Mapping[str, ProjectRuntime],
        *,
        clock: Clock,
        metrics: Metrics,
        http: httpx.AsyncClient,
        dispatcher: Dispatcher,
        owner: str = "daemon",
        on_alert: AlertObserver | None = None,
    ) -> None:
        """``projects``: every project's runtime (the fleet's), to tell whom an email is for."""
        self.settings = settings
        self.store = store
        self.projects = projects
        self.clock = clock
        self.metrics = metrics
        self.owner = owner
        self._thresholds: dict[str, BudgetSettings] = {}
        self._log = log = get_logger("watcher")
        self.announcer = announcer = Announcer(
            settings, store, clock=clock, dispatcher=dispatcher, on_alert=on_alert
        )
        self.escalations = EscalationFlow(store, clock=clock, announcer=announcer, owner=owner)
        self.disk = DiskFlow(store, clock=clock, metrics=metrics, announcer=announcer, owner=owner)
        self.connections = ConnFlow(metrics, store)
        self.auth_limits = AuthFlow(metrics, store)
        self.host = HostFlow(metrics)
        self.build = RuntimeBuilder(
            settings,
            store,
            clock=clock,
            metrics=metrics,
            http=http,
            owner=owner,
            on_intent=announcer.incidents.intent,
            log=log,
        )
        self.sizing = Sizing(store, clock=clock, announcer=announcer, host=self.host)
        self.probing = Probing(
            settings,
            store,
            clock=clock,
            metrics=metrics,
            build=self.build,
            flows=(self.disk, self.connections, self.auth_limits, self.host),
            log=log,
        )

    # -- start ----------------------------------------------------------------------------
    async def provider_names(self) -> dict[str, str]:
        """Every project's name at the provider by ref (see ``provider.provider_names``)."""
        return await self.build.names()

    def dormant(self, project: ProjectSettings, names: dict[str, str]) -> ProjectRuntime:
        """The runtime of a project another instance runs (see ``RuntimeBuilder.dormant``)."""
        return self.build.dormant(project, names)

    async def start(
        self,
        project: ProjectSettings,
        statuses: dict[tuple[str, ProbeKind], ProbeStatus],
        names: dict[str, str],
        may: Mandate,
        *,
        held_epoch: int | None,
    ) -> ProjectRuntime:
        """One project's runtime: probes, saved state, its size, its unfinished escalation."""
        runtime, size = await self.build.runtime(project, may.fence)
        runtime.held_epoch = held_epoch
        self.build.build_probes(runtime)
        for kind in runtime.probes:
            if (project.ref, kind) in statuses:
                runtime.statuses[kind] = statuses[(project.ref, kind)]
        now = self.clock.now()
        runtime.emails = await self.store.recent_emails(now - EMAIL_LOOKBACK, project.ref)
        runtime.journal = await self.store.intents(project.ref)
        if runtime.escalator is not None:  # counted from here on, whoever writes them
            runtime.escalator.observe(runtime.journal, count=False)
        runtime.provider_name = names.get(project.ref) or await provider_name(runtime, self._log)
        if size is not runtime.tier:  # resized while sbwatch was not running
            await self.sizing.adopt(runtime, size)
        runtime.policy_state = await policy_slot(project.ref).read(self.store) or PolicyState()
        if runtime.escalator is not None and may.acts():
            try:
                await runtime.escalator.reconcile(project.ref)
            except SbwatchError as exc:  # the next evaluation settles it
                self._log.warning("reconcile failed", error=str(exc), transient=exc.transient)
        return runtime

    # -- evaluation -----------------------------------------------------------------------
    async def evaluate(self, runtime: ProjectRuntime, may: Mandate) -> Diagnosis:
        """Budget corrections, diagnosis, escalation and its verification, then alerts; one
        evaluation of a project at a time."""
        async with runtime.evaluating:
            return await self._evaluate(runtime, may)

    async def _evaluate(self, runtime: ProjectRuntime, may: Mandate) -> Diagnosis:
        now = self.clock.now()
        diagnosis = await self._diagnose(runtime, may, now)
        budget = runtime.estimator.estimate  # as diagnosed: a recovery below moves the size
        if not may.acts():  # a standby: the leader escalates and alerts
            return diagnosis
        await self._resume(runtime, may)
        step = await self.escalations.settle(runtime, diagnosis)
        await self._take(runtime, step)
        if step.busy:
            return diagnosis
        runtime.decision = decision = await self.escalations.decide(runtime, diagnosis)
        if decision.action == "escalate":
            step = await self.escalations.escalate(runtime, decision)
            await self._take(runtime, step)
            if step.busy:
                return diagnosis
        await self._announce(runtime, diagnosis, budget, decision, may)
        self.metrics.heartbeat.set(now.timestamp())
        return diagnosis

    async def _diagnose(self, runtime: ProjectRuntime, may: Mandate, now: datetime) -> Diagnosis:
        """Follow the journal, the mailbox and a budget correction; diagnose and record it."""
        ref = runtime.settings.ref
        project = runtime.settings
        await self._follow_journal(runtime, may)
        if may.fence is not None:
            await self._follow_mailbox(runtime, may)
        await self._apply_correction(runtime)
        emails = [e for e in runtime.emails if e.received_at >= now - EMAIL_LOOKBACK]
        runtime.emails = emails
        signals = build_signals(
            ref,
            now,
            runtime.statuses,
            provider=self.probing.provider_last,
            budget=runtime.estimator.estimate,
            pressure=runtime.pressure,
            emails=emails,
            warn_horizon_s=project.escalation.escalate_within.total_seconds(),
            low_ratio=project.budget.low_ratio,
            connections=self.connections.assess(ref, runtime.tier, now),
            host=self.host.assess(ref, project, now),
            tier=runtime.tier,
            memory_warn_within_s=project.memory.warn_within.total_seconds(),
        )
        diagnosis = diagnose(signals)
        learn_level(runtime, diagnosis, now)
        await self._record_diagnosis(runtime, diagnosis, may)
        await self.connections.save(ref)
        auth = runtime.statuses.get(ProbeKind.AUTH)
        self.auth_limits.assess(ref, now, answering=auth is None or auth.state is ProbeState.UP)
        await self.auth_limits.save(ref)
        await self.host.save(self.store, ref, runtime.tier)
        return diagnosis

    async def _announce(
        self,
        runtime: ProjectRuntime,
        diagnosis: Diagnosis,
        budget: BudgetEstimate | None,
        decision: EscalationDecision,
        may: Mandate,
    ) -> None:
        """Every condition of the project, through the alerting policy to the phone."""
        ref = runtime.settings.ref
        project = runtime.settings
        thresholds = self._thresholds.get(ref)
        if thresholds is None:  # the settings are this watcher's for good: worked out once
            thresholds = alert_thresholds(project, self.settings.alerting.min_duration)
            self._thresholds[ref] = thresholds
        fixer = will_raise(budget, project.escalation, runtime.tier, prices=runtime.prices)
        severity = (
            budget_severity(budget, thresholds, raised_in_time=fixer is not None)
            if budget is not None
            else None
        )
        await self._latch(runtime, diagnosis, severity)
        conds = conditions(
            diagnosis,
            budget,
            severity,
            decision,
            budget_latched=runtime.budget_latched,
            ahead=beyond_reach(budget, project.escalation, runtime.tier, prices=runtime.prices),
            thresholds=thresholds,
        )
        conds += data_conditions(ref, runtime.data_checks)
        conds.append(await self.disk.evaluate(runtime, diagnosis, acting=True, fence=may.fence))
        self.disk.fold_into(conds, ref, diagnosis)
        conds.append(self.connections.condition(ref, diagnosis))
        self.connections.fold_into(conds, ref, diagnosis)
        conds.append(self.auth_limits.condition(ref))
        runtime.policy_state = await self.announcer.conditions(runtime, conds)
        await self._save_policy(runtime)

    async def _resume(self, runtime: ProjectRuntime, may: Mandate) -> None:
        """Under a new lead, start from the alert state the previous leader stored."""
        fence = may.fence
        epoch = None if fence is None else fence.epoch
        if epoch == runtime.led_epoch:
            return
        ref = runtime.settings.ref
        runtime.policy_state = await policy_slot(ref).read(self.store) or PolicyState()
        runtime.saved_policy = runtime.policy_state.to_dict()
        runtime.led_epoch = epoch
        if runtime.led_epoch is not None:
            self._log.info("leading project", project=ref, epoch=epoch)

    async def _take(self, runtime: ProjectRuntime, step: Step) -> None:
        """Write an escalation step into the runtime; a recovery moves it to the new size."""
        runtime.journal = step.journal
        if step.recovered is not None:
            await self.sizing.switch(runtime, step.recovered.to_tier)
            await self.escalations.announce_recovery(runtime, step.recovered)

    async def _save_policy(self, runtime: ProjectRuntime) -> None:
        """Persist the alert timers when they changed."""
        state = runtime.policy_state.to_dict()
        if state != runtime.saved_policy:
            await policy_slot(runtime.settings.ref).write(self.store, runtime.policy_state)
            runtime.saved_policy = state

    async def _follow_journal(self, runtime: ProjectRuntime, may: Mandate) -> None:
        """Another process (``sbwatch escalate``) changed the journal: read the size at once."""
        journal = await self.store.intents(runtime.settings.ref)
        if journal == runtime.journal:
            return
        changed = [i for i in journal if i not in runtime.journal]
        runtime.journal = journal
        if any(i.actor != self.owner for i in changed) and may.runs() and not runtime.replaced:
            await self.sizing.check(runtime)

    async def _follow_mailbox(self, runtime: ProjectRuntime, may: Mandate) -> None:
        """With several instances, the first to read the mailbox records an email, and only
        it hears of it: the instance that acts for the project finds it in the store."""
        if not may.acts():
            return
        since = self.clock.now() - EMAIL_LOOKBACK
        known = {e.message_id for e in runtime.emails}
        for email in await self.store.recent_emails(since, runtime.settings.ref):
            targets = email_targets(self.projects, email)
            if email.message_id in known or all(t is not runtime for t in targets):
                continue
            runtime.emails.append(email)
            self._log.info("provider email", kind=email.kind.value, project=runtime.settings.ref)
            await self.announcer.email(runtime, email)

    async def _apply_correction(self, runtime: ProjectRuntime) -> None:
        pending = correction_slot(runtime.settings.ref)
        correction = await pending.read(self.store)
        if correction is None:
            return
        runtime.estimator.correct(correction.consumed_pct, correction.at)
        await pending.delete(self.store)
        self._log.info(
            "budget corrected",
            project=runtime.settings.ref,
            consumed_pct=correction.consumed_pct,
        )

    async def _record_diagnosis(
        self, runtime: ProjectRuntime, diagnosis: Diagnosis, may: Mandate
    ) -> None:
        previous = runtime.diagnosis
        runtime.diagnosis = diagnosis
        changed = previous is None or previous.kind is not diagnosis.kind
        last = runtime.diagnosis_recorded_at
        if changed or last is None or diagnosis.at - last >= DIAGNOSIS_RECORD_EVERY:
            await self.store.record_diagnosis(as_recorded(diagnosis))
            runtime.diagnosis_recorded_at = diagnosis.at
        if not changed:
            return
        if may.runs():
            for kind in DiagnosisKind:
                value = 1.0 if kind is diagnosis.kind else 0.0
                self.metrics.diagnosis.labels(diagnosis.project, kind.value).set(value)
        self._log.info(
            "diagnosis changed",
            project=diagnosis.project,
            kind=diagnosis.kind.value,
            previous=previous.kind.value if previous else None,
            evidence=evidence_lines(diagnosis.evidence),
        )

    async def _latch(
        self, runtime: ProjectRuntime, diagnosis: Diagnosis, severity: Severity | None
    ) -> None:
        """Keep the IO budget alert latched until it refills."""
        raised = diagnosis.kind in IO_KINDS or severity is not None
        budget = runtime.estimator.estimate
        runtime.budget_latched = next_latch(
            runtime.budget_latched,
            raised,
            budget.ratio if budget else None,
            refills=budget is not None and budget.refills and refilling(budget),
        )


USED_UP_PCT = 100.0
"""What the dashboard would read of a budget seen used up: all of it consumed."""
FRESH_EMAIL = timedelta(hours=1)
"""A "depleted" email this recent still tells the level: the budget refills over a day."""


def learn_level(runtime: ProjectRuntime, diagnosis: Diagnosis, now: datetime) -> None:
    """A level never read, taken from the first hard evidence: the throughput held at a
    baseline (the diagnosis names the used-up budget while the estimate still reads some)."""
    if diagnosis.kind is DiagnosisKind.IO_BUDGET_EXHAUSTED:
        _used_up_if_assumed(runtime, now)


def took_level(runtime: ProjectRuntime, email: ProviderEmail, now: datetime) -> None:
    """A level never read, taken from a trusted, fresh "your project has depleted its Disk
    IO Budget" email: used up."""
    fresh = now - email.received_at <= FRESH_EMAIL
    if email.trusted and email.kind is EmailKind.IO_BUDGET_EXHAUSTED and fresh:
        _used_up_if_assumed(runtime, email.received_at)


def _used_up_if_assumed(runtime: ProjectRuntime, at: datetime) -> None:
    """Pin an estimate whose level was only assumed to used up, as seen at ``at``."""
    estimate = runtime.estimator.estimate
    if estimate is not None and estimate.assumed:
        runtime.estimator.correct(USED_UP_PCT, at)
