"""Alerts and one-shot notices of the watcher: policy in, outbox out, silences honoured."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.alerting.incidents import IncidentRecorder, closes_every, one_summary
from sbwatch.alerting.messages import Message, Target, render
from sbwatch.config.settings import Settings
from sbwatch.core.clock import Clock
from sbwatch.core.results import PROVIDER, EmailKind, ProviderEmail, Severity, Silence
from sbwatch.policy.alerts import (
    AlertAction,
    Condition,
    PolicyState,
    active_silence,
    alert_key,
    evaluate,
    notice,
)
from sbwatch.policy.conditions import IO_SUBJECT
from sbwatch.policy.diagnosis import IO_EMAILS
from sbwatch.store.base import Store
from sbwatch.watch.claims import UntrustedClaims
from sbwatch.watch.runtime import ProjectRuntime

FOLDED_NOTE = "provider email folded into the open alert"
AlertObserver = Callable[[AlertAction, Message], None]
"""Sees every action, sent or held back (``action.send`` says which), with its message."""


class Announcer:
    """Turns conditions and events into alerts and notices, and hands them to the outbox."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Clock,
        dispatcher: Dispatcher,
        on_alert: AlertObserver | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.dispatcher = dispatcher
        self.on_alert = on_alert
        self.claims = UntrustedClaims()
        self.incidents = IncidentRecorder(store, clock)

    def _target(self, runtime: ProjectRuntime) -> Target:
        project = runtime.settings
        return Target(project.display_name, project.dashboard_url)

    async def notice(
        self,
        runtime: ProjectRuntime,
        severity: Severity,
        title: str,
        body: str,
        subject: str = "escalation",
        *,
        good_news: bool = False,
        ends_incident: bool = False,
    ) -> None:
        """A one-shot message (escalation, recovery, provider email); held back by silences.

        ``ends_incident``: it says the project's trouble is over (a recovery), so it carries
        the summary of the project's incident."""
        ref = runtime.settings.ref
        now = self.clock.now()
        action = notice(ref, subject, severity, title, body, now, good_news=good_news)
        silence = active_silence(ref, await self._silences(now), now)
        if silence is not None:
            action = replace(action, send=False, note=f"silenced: {silence.reason}")
        await self._submit(runtime, action, ends_incident=ends_incident)

    async def provider_notice(
        self, severity: Severity, title: str, body: str, subject: str = "mail"
    ) -> None:
        """A one-shot message about no watched project (an email for another project)."""
        now = self.clock.now()
        action = notice(PROVIDER, subject, severity, title, body, now)
        message = render(action, Target("Supabase"), now)
        await self.dispatcher.submit(action, message)
        if self.on_alert is not None:
            self.on_alert(action, message)

    async def conditions(self, runtime: ProjectRuntime, conds: Sequence[Condition]) -> PolicyState:
        """Open, update, remind or resolve the project's alerts; the next policy state."""
        ref = runtime.settings.ref
        now = self.clock.now()
        await self.held_claims(runtime)
        await self.held_claims(None)
        open_alerts = await self.store.open_alerts(ref)
        actions, state = evaluate(
            ref,
            conds,
            open_alerts,
            await self._silences(now),
            self.settings.alerting,
            runtime.policy_state,
            now,
        )
        ends = (
            closes_every(open_alerts, actions)
            and self.dispatcher.acts_for(ref)
            and await self.store.current_incident(ref) is not None
        )
        if ends:  # the project's last alerts close: one summary instead of a resolve each
            actions = one_summary(actions)
        for index, action in enumerate(actions, start=1):
            await self._submit(runtime, action, ends_incident=ends and index == len(actions))
        return state

    async def email(self, runtime: ProjectRuntime, email: ProviderEmail) -> None:
        """Say at once that the provider wrote: the warning must not die in an inbox.

        A trusted email about the IO budget while the person already holds an open IO budget
        alert is folded into that alert (recorded, not sent): it confirms what they were told.
        """
        if email.kind is EmailKind.OTHER:
            return
        ref = runtime.settings.ref
        if self.dispatcher.acts_for(ref):
            await self.incidents.email(ref, email)
        if email.trusted and email.kind in IO_EMAILS:
            key = alert_key(ref, IO_SUBJECT)
            open_alerts = await self.store.open_alerts(ref)
            covering = [a for a in open_alerts if a.key == key and a.last_sent_at is not None]
            if covering:
                alert = covering[0]
                said = (
                    f"Supabase emailed at {email.received_at:%Y-%m-%d %H:%M} UTC: {email.subject}"
                )
                folded = replace(alert, body=f"{alert.body}\n{said}".strip())
                await self._submit(
                    runtime, AlertAction("update", folded, send=False, note=FOLDED_NOTE)
                )
                return
        budget = runtime.estimator.estimate
        estimate = f" sbwatch estimates {budget.ratio:.0%} of the IO budget left." if budget else ""
        if email.trusted:
            title, severity = f"Supabase emailed: {email.subject}", Severity.WARNING
            body = f"{email.kind.value} from {email.sender} ({email.trust_reason}).{estimate}"
        elif not self.claims.admit(ref, email, self.clock.now()):
            return  # a flood of spoofed emails is one notice an hour: counted for the next
        else:
            title, severity = f"UNVERIFIED email claims: {email.subject}", Severity.INFO
            body = (
                f"Unverified: not proven to come from Supabase ({email.trust_reason}); "
                f"not counted as evidence. {email.kind.value} from {email.sender}.{estimate}"
            )
        await self.notice(runtime, severity, title, body, subject="mail")

    async def held_claims(self, runtime: ProjectRuntime | None) -> None:
        """Say the unverified emails held back for the hour, grouped (of the provider: None)."""
        now = self.clock.now()
        group = self.claims.due(PROVIDER if runtime is None else runtime.settings.ref, now)
        if group is None:
            return
        title = f"UNVERIFIED email claims: {group.count:,} more in the last hour"
        if runtime is None:
            await self.provider_notice(Severity.INFO, title, group.describe())
        else:
            await self.notice(runtime, Severity.INFO, title, group.describe(), subject="mail")

    async def close_all(self, runtime: ProjectRuntime, now: datetime, *, why: str) -> None:
        """Close the project's open alerts without a message (a notice says ``why``); each
        close is recorded as a resolve that was not sent."""
        for alert in await self.store.open_alerts(runtime.settings.ref):
            closed = replace(alert, closed_at=now)
            await self._submit(runtime, AlertAction("resolve", closed, send=False, note=why))

    async def _silences(self, now: datetime) -> list[Silence]:
        """Active silences: from ``sbwatch silence`` and the configured maintenance windows."""
        configured = [
            Silence(-index, w.project, w.starts, w.ends, w.reason, "config")
            for index, w in enumerate(self.settings.alerting.silences, start=1)
        ]
        return [*await self.store.silences(now), *configured]

    async def _submit(
        self, runtime: ProjectRuntime, action: AlertAction, *, ends_incident: bool = False
    ) -> None:
        target = self._target(runtime)
        message = render(action, target, self.clock.now())
        if self.dispatcher.acts_for(runtime.settings.ref):
            message = await self.incidents.record(
                action,
                message,
                name=target.name,
                tier=runtime.tier,
                prices=runtime.prices,
                ends=ends_incident,
            )
        await self.dispatcher.submit(action, message)
        if self.on_alert is not None:
            self.on_alert(action, message)
