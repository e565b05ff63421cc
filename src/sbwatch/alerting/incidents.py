"""Incidents as records: one per project and episode, from its first message to its end.

The recorder sits at three seams: every alert action the announcer hands to the outbox (sent
or held back), every provider email it hears of, and every journal step of a compute change
(the daemon's or a person's ``sbwatch escalate``). A message sent while no incident of its
project is open begins one; everything after attaches to it until the cycle that closes the
project's last open alert, whose message becomes the incident's summary.

While the state store is away, the record of an alert action is made later (:meth:`later`):
on the store when it returns, at the time the action happened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sbwatch.alerting.phone import Message
from sbwatch.alerting.words import (
    acked_event,
    changed_event,
    failed_event,
    incident_resolved_title,
    io_cause,
    raised_event,
    recovered_event,
    summary_lines,
    unrecovered_event,
)
from sbwatch.core.clock import Clock, VirtualClock
from sbwatch.core.oncall import Ack
from sbwatch.core.results import (
    PROVIDER,
    Alert,
    Incident,
    IncidentEvent,
    IncidentEventKind,
    Intent,
    IntentState,
    ProviderEmail,
    Severity,
)
from sbwatch.core.subjects import AlertKey, BudgetCause, Family, Subject
from sbwatch.core.tiers import Tier
from sbwatch.policy.alerts import AlertAction
from sbwatch.policy.escalation import monthly_price
from sbwatch.store.base import Store

Kind = IncidentEventKind
SUMMED_UP = "said in the incident's summary"
"""Why a resolve of the closing cycle is not sent: the one summary says it."""
OPENING_NOTICES = frozenset({Subject.ESCALATION})
"""Notices that begin an incident (a compute change); the others only attach to one."""
FAILURE_SUBJECTS = (f"{Family.SERVICE}:", Subject.DIAGNOSIS)
"""Alerts about a failure: their first failure, before it was confirmed, is a signal."""
LOOKBACK = timedelta(hours=24)
"""Emails and compute changes this recent are part of an incident that begins now."""
_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
_IO_WEIGHT: dict[str, int] = {
    BudgetCause.FAILING: 3,
    BudgetCause.USED_UP: 2,
    BudgetCause.DRAINING: 1,
}
"""The causes of an IO budget alert an incident is said to be about, worse ranking higher."""


def subject_of(alert: Alert) -> str:
    """``io_budget`` of ``<ref>:io_budget``."""
    return AlertKey.parse(alert.key).subject


def cause_of(alert: Alert, tier: Tier | None) -> tuple[str, int]:
    """What an alert says is wrong, in words, and how bad that is (worse ranks higher)."""
    words, weight = alert.title, 1 if subject_of(alert) == Subject.DIAGNOSIS else 0
    if subject_of(alert) == Subject.IO_BUDGET and alert.cause in _IO_WEIGHT:
        cause = BudgetCause(alert.cause)
        words, weight = io_cause(cause, tier), _IO_WEIGHT[cause]
    return words, _RANK[alert.severity] * 10 + weight


def closes_every(open_alerts: Sequence[Alert], actions: Sequence[AlertAction]) -> bool:
    """Whether these actions resolve every open alert of the project and open none."""
    resolved = {a.alert.key for a in actions if a.kind == "resolve"}
    opened = any(a.kind == "open" for a in actions)
    return bool(resolved) and not opened and {a.key for a in open_alerts} <= resolved


def one_summary(actions: Sequence[AlertAction]) -> list[AlertAction]:
    """The closing cycle's resolves as one message: the most severe one sent carries the
    summary and goes last; the other resolves are recorded, not sent."""
    resolves = [a for a in actions if a.kind == "resolve"]
    sent = [a for a in resolves if a.send] or resolves
    carrier = max(sent, key=lambda a: _RANK[a.alert.severity])
    rest = [
        replace(a, send=False, note=SUMMED_UP) if a.kind == "resolve" and a.send else a
        for a in actions
        if a is not carrier
    ]
    return [*rest, carrier]


async def record_ack(store: Store, alert: Alert, ack: Ack) -> None:
    """An acknowledgement, and who made it: a line of the project's open incident, if any."""
    incident = await store.current_incident(alert.project)
    if incident is not None:
        text = acked_event(alert.title, ack.acked_by)
        await store.add_incident_event(IncidentEvent(incident.id, ack.acked_at, Kind.ACK, text))


