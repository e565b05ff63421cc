"""Alerts and one-shot notices of the watcher: policy in, outbox out, silences and maintenance
windows honoured, acknowledgements heard, unacknowledged criticals passed on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.alerting.incidents import IncidentRecorder, closes_every, one_summary
from sbwatch.alerting.messages import render
from sbwatch.alerting.phone import Message, Target
from sbwatch.alerting.words import (
    after_maintenance,
    email_body,
    email_folded_line,
    email_title,
    held_claims_body,
    held_claims_title,
    incident_over_title,
    passed_on,
    said_body,
)
from sbwatch.config.settings import Settings
from sbwatch.core.clock import Clock
from sbwatch.core.errors import StoreError
from sbwatch.core.log import get_logger
from sbwatch.core.oncall import MaintenanceWindow
from sbwatch.core.results import PROVIDER, Alert, EmailKind, ProviderEmail, Severity, Silence
from sbwatch.core.subjects import Subject
from sbwatch.policy.alerts import (
    AlertAction,
    Condition,
    PolicyState,
    active_silence,
    alert_key,
    evaluate,
    notice,
)
from sbwatch.policy.diagnosis import IO_EMAILS
from sbwatch.policy.oncall import (
    after_period,
    alert_id,
    config_windows,
    due_escalations,
    in_force,
    just_ended,
)
from sbwatch.store.base import Store
from sbwatch.store.guard import GuardedStore
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
        self._refs = {p.name: p.ref for p in settings.projects if p.name}
        self._held_acked: set[tuple[str, datetime]] = set()
        """Acknowledged alerts said (in the log) not to be passed on."""
        self._log = get_logger("alerting")
        self.incidents = IncidentRecorder(store, clock)
        self._quiet_since: dict[str, datetime] = {}
        """Since when each project has had no open alert and nothing failing."""
        self._quiet_checked: set[str] = set()
        """Projects whose quiet stretch was long enough and whose incident was looked at."""

    async def _record(
        self,
        runtime: ProjectRuntime,
        action: AlertAction,
        message: Message,
        target: Target,
        ends: bool,
    ) -> Message:
        """Record the action in the project's incident; the message to send (a summary may
        replace it). While the state store is away the record waits for it (the store's
        answers meanwhile are from before the outage) and the message goes out as it is."""
        if self._record_later(runtime, action, message, target, ends):
            return message
        try:
            return await self.incidents.record(
                action,
                message,
                name=target.name,
                tier=runtime.tier,
                prices=runtime.prices,
                ends=ends,
            )
        except StoreError as exc:  # the state store went away: the alert goes out anyway
            if not self._record_later(runtime, action, message, target, ends):
                self._log.warning("incident not recorded", key=action.alert.key, error=str(exc))
            return message

    def _record_later(
        self,
        runtime: ProjectRuntime,
        action: AlertAction,
        message: Message,
        target: Target,
        ends: bool,
    ) -> bool:
        """The incident's record of an action, done when the state store returns; False when
        the store is not away (or not one that holds work while it is)."""
        if not isinstance(self.store, GuardedStore):
            return False
        work = self.incidents.later(
            action, message, name=target.name, tier=runtime.tier, prices=runtime.prices, ends=ends
        )
        return self.store.later(work)

    def _target(self, runtime: ProjectRuntime) -> Target:
        project = runtime.settings
        return Target(project.display_name, project.dashboard_url)

    async def notice(
        self,
        runtime: ProjectRuntime,
        severity: Severity,
        title: str,
        body: str,
        subject: Subject = Subject.ESCALATION,
        *,
        good_news: bool = False,
        ends_incident: bool = False,
    ) -> None:
        """A one-shot message (escalation, recovery, provider email); held back by silences.

        ``ends_incident``: it says the project's trouble is over (a recovery), so it carries
        the summary of the project's incident."""
        ref = runtime.settings.ref
        now = self.clock.now()
        if not ends_incident:  # a notice may begin an incident: a quiet stretch starts after it
            self._quiet_since.pop(ref, None)
            self._quiet_checked.discard(ref)
        action = notice(ref, subject, severity, title, body, now, good_news=good_news)
        if severity is Severity.CRITICAL and runtime.policy_state.paged:
            # one page per project at a time: the person is on its open critical already
            action = replace(action, note_only=True)
        windows = await self.windows(now)
        silence = active_silence(ref, await self._silences(now, windows), now)
        if silence is not None:
            action = replace(action, send=False, note=f"silenced: {silence.reason}")
        await self._submit(runtime, action, windows, ends_incident=ends_incident)

    async def provider_notice(
        self, severity: Severity, title: str, body: str, subject: Subject = Subject.MAIL
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
        windows = await self.windows(now)
        silences = await self._silences(now, windows)
        open_alerts = await self.store.open_alerts(ref)
        acked = await self._acked(ref, open_alerts)
        actions, state = evaluate(
            ref,
            conds,
            open_alerts,
            silences,
            self.settings.alerting,
            runtime.policy_state,
            now,
            acked={key for key, _ in acked},
        )
        ends = (
            closes_every(open_alerts, actions)
            and self.dispatcher.acts_for(ref)
            and await self._incident_open(ref)
        )
        if ends:  # the project's last alerts close: one summary instead of a resolve each
            actions = one_summary(actions)
        for index, action in enumerate(actions, start=1):
            await self._submit(
                runtime, action, windows, ends_incident=ends and index == len(actions)
            )
        if active_silence(ref, silences, now) is None:
            await self._pass_on(runtime, acked, now)
        if not ends:
            resolved = {a.alert.key for a in actions if a.kind == "resolve"}
            still_open = any(a.kind == "open" for a in actions) or any(
                a.key not in resolved for a in open_alerts
            )
            await self._close_quiet_incident(runtime, conds, still_open, now)
        return state

    async def _close_quiet_incident(
        self,
        runtime: ProjectRuntime,
        conds: Sequence[Condition],
        still_open: bool,
        now: datetime,
    ) -> None:
        """Close an incident no open alert holds (one a notice began: a compute change that
        failed) once nothing has failed for ``resolve_after``: no resolve would ever end it.
        The store is asked once a quiet stretch is long enough, not at every cycle."""
        ref = runtime.settings.ref
        if still_open or any(c.active for c in conds if c.project == ref):
            self._quiet_since.pop(ref, None)
            self._quiet_checked.discard(ref)
            return
        quiet = self._quiet_since.setdefault(ref, now)
        after = self.settings.alerting.resolve_after
        if now - quiet < after or ref in self._quiet_checked or not self.dispatcher.acts_for(ref):
            return
        try:
            incident = await self.store.current_incident(ref)
        except StoreError:  # the state store is away: asked again at the next cycle
            return
        self._quiet_checked.add(ref)
        if incident is None:
            return
        await self.notice(
            runtime,
            Severity.INFO,
            incident_over_title(incident.cause, after.total_seconds()),
            "",
            subject=Subject.INCIDENT,
            good_news=True,
            ends_incident=True,
        )

    async def _incident_open(self, ref: str) -> bool:
        try:
            return await self.store.current_incident(ref) is not None
        except StoreError:  # the state store is away: each alert resolves on its own
            return False

    async def maintenance(self, ref: str, now: datetime) -> MaintenanceWindow | None:
        """The maintenance window holding the project back now, if any."""
        return in_force(ref, await self.windows(now), now)

    async def windows(self, now: datetime) -> list[MaintenanceWindow]:
        """Maintenance windows in force, planned, or ended recently enough to be named."""
        since = now - after_period(self.settings.alerting)
        stored = await self.store.maintenance_windows(ending_after=since)
        return [*stored, *config_windows(self.settings.maintenance, self._refs, now)]

    async def _acked(self, ref: str, open_alerts: Sequence[Alert]) -> set[tuple[str, datetime]]:
        """The open alerts of the project a person acknowledged."""
        if not open_alerts:
            return set()
        mine = {alert_id(a) for a in open_alerts}
        return {(a.alert_key, a.opened_at) for a in await self.store.acks(ref)} & mine

    async def _pass_on(
        self, runtime: ProjectRuntime, acked: set[tuple[str, datetime]], now: datetime
    ) -> None:
        """Pass each critical page nobody acknowledged within escalate_after on, once."""
        alerting = self.settings.alerting
        if alerting.escalate_after is None or not alerting.escalate_to:
            return
        ref = runtime.settings.ref
        criticals = [
            a
            for a in await self.store.open_alerts(ref)
            if a.severity is Severity.CRITICAL and a.last_sent_at is not None
        ]
        if not criticals:
            return
        if all(alert_id(a) in self._held_acked for a in criticals):
            return  # every one taken, and said to be held back
        done = {(e.alert_key, e.opened_at) for e in await self.store.alert_escalations(ref)}
        paged_at = await self._paged_at(criticals)
        due = due_escalations(
            criticals,
            paged_at,
            acked=(),
            passed_on=done,
            after=alerting.escalate_after,
            now=now,
        )
        for alert in [a for a in due if alert_id(a) in acked]:
            if alert_id(alert) not in self._held_acked:
                self._held_acked.add(alert_id(alert))
                self._log.info("acknowledged alert not passed on", key=alert.key)
        due = [a for a in due if alert_id(a) not in acked]
        for alert in due:
            message = passed_on(alert, self._target(runtime), paged_at[alert.key], now)
            await self.dispatcher.pass_on(
                alert, message, alerting.escalate_to, paged_at=paged_at[alert.key]
            )

    async def _paged_at(self, criticals: Sequence[Alert]) -> dict[str, datetime]:
        """When each alert first paged: its first critical message since it opened."""
        since = min(a.opened_at for a in criticals)
        opened = {a.key: a.opened_at for a in criticals}
        first: dict[str, datetime] = {}
        for note in await self.store.notifications(since):
            began = opened.get(note.alert_key)
            if began is None or note.severity is not Severity.CRITICAL or note.created_at < began:
                continue
            first.setdefault(note.alert_key, note.created_at)
        return first

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
            key = alert_key(ref, Subject.IO_BUDGET)
            open_alerts = await self.store.open_alerts(ref)
            covering = [a for a in open_alerts if a.key == key and a.last_sent_at is not None]
            if covering:
                alert = covering[0]
                # after all the alert said, the alerts it took in included
                told = said_body(alert.body, alert.part_of)
                said = email_folded_line(email)
                folded = replace(alert, body=f"{told}\n{said}".strip(), part_of=())
                await self._submit(
                    runtime, AlertAction("update", folded, send=False, note=FOLDED_NOTE)
                )
                return
        if not email.trusted and not self.claims.admit(ref, email, self.clock.now()):
            return  # a flood of spoofed emails is one notice an hour: counted for the next
        severity = Severity.WARNING if email.trusted else Severity.INFO
        budget = runtime.estimator.estimate
        left = None if budget is None else budget.ratio
        title, body = email_title(email), email_body(email, left)
        await self.notice(runtime, severity, title, body, subject=Subject.MAIL)

    async def held_claims(self, runtime: ProjectRuntime | None) -> None:
        """Say the unverified emails held back for the hour, grouped (of the provider: None)."""
        now = self.clock.now()
        group = self.claims.due(PROVIDER if runtime is None else runtime.settings.ref, now)
        if group is None:
            return
        title = held_claims_title(group.count)
        body = held_claims_body(group.count, group.said_at, *group.shown())
        if runtime is None:
            await self.provider_notice(Severity.INFO, title, body)
        else:
            await self.notice(runtime, Severity.INFO, title, body, subject=Subject.MAIL)

    async def close_all(self, runtime: ProjectRuntime, now: datetime, *, why: str) -> None:
        """Close the project's open alerts without a message (a notice says ``why``); each
        close is recorded as a resolve that was not sent."""
        for alert in await self.store.open_alerts(runtime.settings.ref):
            closed = replace(alert, closed_at=now)
            await self._submit(runtime, AlertAction("resolve", closed, send=False, note=why))

    async def _silences(
        self, now: datetime, windows: Sequence[MaintenanceWindow] = ()
    ) -> list[Silence]:
        """Active silences: from ``sbwatch silence``, the configured ones and the maintenance
        windows in force."""
        configured = [
            Silence(-index, w.project, w.starts, w.ends, w.reason, "config")
            for index, w in enumerate(self.settings.alerting.silences, start=1)
        ]
        held = [
            Silence(
                w.id, w.project, w.starts_at, w.ends_at, f"maintenance: {w.reason}", "maintenance"
            )
            for w in windows
            if w.starts_at <= now < w.ends_at
        ]
        return [*await self.store.silences(now), *configured, *held]

    async def _submit(
        self,
        runtime: ProjectRuntime,
        action: AlertAction,
        windows: Sequence[MaintenanceWindow] = (),
        *,
        ends_incident: bool = False,
    ) -> None:
        now = self.clock.now()
        target = self._target(runtime)
        message = render(action, target, now)
        ended = just_ended(runtime.settings.ref, windows, now, after_period(self.settings.alerting))
        if action.send and ended is not None:
            message = after_maintenance(message, ended)
        if self.dispatcher.acts_for(runtime.settings.ref):
            message = await self._record(runtime, action, message, target, ends_incident)
        await self.dispatcher.submit(action, message)
        if self.on_alert is not None:
            self.on_alert(action, message)
