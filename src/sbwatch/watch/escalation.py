"""Escalation inside the watcher: decide, raise the compute size once, verify the recovery."""

from __future__ import annotations

from datetime import datetime

from sbwatch.core.clock import Clock
from sbwatch.core.durations import format_duration
from sbwatch.core.errors import ApiError, SbwatchError
from sbwatch.core.log import get_logger
from sbwatch.core.results import (
    Diagnosis,
    DiagnosisKind,
    Intent,
    IntentState,
    ProbeKind,
    ProbeState,
    Severity,
)
from sbwatch.policy.alerts import PolicyState
from sbwatch.policy.conditions import IO_KINDS
from sbwatch.policy.escalation import EscalationDecision, decide
from sbwatch.store.base import Store
from sbwatch.supabase.tiers import Tier, next_tier, rank, spec
from sbwatch.watch.announcer import Announcer
from sbwatch.watch.runtime import ProjectRuntime
from sbwatch.watch.state import STATE_NAMESPACE, estimator_key, hold_key


class EscalationFlow:
    """The watcher's side of compute escalation; the journal and lock live in the Escalator."""

    def __init__(self, store: Store, *, clock: Clock, announcer: Announcer, owner: str) -> None:
        self.store = store
        self.clock = clock
        self.announcer = announcer
        self.owner = owner
        self._log = get_logger("escalation")

    async def decide(self, runtime: ProjectRuntime, diagnosis: Diagnosis) -> EscalationDecision:
        """The policy's answer for this cycle; logged when its reason changes."""
        decision = decide(
            diagnosis,
            runtime.estimator.estimate,
            runtime.settings.escalation,
            runtime.tier,
            runtime.journal,
            self.clock.now(),
            prices=runtime.prices,
            ref=runtime.settings.ref,
        )
        if runtime.decision is None or runtime.decision.reason != decision.reason:
            self._log.info(
                "escalation decision",
                project=runtime.settings.ref,
                action=decision.action,
                target=decision.target.value if decision.target else None,
                reason=decision.reason,
            )
        runtime.decision = decision
        return decision

    async def escalate(self, runtime: ProjectRuntime, decision: EscalationDecision) -> bool:
        """Raise the compute size; True when a change is under way (alerts wait for it)."""
        assert decision.target is not None
        ref = runtime.settings.ref
        if runtime.escalator is None:
            return False
        try:
            intent = await runtime.escalator.escalate(
                ref, runtime.tier, decision.target, decision.reason, self.owner
            )
        except SbwatchError as exc:
            self._log.warning("escalation not started", project=ref, error=str(exc))
            return False
        finally:
            runtime.journal = await self.store.intents(ref)
        if intent.state is IntentState.FAILED:
            await self.announcer.notice(
                runtime,
                Severity.CRITICAL,
                f"could not raise compute to {decision.target}",
                f"{intent.detail}\nRun: sbwatch escalate {ref} --to {decision.target}",
            )
            return False
        delta = decision.monthly_cost_delta_usd or 0.0
        lines = [
            decision.reason,
            "Services restart during the resize (about 2 minutes); sbwatch watches the recovery.",
            outlook(runtime, intent.to_tier),
        ]
        await self.announcer.notice(
            runtime,
            Severity.CRITICAL,
            f"raising compute {intent.from_tier} -> {intent.to_tier} (+${delta:.2f}/month)",
            "\n".join(line for line in lines if line),
        )
        return True

    async def settle(self, runtime: ProjectRuntime, diagnosis: Diagnosis) -> bool:
        """Verify an applied change; True while one is still settling (alerts wait)."""
        if runtime.escalator is None:
            return False
        ref = runtime.settings.ref
        unfinished = await self.store.unfinished_intents(ref)
        if not unfinished:
            return False
        if any(i.state is IntentState.OPEN for i in unfinished):
            unfinished = await runtime.escalator.reconcile(ref)
        for intent in unfinished:
            if intent.state is IntentState.APPLIED:
                await self._verify(runtime, intent, diagnosis)
        runtime.journal = await self.store.intents(ref)
        # A change that just finished still skips this cycle's alerts: its notice said it all.
        return True

    async def _verify(self, runtime: ProjectRuntime, intent: Intent, diagnosis: Diagnosis) -> None:
        assert runtime.escalator is not None
        assert runtime.api is not None
        healthy = diagnosis.kind in {DiagnosisKind.HEALTHY, *IO_KINDS} and self._fresh_ok(
            runtime, intent.updated_at
        )
        try:
            shows = (await runtime.api.get_addons(intent.project)).compute_tier is intent.to_tier
        except ApiError:
            shows = False
        timeout_s = runtime.settings.escalation.verify_timeout.total_seconds()
        done = await runtime.escalator.check_recovery(
            intent, shows=shows, healthy=healthy, timeout_s=timeout_s
        )
        if done.state is IntentState.RECOVERED:
            await self._recovered(runtime, done)
        elif done.state is IntentState.UNRECOVERED:
            await self.announcer.notice(
                runtime,
                Severity.CRITICAL,
                f"still unhealthy {format_duration(timeout_s)} after raising compute to "
                f"{intent.to_tier}",
                "sbwatch will not change the size again by itself. Check the dashboard.",
            )

    def _fresh_ok(self, runtime: ProjectRuntime, since: datetime) -> bool:
        """Every service probe (and the provider's health view) passed after ``since``."""
        kinds = (ProbeKind.DB, ProbeKind.REST, ProbeKind.AUTH, ProbeKind.MGMT_HEALTH)
        seen = [status for kind, status in runtime.statuses.items() if kind in kinds]
        return bool(seen) and all(
            s.state is ProbeState.UP and s.last is not None and s.last.ok and s.last.at > since
            for s in seen
        )

    async def _recovered(self, runtime: ProjectRuntime, intent: Intent) -> None:
        now = self.clock.now()
        runtime.tier = intent.to_tier
        runtime.estimator.set_tier(intent.to_tier, now)
        runtime.budget_latched = False
        runtime.budget_held = True
        runtime.policy_state = PolicyState()
        ref = runtime.settings.ref
        await self.store.put_state(
            STATE_NAMESPACE, estimator_key(ref), runtime.estimator.to_state()
        )
        await self.store.put_state(
            STATE_NAMESPACE, hold_key(ref), {"tier": intent.to_tier.value, "since": now.isoformat()}
        )
        await self.announcer.close_all(runtime, now)
        lines = [
            f"Compute raised {intent.from_tier} -> {intent.to_tier}; services healthy again. "
            "Open alerts of this project are closed.",
        ]
        if runtime.estimator.eta_on(intent.to_tier) is not None:
            lines.append(
                f"IO budget alerts stay quiet on {intent.to_tier} until its budget refills; "
                "sbwatch still alerts if services fail."
            )
        await self.announcer.notice(
            runtime,
            Severity.INFO,
            f"recovered on {intent.to_tier} in {format_duration(intent.recovered_s or 0)}",
            "\n".join(lines),
        )


def outlook(runtime: ProjectRuntime, target: Tier) -> str:
    """What to expect on ``target`` at the current disk load, in one or two sentences."""
    rate = runtime.estimator.rate_mbps
    if rate is None:
        return ""
    baseline = spec(target).baseline_mbps
    eta = runtime.estimator.eta_on(target)
    if eta is None:
        return (
            f"At the current {rate:.0f} MB/s, {target}'s baseline of {baseline:g} MB/s carries it."
        )
    line = (
        f"At the current {rate:.0f} MB/s, {target}'s IO budget lasts about "
        f"{format_duration(eta)}; then throughput is held at {baseline:g} MB/s."
    )
    max_tier = runtime.settings.escalation.max_tier
    further = next_tier(target)
    if further is not None and rank(target) >= rank(max_tier):
        line += (
            f" max_tier is {max_tier}; to go further, run: "
            f"sbwatch escalate {runtime.settings.ref} --to {further}"
        )
    return line