class IncidentRecorder:
    """Keeps each project's incident and its timeline in the store."""

    def __init__(
        self, store: Store, clock: Clock, prices: Mapping[Tier, float] | None = None
    ) -> None:
        """``prices``: the listed prices a compute change is costed at (the table's when
        None), until a project's own are known."""
        self.store = store
        self.clock = clock
        self._default_prices = prices
        self._prices: dict[str, Mapping[Tier, float]] = {}

    async def record(
        self,
        action: AlertAction,
        message: Message,
        *,
        name: str,
        tier: Tier | None,
        prices: Mapping[Tier, float] | None = None,
        ends: bool = False,
    ) -> Message:
        """Record one alert action; the message to send (the summary when ``ends``).

        ``prices``: the project's listed prices (the table's when None), for what a compute
        change costs."""
        alert = action.alert
        if alert.project == PROVIDER:
            return message
        if prices is not None:
            self._prices[alert.project] = prices
        incident = await self.store.current_incident(alert.project)
        if incident is None and self._opens(action):
            incident = await self._open(action, tier)
        if incident is None:
            return message
        now = self.clock.now()
        if action.kind == "update" and action.was is not None:
            await self._event(incident, now, Kind.DIAGNOSIS, changed_event(alert.title, action.was))
        if action.kind != "notice":
            words, rank = cause_of(alert, tier)
            if rank > incident.cause_rank:
                await self.store.set_incident_cause(incident.id, words, rank)
                incident = replace(incident, cause=words, cause_rank=rank)
        said = await self._summary(incident, action, message, name) if ends else message
        if action.send:
            await self._event(incident, now, Kind.MESSAGE, said.title, _about(action))
        if ends:
            await self._event(incident, now, Kind.CLOSE, said.body.replace("\n", " "))
            ended = action.ended_at or now  # the problem's end, as the summary counts it
            await self.store.close_incident(incident.id, ended, f"{said.title}\n{said.body}")
        return said

    def later(
        self,
        action: AlertAction,
        message: Message,
        *,
        name: str,
        tier: Tier | None,
        prices: Mapping[Tier, float] | None,
        ends: bool,
    ) -> Callable[[Store], Awaitable[None]]:
        """The record of ``action``, made now, to be done on a store that was away when it
        returns: at this moment, as :meth:`record` would have. A resolve ends the incident if
        it closes the project's last open alert by then (the cycle could not tell meanwhile:
        its answers were the ones from before the outage)."""
        at = self.clock.now()

        async def record_then(store: Store) -> None:
            recorder = IncidentRecorder(store, VirtualClock(at), self._default_prices)
            last = action.kind == "resolve" and await _closes_last(store, action.alert)
            await recorder.record(
                action, message, name=name, tier=tier, prices=prices, ends=ends or last
            )

        return record_then

    async def email(self, project: str, email: ProviderEmail) -> None:
        """A provider email about a project: a line of its open incident, if any."""
        incident = await self.store.current_incident(project)
        if incident is not None:
            await self._email(incident, email)

    async def intent(self, intent: Intent) -> None:
        """A journal step of a compute change: a line of the project's open incident, if any."""
        incident = await self.store.current_incident(intent.project)
        if incident is not None:
            await self._intent(incident, intent)

    def _opens(self, action: AlertAction) -> bool:
        if not action.send:
            return False
        if action.kind == "notice":  # a compute change, not the good news of its end
            return subject_of(action.alert) in OPENING_NOTICES and not action.good_news
        return action.kind != "resolve"

    async def _open(self, action: AlertAction, tier: Tier | None) -> Incident:
        """Begin an incident, with the recent emails and compute changes that led to it."""
        alert = action.alert
        now = self.clock.now()
        words, rank = cause_of(alert, tier) if action.kind != "notice" else (alert.title, 0)
        ended = [i.closed_at for i in await self.store.incidents(alert.project, now - LOOKBACK)]
        since = max([now - LOOKBACK, *(at for at in ended if at is not None)])
        incident = await self.store.open_incident(alert.project, now, words, rank)
        failing = subject_of(alert).startswith(FAILURE_SUBJECTS)
        if failing and action.kind == "open" and now - alert.opened_at >= timedelta(minutes=1):
            await self._event(incident, alert.opened_at, Kind.SIGNAL, alert.title)
        for email in await self.store.recent_emails(since, alert.project):
            await self._email(incident, email)
        for intent in await self.store.unfinished_intents(alert.project):
            await self._intent(incident, intent)
        return incident

    async def _summary(
        self, incident: Incident, action: AlertAction, message: Message, name: str
    ) -> Message:
        """The message that ends the incident: its three lines, under the resolve's title
        (naming the incident's cause) or the recovery's own."""
        until = action.ended_at or self.clock.now()
        events = await self.store.incident_events(incident.id)
        title = message.title
        if action.kind == "resolve":
            lasted_s = (until - incident.opened_at).total_seconds()
            title = incident_resolved_title(name, incident.cause, lasted_s)
        return Message(title, "\n".join(summary_lines(incident, events, until)), good_news=True)

    async def _email(self, incident: Incident, email: ProviderEmail) -> None:
        data = {"trusted": email.trusted, "email_kind": email.kind.value}
        await self._event(incident, email.received_at, Kind.EMAIL, email.subject, data)

    async def _intent(self, incident: Incident, intent: Intent) -> None:
        prices = self._prices.get(intent.project, self._default_prices)
        delta = monthly_price(intent.to_tier, prices) - monthly_price(intent.from_tier, prices)
        data: dict[str, object] = {
            "intent": intent.id,
            "from": intent.from_tier.value,
            "to": intent.to_tier.value,
            "actor": intent.actor,
            "state": intent.state.value,
            "monthly_usd": round(delta, 2),
        }
        state, at, to = intent.state, intent.updated_at, intent.to_tier
        if state is IntentState.APPLIED:
            text = raised_event(intent.from_tier, to, intent.actor)
            await self._event(incident, at, Kind.ACTION, text, data)
        elif state is IntentState.FAILED:
            await self._event(incident, at, Kind.ACTION, failed_event(to, intent.detail), data)
        elif state is IntentState.RECOVERED:
            data["recovered_s"] = intent.recovered_s
            text = recovered_event(to, intent.recovered_s or 0)
            await self._event(incident, at, Kind.RECOVERY, text, data)
        elif state is IntentState.UNRECOVERED:
            await self._event(incident, at, Kind.RECOVERY, unrecovered_event(to), data)

    async def _event(
        self,
        incident: Incident,
        at: datetime,
        kind: IncidentEventKind,
        text: str,
        data: Mapping[str, object] | None = None,
    ) -> None:
        await self.store.add_incident_event(
            IncidentEvent(incident.id, at, kind, text, dict(data or {}))
        )


async def _closes_last(store: Store, alert: Alert) -> bool:
    """Whether no alert of the project but this one is open in the store."""
    return {a.key for a in await store.open_alerts(alert.project)} <= {alert.key}


def _about(action: AlertAction) -> dict[str, object]:
    """What a message was about, for the timeline's judgements (forecast, urgency)."""
    alert = action.alert
    return {
        "severity": action.severity.value,
        "kind": action.kind,
        "subject": subject_of(alert),
        "cause": alert.cause,
        "what": alert.title,
        "alert": action.kind != "notice",
    }
