"""Escalation inside the watcher: decide, raise the compute size once, verify the recovery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sbwatch.alerting.words import (
    UNRECOVERED_BODY,
    decision_reason,
    not_raised_body,
    not_raised_title,
    outlook_line,
    raising_body,
    raising_title,
    recovered_body,
    recovered_note,
    recovered_title,
    unrecovered_title,
)
from sbwatch.core.clock import Clock
from sbwatch.core.errors import ApiError, SbwatchError
from sbwatch.core.log import get_logger
from sbwatch.core.probe_specs import recovery_probes
from sbwatch.core.results import (
    NOT_APPLIED,
    Diagnosis,
    DiagnosisKind,
    Intent,
    IntentState,
    ProbeState,
    Severity,
)
from sbwatch.core.tiers import Tier, next_tier, rank
from sbwatch.policy.escalation import HOST_KINDS, IO_KINDS, EscalationDecision, decide
from sbwatch.policy.oncall import during_maintenance
from sbwatch.store.base import JournalStore
from sbwatch.watch.announcer import Announcer
from sbwatch.watch.runtime import ProjectRuntime

RETRIED_WITHIN = timedelta(minutes=30)
"""A change proposed this soon after one the API did not take is the same need tried again."""


@dataclass(frozen=True)
class Step:
    """What one escalation step changed: the watcher writes it into the project's runtime."""

    busy: bool
    """A change is under way or has just settled: this cycle's alerts wait."""
    journal: list[Intent]
    recovered: Intent | None = None
    """A change that has just recovered: the project now runs on ``recovered.to_tier``."""


