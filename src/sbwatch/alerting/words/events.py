"""An incident's lines and its closing titles: who changed a size, and how it went; its
timeline as a person would write it in a changelog, and the three lines a phone gets when it
ends (cause, what sbwatch did, how long)."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import datetime

from sbwatch.alerting.words.frame import resolved_title
from sbwatch.alerting.words.sizes import ESCALATE
from sbwatch.core.durations import format_duration
from sbwatch.core.results import Incident, IncidentEvent, IncidentEventKind
from sbwatch.core.subjects import BudgetCause
from sbwatch.core.tiers import Tier
from sbwatch.policy.incidents import impact, warnings

Kind = IncidentEventKind
_LABEL = {
    Kind.SIGNAL: "first seen",
    Kind.EMAIL: "provider email",
    Kind.MESSAGE: "phone",
    Kind.DIAGNOSIS: "diagnosis",
    Kind.ACTION: "action",
    Kind.RECOVERY: "recovery",
    Kind.ACK: "acknowledged",
    Kind.CLOSE: "closed",
}


def incident_over_title(cause: str, quiet_s: float) -> str:
    """An incident that ends with nothing failing for a while."""
    return f"over: {cause} (nothing failing for {format_duration(quiet_s)})"


def incident_resolved_title(name: str, cause: str, lasted_s: float) -> str:
    """The title of the message that ends an incident with a resolve: its cause."""
    return resolved_title(name, cause, lasted_s)


_IO_CAUSE = {
    BudgetCause.FAILING: "disk IO budget exhausted on {tier}",
    BudgetCause.USED_UP: "disk IO budget used up on {tier}",
    BudgetCause.DRAINING: "disk IO budget running out on {tier}",
}


def io_cause(cause: BudgetCause, tier: Tier | None) -> str:
    """The cause of an incident about the IO budget: "disk IO budget exhausted on micro" (one
    of failing, used up and draining; an IO budget alert about another cause names itself)."""
    return _IO_CAUSE[cause].format(tier=tier or "its size")


def acked_event(title: str, acked_by: str) -> str:
    """An incident's line: an alert acknowledged, and by whom."""
    return f"{title}: taken by {acked_by}"


def changed_event(title: str, was: str) -> str:
    """An incident's line: the cause of an alert changed."""
    return f"now {title} (was {was})"


def who(actor: str) -> str:
    """Who made a compute change: sbwatch itself, or a person with ``sbwatch escalate``."""
    if actor.startswith("daemon"):
        return "sbwatch"
    return f"{actor.removeprefix('cli:')} ({ESCALATE})"


def raised_event(from_tier: Tier, to_tier: Tier, actor: str) -> str:
    """An incident's line: a compute change made, and by whom."""
    return f"compute raised {from_tier} -> {to_tier} by {who(actor)}"


def failed_event(to_tier: Tier, detail: str) -> str:
    """An incident's line: a compute change that did not go through."""
    return f"raise to {to_tier} failed: {detail}"


def recovered_event(to_tier: Tier, recovered_s: float) -> str:
    """An incident's line: healthy again on the new size."""
    return f"healthy on {to_tier} in {format_duration(recovered_s)}"


def unrecovered_event(to_tier: Tier) -> str:
    """An incident's line: the new size did not bring the services back."""
    return f"still unhealthy on {to_tier}"


# --- an incident's record and its end ----------------------------------------------------


def moment(at: datetime) -> str:
    """A moment as a person writes it: "May 20 07:11" (UTC)."""
    return f"{at:%b} {at.day} {at:%H:%M}"


def event_line(event: IncidentEvent) -> str:
    """One line of the timeline: when, what kind, what."""
    text = event.text
    if event.kind is Kind.EMAIL and not event.data.get("trusted", True):
        text = f"UNVERIFIED: {text}"
    return f"{moment(event.at)}  {_LABEL[event.kind]}: {text}"


def warned(events: Sequence[IncidentEvent]) -> str:
    """ "warned 4d18h ahead (sbwatch forecast of May 20 07:11; provider email of May 20 20:00,
    4d6h ahead)", or "" when nothing warned before the trouble became urgent.

    The lead is the first signal's, and that signal is named first: a later one (the email
    that came after sbwatch's own forecast, or the forecast after the email) follows with its
    own lead, so no reader takes the first lead for the email's."""
    urgent = impact(events)
    if urgent is None:
        return ""
    ahead = warnings(events, urgent.at)
    if not ahead:
        return ""
    until = urgent.at

    def lead(event: IncidentEvent) -> str:
        return format_duration((until - event.at).total_seconds())

    first, *later = ahead
    names = [_signal(first), *(f"{_signal(e)}, {lead(e)} ahead" for e in later)]
    return f"warned {lead(first)} ahead ({'; '.join(names)})"


