"""The watcher: everything the daemon does for its projects, as plain async jobs.

The scheduler calls these jobs on intervals in the daemon; the replay calls them on a virtual
clock. Each job is one unit of work: run a probe and keep its state; or evaluate a project
(budget, diagnosis, alerts, escalation and its verification).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from datetime import timedelta

import httpx
from pydantic import SecretStr

from sbwatch.alerting.conditions import conditions
from sbwatch.alerting.data_conditions import data_conditions
from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.config.settings import BudgetSettings, ProjectSettings, Settings
from sbwatch.core.clock import Clock
from sbwatch.core.errors import SbwatchError
from sbwatch.core.lease import Fence, Fences
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import (
    PROVIDER,
    Diagnosis,
    DiagnosisKind,
    EmailKind,
    IoSample,
    Outcome,
    ProbeKind,
    ProbeResult,
    ProbeState,
    ProbeStatus,
    ProviderEmail,
    Severity,
)
from sbwatch.core.tiers import Tier
from sbwatch.policy.alerts import (
    PolicyState,
)
from sbwatch.policy.budget import (
    BudgetEstimator,
    alert_thresholds,
    budget_severity,
    pressure,
    refilling,
)
from sbwatch.policy.conditions import IO_KINDS, next_latch
from sbwatch.policy.diagnosis import diagnose
from sbwatch.policy.disk import point_of
from sbwatch.policy.escalation import UNFINISHED, beyond_reach, will_raise
from sbwatch.policy.plan import Plan
from sbwatch.policy.thresholds import next_status
from sbwatch.probes import ProbeContext, build_probe, timeout_for
from sbwatch.probes.base import Probe
from sbwatch.probes.runner import run_probe  # where a probe's bug becomes outcome=error
from sbwatch.remediation.executor import Escalator
from sbwatch.store.base import Store
from sbwatch.supabase.mgmt_api import ManagementApi
from sbwatch.watch.announcer import AlertObserver, Announcer
from sbwatch.watch.auth_limits import AuthFlow
from sbwatch.watch.connections import ConnFlow
from sbwatch.watch.disk import DiskFlow
from sbwatch.watch.escalation import EscalationFlow, Step
from sbwatch.watch.host import HostFlow
from sbwatch.watch.provider import (
    discover_size,
    email_targets,
    explained_by,
    plan_notice,
    provider_name,
    provider_names,
    provider_size,
    say_changed_outside,
    say_unmatched,
)
from sbwatch.watch.runtime import ProjectRuntime
from sbwatch.watch.signals import build_signals
from sbwatch.watch.state import (
    STATE_NAMESPACE,
    correction_key,
    estimator_key,
    parse_correction,
)

EMAIL_LOOKBACK = timedelta(hours=24)
START_BATCH = 16
"""Projects started at once."""
DIAGNOSIS_RECORD_EVERY = timedelta(minutes=10)
"""An unchanged diagnosis is written to the store at most this often."""
_STATE_VALUE = {ProbeState.UP: 1.0, ProbeState.DOWN: 0.0, ProbeState.UNKNOWN: -1.0}


class Watcher:
    """Probes, evaluates and acts for every configured project."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Clock,
        metrics: Metrics,
        http: httpx.AsyncClient,
        dispatcher: Dispatcher,
        owner: str = "daemon",
        on_alert: AlertObserver | None = None,
        fences: Fences | None = None,
    ) -> None:
        """``fences``: with high availability, this instance escalates and alerts for a project
        only while it holds the project's lease (the leader lease, unless projects are shared
        out), and probes and diagnoses the projects it runs (all of them, unless shared)."""
        self.settings = settings
        self.fences = fences
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.http = http
        self.dispatcher = dispatcher
        self.owner = owner
        self.on_alert = on_alert
        self.projects: dict[str, ProjectRuntime] = {}
        self._thresholds: dict[str, BudgetSettings] = {}
        self._timeouts: dict[tuple[str, ProbeKind], float] = {}
        self._names: dict[str, str] = {}
        self._moving: dict[str, asyncio.Lock] = {}
        self.provider_probe: Probe | None = None
        self.provider_last: ProbeResult | None = None
        self.announcer = Announcer(
            settings, store, clock=clock, dispatcher=dispatcher, on_alert=on_alert
        )
        self.escalations = EscalationFlow(store, clock=clock, announcer=self.announcer, owner=owner)
        self.disk = DiskFlow(
            store, clock=clock, metrics=metrics, announcer=self.announcer, owner=owner
        )
        self.connections = ConnFlow(metrics, store)
        self.auth_limits = AuthFlow(metrics, store)
        self.host = HostFlow(metrics)
        self._log = get_logger("watcher")

    # -- life cycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Restore state, discover compute sizes and settle unfinished escalations.

        Projects start ``START_BATCH`` at a time: a fleet's start-up is bounded by the round
        trips to the provider, not their sum.
        """
        statuses = {(s.project, s.probe): s for s in await self.store.probe_statuses()}
        projects = self.settings.projects
        self._names = names = await provider_names(self._listing_apis(), self._log)
        for at in range(0, len(projects), START_BATCH):
            batch = projects[at : at + START_BATCH]
            started = await asyncio.gather(*(self._start(p, statuses, names) for p in batch))
            self.projects.update((runtime.settings.ref, runtime) for runtime in started)
        if self.settings.status_page.enabled and self.settings.projects:
            first = self.settings.projects[0]
            self.provider_probe = build_probe(ProbeKind.STATUS_PAGE, self._context(first))

    def _listing_apis(self) -> list[ManagementApi]:
        """One Management API client per token in use, to list the projects it reaches."""
        tokens = {token for p in self.settings.projects if (token := self.settings.token_for(p))}
        return [self._api(token) for token in tokens]

    def _api(self, token: SecretStr) -> ManagementApi:
        """A Management API client on the shared HTTP client, for one token."""
        return ManagementApi(self.http, self.settings.mgmt_api_url, token, clock=self.clock)

    async def _start(
        self,
        project: ProjectSettings,
        statuses: dict[tuple[str, ProbeKind], ProbeStatus],
        names: dict[str, str],
    ) -> ProjectRuntime:
        """One project's runtime: probes, saved state, its size, its unfinished escalation."""
        if not self.runs(project.ref):
            return self._dormant(project)
        held = self._held_epoch(project.ref)  # before reading the state its holder wrote
        runtime, size = await self._runtime(project)
        runtime.held_epoch = held
        self._build_probes(runtime)
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
            await self._adopt_size(runtime, size)
        runtime.policy_state = PolicyState.from_dict(
            await self.store.get_state("alerting", f"policy:{project.ref}")
        )
        if runtime.escalator is not None and self.acting(project.ref):
            try:
                await runtime.escalator.reconcile(project.ref)
            except SbwatchError as exc:  # the next evaluation settles it
                self._log.warning("reconcile failed", error=str(exc), transient=exc.transient)
        return runtime

    def _build_probes(self, runtime: ProjectRuntime) -> None:
        project = runtime.settings
        for kind in project.enabled_probes():
            if kind is not ProbeKind.STATUS_PAGE:
                runtime.probes[kind] = build_probe(kind, self._context(project))

    def _dormant(self, project: ProjectSettings) -> ProjectRuntime:
        """The runtime of a project another instance runs (projects shared out): its probes
        and configured size, nothing read nor asked; started for real if it moves here."""
        token = self.settings.token_for(project)
        tier = project.tier or Tier.MICRO
        smoothing_s = project.budget.smoothing.total_seconds()
        runtime = ProjectRuntime(
            project,
            BudgetEstimator(project.ref, tier, smoothing_s=smoothing_s),
            tier,
            api=self._api(token) if token is not None else None,
        )
        runtime.provider_name = self._names.get(project.ref)
        self._build_probes(runtime)
        return runtime

    async def close(self) -> None:
        """Release every probe's connections."""
        for runtime in self.projects.values():
            for probe in runtime.probes.values():
                await probe.aclose()
        if self.provider_probe is not None:
            await self.provider_probe.aclose()

    def _context(self, project: ProjectSettings) -> ProbeContext:
        return ProbeContext(self.settings, project, self.http, self.clock)

    async def _runtime(self, project: ProjectSettings) -> tuple[ProjectRuntime, Tier]:
        """A project's runtime on the size its saved estimate knows, and the size in effect."""
        token = self.settings.token_for(project)
        api = self._api(token) if token is not None else None
        tier, prices = await discover_size(project, api, self._log)
        saved = await self.store.get_state(STATE_NAMESPACE, estimator_key(project.ref))
        if saved is not None:
            estimator = BudgetEstimator.from_state(saved)
        else:
            estimator = BudgetEstimator(
                project.ref, tier, smoothing_s=project.budget.smoothing.total_seconds()
            )
            if project.budget.consumed_pct is not None:
                estimator.correct(project.budget.consumed_pct, self.clock.now())
        estimator.configure(project.budget.limits)
        escalator = (
            Escalator(
                self.store,
                api,
                clock=self.clock,
                metrics=self.metrics,
                owner=self.owner,
                fence=self._fence(project.ref),
                on_intent=self.announcer.incidents.intent,
            )
            if api is not None
            else None
        )
        runtime = ProjectRuntime(
            project, estimator, estimator.tier, api=api, escalator=escalator, prices=prices
        )
        return runtime, tier

    # -- sharing projects out -------------------------------------------------------------
    def runs(self, ref: str) -> bool:
        """Whether this instance probes and diagnoses ``ref`` now (see ``fences``)."""
        return self.fences is None or self.fences.runs(ref)

    def acting(self, ref: str | None = None) -> bool:
        """Whether this instance acts for ``ref`` (None: provider-wide): always without high
        availability, else while it holds the lease that covers it."""
        fence = self._fence(ref)
        return fence is None or fence.acting()

    def _fence(self, ref: str | None) -> Fence | None:
        if self.fences is None:
            return None
        return self.fences.fence(self.fences.lease_for(ref))

    def _held_epoch(self, ref: str) -> int | None:
        """The epoch of ``ref``'s own lease when projects are shared out and this instance
        holds it; None otherwise."""
        if self.fences is None or not self.settings.ha.share_projects:
            return None
        fence = self._fence(ref)
        return None if fence is None else fence.epoch

    async def running(self, ref: str) -> ProjectRuntime | None:
        """The runtime of a project this instance runs now, None for one it does not.

        A project that has just moved here (projects shared out) is first started afresh from
        the store (the probe states, estimate, journal and alert timers its last holder wrote,
        and its size from the provider) and probed once.
        """
        if not self.runs(ref):
            return None
        runtime = self.projects[ref]
        epoch = self._held_epoch(ref)
        if epoch == runtime.held_epoch:
            return runtime
        async with self._moving.setdefault(ref, asyncio.Lock()):
            runtime = self.projects[ref]
            if self._held_epoch(ref) != runtime.held_epoch:
                runtime = await self._restart(runtime)
        return runtime

    async def _restart(self, old: ProjectRuntime) -> ProjectRuntime:
        ref = old.settings.ref
        statuses = {(s.project, s.probe): s for s in await self.store.probe_statuses(ref)}
        runtime = await self._start(old.settings, statuses, self._names)
        self.projects[ref] = runtime
        for probe in old.probes.values():
            await probe.aclose()
        self._log.info("project taken on", project=ref, epoch=runtime.held_epoch)
        # Every probe once before the first evaluation: half the signals would read as a
        # contradiction, and be alerted as one.
        await asyncio.gather(*(self._probe_once(runtime, kind) for kind in runtime.probes))
        return runtime

    def let_go(self, refs: Sequence[str]) -> None:
        """Projects that moved to another instance: their gauges are that instance's now."""
        for ref in refs:
            self.metrics.forget_project(ref)

    # -- probes ---------------------------------------------------------------------------
    async def probe(self, ref: str, kind: ProbeKind) -> ProbeResult | None:
        """Run one probe of one project and keep its result, state and consequences; None
        when another instance runs the project.

        A failure is confirmed at once: the probe runs again after ``confirm_after`` until the
        thresholds say down (or it passes). A change of state evaluates the project at once,
        instead of waiting for the next cycle.
        """
        runtime = await self.running(ref)
        if runtime is None:
            return None
        confirm = runtime.settings.probes[kind].confirm_after
        result, changed = await self._probe_once(runtime, kind)
        while confirm is not None and not result.ok:
            if runtime.statuses[kind].state is ProbeState.DOWN:
                break
            await self.clock.sleep(confirm.total_seconds())
            result, again = await self._probe_once(runtime, kind)
            changed = changed or again
        if changed and runtime.diagnosis is not None:  # after start's first evaluation
            await self.evaluate(ref)
        return result

    async def _probe_once(
        self, runtime: ProjectRuntime, kind: ProbeKind
    ) -> tuple[ProbeResult, bool]:
        """One run: keep the result and the state; whether the state changed."""
        ref = runtime.settings.ref
        probe = runtime.probes[kind]
        timeout = self._timeouts.get((ref, kind))
        if timeout is None:  # the settings are this watcher's for good: worked out once
            timeout = timeout_for(self._context(runtime.settings), kind)
            self._timeouts[(ref, kind)] = timeout
        result = await run_probe(
            probe,
            project=ref,
            timeout_s=timeout,
            clock=self.clock,
            metrics=self.metrics,
            log=self._log,
        )
        if self.projects.get(ref) is not runtime or not self.runs(ref):
            if not self.runs(ref):  # moved to another instance meanwhile: its to keep and say
                self.metrics.forget_project(ref)
            return result, False
        await self.store.record_probe(result)
        status, transition = next_status(
            runtime.statuses.get(kind), result, runtime.settings.probes[kind]
        )
        runtime.statuses[kind] = status
        await self.store.save_probe_status(status)
        if self.runs(ref):  # checked again after every wait: gauges are the holder's alone
            self.metrics.probe_series(ref, kind.value).up.set(_STATE_VALUE[status.state])
        if transition is not None:
            await self.store.record_transition(transition)
            self._log.info(
                "probe state changed",
                project=ref,
                probe=kind.value,
                previous=transition.previous.value,
                current=transition.current.value,
            )
        if result.skipped_lines:
            self.metrics.metrics_lines_skipped.labels(ref).inc(result.skipped_lines)
        if result.sample is not None:
            await self._fold_sample(runtime, result.sample)
        if result.host is not None:
            self.host.fold(ref, result.host)
        if result.checks:
            runtime.data_checks = result.checks
            self.metrics.record_data_checks(ref, result.checks)
        return result, transition is not None

    async def probe_provider(self) -> ProbeResult | None:
        """Run the provider-wide status page probe."""
        if self.provider_probe is None:
            return None
        result = await run_probe(
            self.provider_probe,
            project=PROVIDER,
            timeout_s=self.settings.status_page.timeout.total_seconds(),
            clock=self.clock,
            metrics=self.metrics,
            log=self._log,
        )
        await self.store.record_probe(result)
        self.provider_last = result
        # No threshold here: up while the page is read (whatever it reports), down when not.
        up = 1.0 if result.outcome is Outcome.OK else 0.0
        self.metrics.probe_series(PROVIDER, result.probe.value).up.set(up)
        return result

    async def _fold_sample(self, runtime: ProjectRuntime, sample: IoSample) -> None:
        ref = runtime.settings.ref
        await self.store.record_io_sample(ref, sample)
        runtime.pressure = pressure(runtime.last_sample, sample)
        runtime.last_sample = sample
        self.disk.fold(ref, point_of(sample))
        self.connections.fold(ref, sample)
        self.auth_limits.fold(ref, sample)
        estimate = runtime.estimator.update(sample)
        await self.store.record_budget(estimate)
        await self.store.put_state(
            STATE_NAMESPACE, estimator_key(ref), runtime.estimator.to_state()
        )
        if not self.runs(ref):
            return
        self.metrics.io_budget_ratio.labels(ref).set(estimate.ratio)
        eta = estimate.eta_s if estimate.eta_s is not None else math.inf
        self.metrics.io_budget_eta.labels(ref).set(eta)
        self.metrics.io_throughput.labels(ref).set(estimate.throughput_mbps * 1_000_000)

    # -- emails ---------------------------------------------------------------------------
    async def on_email(self, email: ProviderEmail) -> None:
        """A new provider email was stored: evaluate the project it concerns at once.

        The project is found by its ref (a dashboard link), else by the name the email gives;
        an email naming none fits the only project watched. One that fits no project is said
        as such, never applied to every project.
        """
        self._log.info(
            "provider email",
            kind=email.kind.value,
            project=email.project_ref,
            name=email.project_name,
            trusted=email.trusted,
        )
        targets = email_targets(self.projects, email)
        if not targets and email.kind is not EmailKind.OTHER:
            self._log.warning("provider email matches no watched project")
            await say_unmatched(self.announcer, self.projects, email)
        for target in targets:
            ref = target.settings.ref
            runtime = await self.running(ref)
            if runtime is None:  # its holder evaluates it: every instance reads the mailbox
                continue
            if any(e.message_id == email.message_id for e in runtime.emails):
                continue  # a runtime just started read it from the store, and said it
            runtime.emails.append(email)
            try:
                await self.announcer.email(runtime, email)
                await self.evaluate(ref)
            except SbwatchError as exc:  # the mailbox keeps going; the next cycle retries
                self._log.warning("email evaluation failed", project=ref, error=str(exc))

    # -- evaluation -----------------------------------------------------------------------
    async def evaluate(self, ref: str) -> Diagnosis | None:
        """Budget corrections, diagnosis, escalation and its verification, then alerts; None
        when another instance runs the project."""
        runtime = await self.running(ref)
        if runtime is None:
            return None
        async with runtime.evaluating:
            return await self._evaluate(runtime)

    async def _evaluate(self, runtime: ProjectRuntime) -> Diagnosis:
        ref = runtime.settings.ref
        project = runtime.settings
        now = self.clock.now()
        await self._follow_journal(runtime)
        if self.fences is not None:
            await self._follow_mailbox(runtime)
        await self._apply_correction(runtime)
        emails = [e for e in runtime.emails if e.received_at >= now - EMAIL_LOOKBACK]
        runtime.emails = emails
        budget = runtime.estimator.estimate
        signals = build_signals(
            ref,
            now,
            runtime.statuses,
            provider=self.provider_last,
            budget=budget,
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
        await self._record_diagnosis(runtime, diagnosis)
        await self.connections.save(ref)
        auth = runtime.statuses.get(ProbeKind.AUTH)
        self.auth_limits.assess(ref, now, answering=auth is None or auth.state is ProbeState.UP)
        await self.auth_limits.save(ref)
        await self.host.save(self.store, ref, runtime.tier)
        if not self.acting(ref):  # a standby: the leader escalates and alerts
            return diagnosis
        await self._resume(runtime)
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
            ahead=beyond_reach(
                budget, project.escalation, runtime.tier, prices=runtime.prices, ref=ref
            ),
        )
        conds += data_conditions(ref, runtime.data_checks)
        conds.append(
            await self.disk.evaluate(runtime, diagnosis, acting=True, fence=self._fence(ref))
        )
        self.disk.fold_into(conds, ref, diagnosis)
        conds.append(self.connections.condition(ref, diagnosis))
        self.connections.fold_into(conds, ref, diagnosis)
        conds.append(self.auth_limits.condition(ref))
        runtime.policy_state = await self.announcer.conditions(runtime, conds)
        await self._save_policy(runtime)
        self.metrics.heartbeat.set(now.timestamp())
        return diagnosis

    async def _resume(self, runtime: ProjectRuntime) -> None:
        """Under a new lead, start from the alert state the previous leader stored."""
        fence = self._fence(runtime.settings.ref)
        epoch = None if fence is None else fence.epoch
        if epoch == runtime.led_epoch:
            return
        ref = runtime.settings.ref
        runtime.policy_state = PolicyState.from_dict(
            await self.store.get_state("alerting", f"policy:{ref}")
        )
        runtime.saved_policy = runtime.policy_state.to_dict()
        runtime.led_epoch = epoch
        if runtime.led_epoch is not None:
            self._log.info("leading project", project=ref, epoch=epoch)

    async def _take(self, runtime: ProjectRuntime, step: Step) -> None:
        """Write an escalation step into the runtime; a recovery moves it to the new size."""
        runtime.journal = step.journal
        if step.recovered is not None:
            await self._switch_size(runtime, step.recovered.to_tier)
            await self.escalations.announce_recovery(runtime, step.recovered)

    async def _switch_size(self, runtime: ProjectRuntime, tier: Tier) -> None:
        """The project runs on ``tier`` now: a full budget there, alerts start afresh (the IO
        budget's too: a new size that will run out is warned of like any other)."""
        now = self.clock.now()
        ref = runtime.settings.ref
        runtime.tier = tier
        runtime.estimator.set_tier(tier, now)
        self.host.forget(ref)
        runtime.budget_latched = False
        runtime.policy_state = PolicyState()
        await self.store.put_state(
            STATE_NAMESPACE, estimator_key(ref), runtime.estimator.to_state()
        )
        if runtime.estimator.estimate is not None:  # status shows the new size at once
            await self.store.record_budget(runtime.estimator.estimate)

    async def _save_policy(self, runtime: ProjectRuntime) -> None:
        """Persist the alert timers when they changed."""
        state = runtime.policy_state.to_dict()
        if state != runtime.saved_policy:
            await self.store.put_state("alerting", f"policy:{runtime.settings.ref}", state)
            runtime.saved_policy = state

    # -- the compute size -----------------------------------------------------------------
    async def plan_notice(self, ref: str) -> Plan | None:
        """The weekly right-sizing notice of one project (see ``provider.plan_notice``)."""
        runtime = await self.running(ref)
        if runtime is None:
            return None
        return await plan_notice(self.store, self.clock, self.announcer, runtime)

    async def check_size(self, ref: str) -> Tier | None:
        """Read the compute size from the provider and follow it; None when it cannot be read.

        A change under way is left to its own verification. A size nobody in sbwatch asked for
        (the dashboard, a colleague) is announced once; the estimate moves to it either way.
        """
        runtime = await self.running(ref)
        if runtime is None or runtime.api is None:
            return None
        journal = await self.store.intents(ref)
        if runtime.escalator is not None:  # a person's sbwatch escalate counts in the metrics
            runtime.escalator.observe(journal)
        if any(intent.state in UNFINISHED for intent in journal):
            return None
        tier = await provider_size(runtime, self._log)
        if tier is not None and tier is not runtime.tier:
            await self._adopt_size(runtime, tier)
        return tier

    async def check_disk(self, ref: str) -> None:
        """Read the disk's size, use and last change from the provider (the quota's count),
        and at the same slow pace the auth configuration (its rate limits, custom SMTP)."""
        runtime = await self.running(ref)
        if runtime is not None and runtime.api is not None:
            await self.disk.check(runtime)
            await self.auth_limits.check(runtime)

    async def _adopt_size(self, runtime: ProjectRuntime, tier: Tier) -> None:
        previous = runtime.tier
        await self._switch_size(runtime, tier)
        ref = runtime.settings.ref
        made = explained_by(runtime.journal, tier)
        if made is not None:
            self._log.info("compute size followed", project=ref, tier=tier.value, by=made.actor)
        elif runtime.api is not None:  # a configured size that changed: the person knows
            self._log.warning("compute changed outside sbwatch", project=ref, tier=tier.value)
            await say_changed_outside(self.announcer, runtime, previous, tier)

    async def _follow_journal(self, runtime: ProjectRuntime) -> None:
        """Another process (``sbwatch escalate``) changed the journal: read the size at once."""
        journal = await self.store.intents(runtime.settings.ref)
        if journal == runtime.journal:
            return
        changed = [i for i in journal if i not in runtime.journal]
        runtime.journal = journal
        if any(i.actor != self.owner for i in changed):
            await self.check_size(runtime.settings.ref)

    async def _follow_mailbox(self, runtime: ProjectRuntime) -> None:
        """With several instances, the first to read the mailbox records an email, and only
        it hears of it: the instance that acts for the project finds it in the store."""
        if not self.acting(runtime.settings.ref):
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
        key = correction_key(runtime.settings.ref)
        doc = await self.store.get_state(STATE_NAMESPACE, key)
        if doc is None:
            return
        consumed_pct, at = parse_correction(doc)
        runtime.estimator.correct(consumed_pct, at)
        await self.store.delete_state(STATE_NAMESPACE, key)
        self._log.info("budget corrected", project=runtime.settings.ref, consumed_pct=consumed_pct)

    async def _record_diagnosis(self, runtime: ProjectRuntime, diagnosis: Diagnosis) -> None:
        previous = runtime.diagnosis
        runtime.diagnosis = diagnosis
        changed = previous is None or previous.kind is not diagnosis.kind
        last = runtime.diagnosis_recorded_at
        if changed or last is None or diagnosis.at - last >= DIAGNOSIS_RECORD_EVERY:
            await self.store.record_diagnosis(diagnosis)
            runtime.diagnosis_recorded_at = diagnosis.at
        if not changed:
            return
        if self.runs(diagnosis.project):
            for kind in DiagnosisKind:
                value = 1.0 if kind is diagnosis.kind else 0.0
                self.metrics.diagnosis.labels(diagnosis.project, kind.value).set(value)
        self._log.info(
            "diagnosis changed",
            project=diagnosis.project,
            kind=diagnosis.kind.value,
            previous=previous.kind.value if previous else None,
            evidence=list(diagnosis.evidence),
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

    async def flush(self) -> int:
        """Deliver due notifications."""
        return await self.dispatcher.flush()