class EscalationFlow:
    """The watcher's side of compute escalation; the journal and lock live in the Escalator."""

    def __init__(
        self, store: JournalStore, *, clock: Clock, announcer: Announcer, owner: str
    ) -> None:
        self.store = store
        self.clock = clock
        self.announcer = announcer
        self.owner = owner
        self._log = get_logger("escalation")

    async def decide(self, runtime: ProjectRuntime, diagnosis: Diagnosis) -> EscalationDecision:
        """The policy's answer for this cycle (none while a maintenance window holds the
        project back); logged when its reason changes."""
        now = self.clock.now()
        window = await self.announcer.maintenance(runtime.settings.ref, now)
        decision = decide(
            diagnosis,
            runtime.estimator.estimate,
            runtime.settings.escalation,
            runtime.tier,
            runtime.journal,
            now,
            prices=runtime.prices,
            ref=runtime.settings.ref,
        )
        decision = during_maintenance(decision, window)
        ref = runtime.settings.ref
        reason = decision_reason(decision, ref)
        if runtime.decision is None or decision_reason(runtime.decision, ref) != reason:
            self._log.info(
                "escalation decision",
                project=ref,
                action=decision.action,
                target=decision.target.value if decision.target else None,
                reason=reason,
            )
        return decision

    async def escalate(self, runtime: ProjectRuntime, decision: EscalationDecision) -> Step:
        """Raise the compute size; busy when a change is under way (alerts wait for it)."""
        assert decision.target is not None
        ref = runtime.settings.ref
        if runtime.escalator is None:
            return Step(False, runtime.journal)
        try:
            intent = await runtime.escalator.escalate(
                ref, runtime.tier, decision.target, decision_reason(decision, ref), self.owner
            )
        except SbwatchError as exc:
            self._log.warning("escalation not started", project=ref, error=str(exc))
            return Step(False, await self.store.intents(ref))
        journal = await self.store.intents(ref)
        retrying = _retrying(journal, intent)
        if intent.state is IntentState.FAILED:
            if not (retrying and intent.detail == NOT_APPLIED):
                await self.announcer.notice(
                    runtime,
                    Severity.CRITICAL,
                    not_raised_title(decision.target),
                    not_raised_body(
                        intent.detail, ref, decision.target, again=intent.detail == NOT_APPLIED
                    ),
                )
            return Step(False, journal)
        if retrying:  # the person was told it did not go through and that sbwatch tries again
            self._log.info("escalation retried", project=ref, intent=intent.id)
            return Step(True, journal)
        await self.announcer.notice(
            runtime,
            Severity.CRITICAL,
            raising_title(intent.from_tier, intent.to_tier, decision.monthly_cost_delta_usd),
            raising_body(decision_reason(decision, ref), outlook(runtime, intent.to_tier)),
        )
        return Step(True, journal)

    async def settle(self, runtime: ProjectRuntime, diagnosis: Diagnosis) -> Step:
        """Verify an applied change; busy while one is still settling (alerts wait)."""
        if runtime.escalator is None:
            return Step(False, runtime.journal)
        ref = runtime.settings.ref
        unfinished = await self.store.unfinished_intents(ref)
        if not unfinished:
            return Step(False, runtime.journal)
        runtime.escalator.observe(unfinished)  # a change applied by a person counts too
        if any(i.state is IntentState.OPEN for i in unfinished):
            unfinished = await runtime.escalator.reconcile(ref)
        recovered = None
        for intent in unfinished:
            if intent.state is IntentState.APPLIED:
                recovered = await self._verify(runtime, intent, diagnosis) or recovered
        # A change that just finished still skips this cycle's alerts: its notice says it all.
        return Step(True, await self.store.intents(ref), recovered)

    async def _verify(
        self, runtime: ProjectRuntime, intent: Intent, diagnosis: Diagnosis
    ) -> Intent | None:
        """Check an applied change; the intent once it has recovered: every service answering
        since, and the diagnosis healthy or a resource's outlook (the new size's budget, a leak
        the new size holds for now) rather than a failure."""
        assert runtime.escalator is not None
        assert runtime.api is not None
        outlooks = {DiagnosisKind.HEALTHY, *IO_KINDS, *HOST_KINDS}
        healthy = diagnosis.kind in outlooks and self._fresh_ok(runtime, intent.updated_at)
        try:
            shows = (await runtime.api.get_addons(intent.project)).compute_tier is intent.to_tier
        except ApiError:
            shows = False
        timeout_s = runtime.settings.escalation.verify_timeout.total_seconds()
        done = await runtime.escalator.check_recovery(
            intent, shows=shows, healthy=healthy, timeout_s=timeout_s
        )
        if done.state is IntentState.RECOVERED:
            return done
        if done.state is IntentState.UNRECOVERED:
            await self.announcer.notice(
                runtime,
                Severity.CRITICAL,
                unrecovered_title(timeout_s, intent.to_tier),
                UNRECOVERED_BODY,
            )
        return None

    def _fresh_ok(self, runtime: ProjectRuntime, since: datetime) -> bool:
        """Every service probe (and the provider's health view) passed after ``since``: the
        probes the registry says a recovery waits for."""
        kinds = recovery_probes()
        seen = [status for kind, status in runtime.statuses.items() if kind in kinds]
        return bool(seen) and all(
            s.state is ProbeState.UP and s.last is not None and s.last.ok and s.last.at > since
            for s in seen
        )

    async def announce_recovery(self, runtime: ProjectRuntime, intent: Intent) -> None:
        """Close the project's open alerts and say it recovered (the runtime is on the new size)."""
        now = self.clock.now()
        await self.announcer.close_all(runtime, now, why=recovered_note(intent.to_tier))
        await self.announcer.notice(
            runtime,
            Severity.INFO,
            recovered_title(intent.to_tier, intent.recovered_s or 0),
            recovered_body(intent.from_tier, intent.to_tier),
            good_news=True,
            ends_incident=True,
        )


def _retrying(journal: list[Intent], intent: Intent) -> bool:
    """Whether ``intent`` tries again a change the API did not take (429, 5xx) just before."""
    earlier = [i for i in journal if i.id != intent.id and i.created_at <= intent.created_at]
    if not earlier:
        return False
    last = max(earlier, key=lambda i: i.created_at)
    recent = intent.created_at - last.updated_at <= RETRIED_WITHIN
    return recent and last.state is IntentState.FAILED and last.detail == NOT_APPLIED


def outlook(runtime: ProjectRuntime, target: Tier) -> str:
    """What to expect on ``target`` at the current disk load, in one or two sentences."""
    rate = runtime.estimator.rate_mbps
    if rate is None:
        return ""
    estimate = runtime.estimator.estimate
    limits = runtime.estimator.limits(target)
    ops = estimate is not None and estimate.limited_by == "iops"
    max_tier = runtime.settings.escalation.max_tier
    further = next_tier(target)
    return outlook_line(
        target,
        ref=runtime.settings.ref,
        now=estimate.iops if ops and estimate is not None else rate,
        iops=ops,
        baseline=limits.baseline_iops if ops else limits.baseline_mbps,
        eta_s=runtime.estimator.eta_on(target),
        beyond=further if further is not None and rank(target) >= rank(max_tier) else None,
        max_tier=max_tier,
    )