def _signal(event: IncidentEvent) -> str:
    """A warning by its source and when it came: "provider email of May 20 20:00"."""
    source = "provider email" if event.kind is Kind.EMAIL else "sbwatch forecast"
    return f"{source} of {moment(event.at)}"


def cost(delta: float, at: datetime) -> str:
    """A monthly price difference from ``at``, and prorated to the end of that month (UTC)."""
    days = calendar.monthrange(at.year, at.month)[1]
    month_end = datetime(at.year, at.month, days, tzinfo=at.tzinfo) - at
    left = max(0.0, month_end.total_seconds() / 86_400 + 1)
    prorated = delta * left / days
    return f"+${delta:.2f}/month, ${prorated:.2f} for the rest of {at:%B}"


def _did(event: IncidentEvent) -> str:
    """A compute change in a few words, with who made it."""
    data = event.data
    to = data.get("to", "?")
    if data.get("state") != "applied":
        return f"raise to {to} failed"
    actor = str(data.get("actor", ""))
    by = "" if who(actor) == "sbwatch" else f" by {who(actor)}"
    delta = data.get("monthly_usd")
    price = f" ({cost(float(delta), event.at)})" if isinstance(delta, int | float) else ""
    return f"raised to {to}{by}{price}"


def changelog(incident: Incident, events: Sequence[IncidentEvent]) -> str:
    """The incident in one entry: "May 25 10:34 rest is down; cause: disk IO budget exhausted
    on micro, warned 6d ahead (...); 10:36 raised to small; 10:39 recovered (3m20s)"."""
    urgent = impact(events)
    start = urgent.at if urgent is not None else incident.opened_at
    parts: list[tuple[datetime | None, str]] = []
    if urgent is not None and urgent.kind is Kind.MESSAGE and urgent.data.get("alert"):
        parts.append((None, str(urgent.data.get("what", ""))))
    ahead = warned(events)
    parts.append((None, f"cause: {incident.cause}" + (f", {ahead}" if ahead else "")))
    for event in events:
        if event.kind is Kind.ACTION:
            parts.append((event.at, _did(event)))
        elif event.kind is Kind.RECOVERY:
            took = event.data.get("recovered_s")
            said = "recovered" if event.data.get("state") == "recovered" else "still unhealthy"
            parts.append((event.at, said + (f" ({format_duration(took)})" if took else "")))
    if incident.closed_at is not None and not any(e.kind is Kind.RECOVERY for e in events):
        lasted = format_duration((incident.closed_at - incident.opened_at).total_seconds())
        parts.append((incident.closed_at, f"resolved (lasted {lasted})"))
    return f"{moment(start)} " + "; ".join(_stamped(parts, start))


def _stamped(parts: list[tuple[datetime | None, str]], start: datetime) -> list[str]:
    """Each part after the first with its time, the date only when the day changed."""
    out, day = [], start.date()
    for at, text in parts:
        if at is None:
            out.append(text)
            continue
        out.append(f"{at:%H:%M} {text}" if at.date() == day else f"{moment(at)} {text}")
        day = at.date()
    return out


def summary_lines(
    incident: Incident, events: Sequence[IncidentEvent], until: datetime
) -> list[str]:
    """Three lines: the cause (and how far ahead it was told), what sbwatch did, how long."""
    ahead = warned(events)
    cause = f"Cause: {incident.cause}" + (f"; {ahead}" if ahead else "") + "."
    changes = [_did(e) for e in events if e.kind is Kind.ACTION]
    recovered = [e for e in events if e.kind is Kind.RECOVERY]
    if changes:
        did = "sbwatch: " + "; ".join(changes)
        if recovered and recovered[-1].data.get("recovered_s"):
            did += f"; healthy again {format_duration(recovered[-1].data['recovered_s'])} later"
        did += "."
    else:
        told = sum(1 for e in events if e.kind is Kind.MESSAGE)
        did = f"sbwatch: told you ({told} message{'s' * (told != 1)}); no compute change."
    lasted = format_duration((until - incident.opened_at).total_seconds())
    end = (
        f"{until:%H:%M}" if until.date() == incident.opened_at.date() else f"{until:%Y-%m-%d %H:%M}"
    )
    return [cause, did, f"Lasted {lasted}: {incident.opened_at:%Y-%m-%d %H:%M} to {end} UTC."]


def timeline(incident: Incident, events: Sequence[IncidentEvent]) -> list[str]:
    """The whole record for ``sbwatch incidents show``: the changelog entry, then each line."""
    state = "open" if incident.closed_at is None else f"closed {moment(incident.closed_at)}"
    head = f"Incident #{incident.id} of {incident.project} ({state}): {incident.cause}"
    return [head, changelog(incident, events), "", *(event_line(e) for e in events)]
