"""When to open, update, remind and resolve an alert: a pure function of conditions and ``now``.

Each cycle the app hands :func:`evaluate` the conditions of one project (built from the
diagnosis, the budget forecast, the mailbox...), its open alerts, the silences, the settings,
the persisted :class:`PolicyState` and ``now``. It answers with the actions to apply and the
next state, as data: the caller renders the text (``alerting.messages.render``), saves alerts
and enqueues notifications (``alerting.dispatch.Dispatcher``).

Rules:
- one alert per ``<project>:<subject>`` while open (dedupe);
- a condition must stay active for ``min_duration`` before it opens (flapping protection),
  except a critical one, which opens at once;
- a higher severity on an open alert sends an ``update``; a lower one is recorded silently;
- a new cause of an open alert (auth down turns out to be a platform outage) sends an
  ``update`` saying what it is now; so does a forecast that moved: the time left is under
  half of what the one told leaves by now (a countdown on schedule is no news; when the
  person must act before it ends, it is said once more as the change falls due);
- reminders every ``remind_warning`` / ``remind_critical`` while open (either may be None:
  never; by default a warning is sent once and speaks again only to turn critical or resolve);
- one page per project at a time: a critical pages when it opens or turns critical while no
  other critical of the project is open; everything said after (a reminder, a new cause, a
  moved forecast, another critical of the same project) is sent as a note at warning severity
  (``AlertAction.severity``): the person is already on it, a page wakes, a note informs;
- an alert resolves once its condition has been inactive (or absent) for ``resolve_after``;
- a condition with ``folds_others`` (local network down, platform outage) holds back the
  project's other subjects: they neither open, remind nor resolve while it lasts;
- a ``held`` condition (a failure whose cause is awaited) keeps its open alert open, its
  resolve wait starting again, and opens none;
- a condition that ``absorbs`` subjects (a cause: the used-up IO budget, an outage) closes
  their open alerts without a word and names them (``Alert.part_of``, said after its body),
  as Alertmanager's inhibition would at the source;
- a silence (the project or ``*``, a maintenance window too) suppresses sending; alerts still
  open and close, silently. An alert opened under a silence is sent as a reminder once the
  silence ends, and a critical one pages then: the person has not been told yet;
- an acknowledged alert (``acked``: a person took it) is not reminded of; a higher severity,
  a new cause or a moved forecast are still said.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from sbwatch.config.settings import AlertingSettings
from sbwatch.core.probe_specs import services
from sbwatch.core.results import Alert, Severity, Silence
from sbwatch.core.subjects import AlertKey, BudgetCause, Family, named

ActionKind = Literal["open", "update", "remind", "resolve", "notice"]

_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


@dataclass(frozen=True)
class Condition:
    """Something that is (or is not) wrong with a project right now, about one subject."""

    project: str
    subject: str  # "diagnosis", "budget", "mail", ...
    severity: Severity
    title: str  # what is wrong, one line
    body: str  # what sbwatch did or proposes; the exact command in ask mode
    active: bool
    folds_others: bool = False  # local network / platform outage: other subjects wait
    cause: str = ""
    """What is wrong, as a value: a different cause on an open alert is said again."""
    eta_s: float | None = None
    """The forecast behind an IO budget condition: one that moved is said again."""
    due_s: float | None = None
    """The person must act before the forecast runs out (sbwatch will not raise the size
    itself), at the latest this long before it: the forecast is said again once, as a last
    call, when the time left comes within it. None: nothing is asked of the person."""
    since: datetime | None = None
    """When the problem began, when known before sbwatch saw it confirmed (a first failure)."""
    absorbs: tuple[str, ...] = ()
    """Subjects this condition explains while active: their open alerts become its lines."""
    held: bool = False
    """Not known this cycle (the cause of a failure is awaited): an open alert of this
    subject stays open, its resolve wait starting again; none opens."""
    part_of: tuple[str, ...] = ()
    """The titles of the open alerts this condition took in this cycle (set by the policy)."""

    @property
    def key(self) -> str:
        """The dedupe key of the alert this condition opens."""
        return alert_key(self.project, self.subject)


@dataclass(frozen=True)
class AlertAction:
    """An alert to save and, when ``send``, a message to enqueue for every matching route."""

    kind: ActionKind
    alert: Alert
    send: bool = True
    note: str = ""  # why nothing is sent (silenced, severity lowered)
    previous: Severity | None = None
    """The severity an ``update`` raised the alert from."""
    ended_at: datetime | None = None
    """When the condition of a ``resolve`` ended (the resolve waits ``resolve_after`` more)."""
    good_news: bool = False
    """A notice that something got better (a recovery)."""
    was: str | None = None
    """The title an ``update`` replaces because the cause changed."""
    note_only: bool = False
    """Sent as a note, not a page: the person was already paged about this project."""
    held_back: bool = False
    """The first message of an alert that opened under a silence now ended: nobody was told."""

    @property
    def severity(self) -> Severity:
        """The severity the message is sent with: a note of a critical is a warning."""
        if self.note_only and self.alert.severity is Severity.CRITICAL:
            return Severity.WARNING
        return self.alert.severity


@dataclass(frozen=True)
class PolicyState:
    """Pending timers per alert key, persisted by the caller between cycles."""

    first_seen: Mapping[str, datetime] = field(default_factory=dict)
    """Since when a condition has been continuously active."""
    inactive_since: Mapping[str, datetime] = field(default_factory=dict)
    """Since when the condition of an open alert has been inactive."""
    paged: frozenset[str] = frozenset()
    """Open alerts that paged, or took in one that did: the person is on it until they close
    or ease to a warning (nothing failing), so turning critical again after a resize lowered
    it is a note, not a second page."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form (ISO timestamps)."""
        return {
            "first_seen": {k: v.isoformat() for k, v in self.first_seen.items()},
            "inactive_since": {k: v.isoformat() for k, v in self.inactive_since.items()},
            "paged": sorted(self.paged),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PolicyState:
        """The inverse of :meth:`to_dict`; an empty state for None."""
        data = data or {}
        return cls(
            first_seen={
                k: datetime.fromisoformat(v) for k, v in data.get("first_seen", {}).items()
            },
            inactive_since={
                k: datetime.fromisoformat(v) for k, v in data.get("inactive_since", {}).items()
            },
            paged=frozenset(data.get("paged", ())),
        )


def alert_key(project: str, subject: str) -> str:
    """The dedupe key ``<project>:<subject>`` as it is stored (``AlertKey``'s text)."""
    return str(AlertKey(project, subject))


def active_silence(project: str, silences: Sequence[Silence], now: datetime) -> Silence | None:
    """The first silence covering the project (or ``*``) at ``now``."""
    for silence in silences:
        if silence.project in (project, "*") and silence.starts_at <= now < silence.ends_at:
            return silence
    return None


def evaluate(
    project: str,
    conditions: Sequence[Condition],
    open_alerts: Sequence[Alert],
    silences: Sequence[Silence],
    settings: AlertingSettings,
    state: PolicyState,
    now: datetime,
    *,
    acked: Collection[str] = (),
) -> tuple[list[AlertAction], PolicyState]:
    """The actions for one project at ``now`` and the next policy state; ``acked``: the keys of
    the open alerts a person acknowledged."""
    ctx = _Cycle(settings, now, active_silence(project, silences, now), frozenset(acked))
    conds = _by_key(c for c in conditions if c.project == project)
    opens = {a.key: a for a in open_alerts if a.project == project and a.closed_at is None}
    folding = any(c.active and c.folds_others for c in conds.values())
    first_seen = {k: v for k, v in state.first_seen.items() if not _owned(k, project, conds)}
    inactive = {k: v for k, v in state.inactive_since.items() if not _owned(k, project, opens)}
    conds, absorbed, took = _absorb(conds, opens, now)
    actions: list[AlertAction] = list(absorbed)
    gone = {a.alert.key for a in absorbed}
    paged = _paged(opens.values())
    # a cause that took in a paged alert and waits out its own min_duration is not open yet
    pending = {k for k, c in conds.items() if c.active and k not in opens}
    was_paged = set(state.paged) & (opens.keys() | pending)
    was_paged |= {key for key, taken in took.items() if taken & was_paged}
    # a warning now (nothing failing, not a resize's restart): the next failure is news
    was_paged -= {
        key
        for key, cond in conds.items()
        if cond.active and cond.severity is not Severity.CRITICAL and not cond.folds_others
    }
    opens = {k: a for k, a in opens.items() if k not in gone}
    for key in sorted(conds.keys() | opens.keys()):
        cond, alert = conds.get(key), opens.get(key)
        if folding and not (cond is not None and cond.folds_others):
            if alert is None:
                first_seen.pop(key, None)
            inactive.pop(key, None)
            continue
        if cond is not None and cond.held and not cond.active:
            inactive.pop(key, None)
            continue
        if cond is not None and cond.active:
            inactive.pop(key, None)
            since = first_seen.setdefault(key, now)
            action = ctx.active(cond, alert, since)
        else:
            first_seen.pop(key, None)
            action = ctx.inactive(alert, inactive.setdefault(key, now)) if alert else None
            if action is not None:
                inactive.pop(key, None)
        if action is not None:
            actions.append(action)
    closing = {a.alert.key for a in actions if a.kind == "resolve"}
    paged = paged - (closing - gone)  # one taken in still counts: its page became the cause's
    was_paged -= closing
    actions = _one_page(actions, bool(paged | was_paged), frozenset(was_paged))
    was_paged |= {a.alert.key for a in actions if _pages(a)}
    return actions, PolicyState(
        first_seen=first_seen, inactive_since=inactive, paged=frozenset(was_paged)
    )


def _paged(alerts: Iterable[Alert]) -> set[str]:
    """The open critical alerts the person was paged about."""
    return {a.key for a in alerts if a.severity is Severity.CRITICAL and a.last_sent_at is not None}


def _pages(action: AlertAction) -> bool:
    """The action wakes the person: a critical sent as a page."""
    critical = action.alert.severity is Severity.CRITICAL
    return critical and action.send and not action.note_only and action.kind != "resolve"


def _one_page(
    actions: list[AlertAction], paged: bool, was_paged: frozenset[str] = frozenset()
) -> list[AlertAction]:
    """Page once per project at a time: a critical sent while another critical of the project
    was already paged and stays open (or became part of this one), an alert turning critical
    again after it paged (``was_paged``), and whatever follows a page, is a note."""
    out = []
    for action in actions:
        critical = action.alert.severity is Severity.CRITICAL
        if not critical or not action.send or action.kind in ("resolve", "notice"):
            out.append(action)
            continue
        raised = (
            action.kind == "open"
            or (action.kind == "update" and action.previous is not None)
            or action.held_back
        )
        if raised and not paged and action.alert.key not in was_paged:
            paged = True
            out.append(action)
        else:
            out.append(replace(action, note_only=True))
    return out


def notice(
    project: str,
    subject: str,
    severity: Severity,
    title: str,
    body: str,
    now: datetime,
    *,
    good_news: bool = False,
) -> AlertAction:
    """A one-shot message ("escalation started", "recovered"): sent once, never kept open."""
    alert = Alert(
        key=alert_key(project, subject),
        project=project,
        severity=severity,
        title=title,
        body=body,
        opened_at=now,
        last_sent_at=now,
        closed_at=now,
    )
    return AlertAction(kind="notice", alert=alert, good_news=good_news)


def _by_key(conditions: Iterable[Condition]) -> dict[str, Condition]:
    """One condition per key: an active one over an inactive one, then the most severe."""
    out: dict[str, Condition] = {}
    for cond in conditions:
        old = out.get(cond.key)
        if old is None or (cond.active, _RANK[cond.severity]) > (old.active, _RANK[old.severity]):
            out[cond.key] = cond
    return out


FORECAST_MOVED = 0.5
"""A forecast told to the person is said again once the time left is under this fraction of
what the one told leaves by now."""
TOLD_EASING = frozenset({BudgetCause.USED_UP, BudgetCause.FAILING})
"""Causes of an IO budget alert whose easing (the budget refilling) is told as good news."""
FORECAST_QUIET = timedelta(hours=1)
"""A moved forecast is said at most this often: a burst must not page every few minutes."""


def _forecast_moved(
    told: float | None, now: float | None, since_told_s: float, *, due_s: float | None = None
) -> bool:
    """Whether the time to run out moved enough to tell again: it began; the moment told has
    passed without it running out (the forecast proved wrong: a refill, a size changed since,
    limits above the published ones), so the one standing is said; or it came nearer than
    told, the time left under half of what the forecast told leaves by now.

    A forecast counting down as told is no news: "runs out in ~6h" said at noon, "~3h" at
    three is the same moment said again. When the person must act before it (``due_s``: the
    change is due that long before), a forecast told with more time than that is said once
    more as the time left comes within it: the last call. A forecast already at zero (used
    up) cannot move: the hourly reminder says it again."""
    if now is None:
        return False
    if told is None:
        return True
    if 0 < told <= since_told_s:
        return True
    if due_s is not None and now <= due_s < told:
        return True
    return now < (told - since_told_s) * FORECAST_MOVED


def service_subjects() -> tuple[str, ...]:
    """Alerts a cause explains: a service down under a platform outage, our network, the
    budget; one a service the registry's probes speak for."""
    return tuple(named(Family.SERVICE, name) for name in services())


def _absorb(
    conds: dict[str, Condition], opens: Mapping[str, Alert], now: datetime
) -> tuple[dict[str, Condition], list[AlertAction], dict[str, set[str]]]:
    """The alerts an active cause explains are part of it: they close without a word, and the
    cause's alert dates from the first of them and names them. Also: each cause's key with
    the keys it took in."""
    merged = dict(conds)
    closed: list[AlertAction] = []
    took: dict[str, set[str]] = {}
    for key, cause in conds.items():
        explains = cause.absorbs or (service_subjects() if cause.folds_others else ())
        if not cause.active or not explains:
            continue
        subjects = {alert_key(cause.project, s) for s in explains}
        gone = [a for k, a in opens.items() if k in subjects and k != key]
        gone = [a for a in gone if all(a.key != c.alert.key for c in closed)]
        if not gone:
            continue
        since = min(a.opened_at for a in gone)
        earliest = since if cause.since is None else min(since, cause.since)
        merged[key] = replace(cause, part_of=tuple(a.title for a in gone), since=earliest)
        note = f"part of: {cause.title}"
        closed += [
            AlertAction("resolve", replace(a, closed_at=now), send=False, note=note) for a in gone
        ]
        took[key] = {a.key for a in gone}
    return merged, closed, took


def _owned(key: str, project: str, live: Mapping[str, object]) -> bool:
    """Whether a state entry belongs to this project but to no live condition or alert."""
    return key.startswith(f"{project}:") and key not in live


@dataclass(frozen=True)
class _Cycle:
    """What every decision of one evaluation shares."""

    settings: AlertingSettings
    now: datetime
    silence: Silence | None
    acked: frozenset[str] = frozenset()

    def active(self, cond: Condition, alert: Alert | None, since: datetime) -> AlertAction | None:
        """Open, update or remind for an active condition."""
        if alert is None:
            if cond.severity is Severity.INFO:
                return None  # an easing state (a budget refilling) opens nothing
            critical = cond.severity is Severity.CRITICAL
            if critical or self.now - since >= self.settings.min_duration:
                began = min(since, cond.since) if cond.since is not None else since
                return self._action("open", cond, began, None, None)
            return None
        if cond.severity is Severity.INFO:  # eased: said once at most, never reminded
            return None if alert.severity is Severity.INFO else self._eased(cond, alert)
        if _RANK[cond.severity] > _RANK[alert.severity]:
            was = None if alert.severity is Severity.INFO else alert.severity  # eased: news
            return self._action("update", cond, alert.opened_at, alert, was)
        if _RANK[cond.severity] < _RANK[alert.severity]:
            # Said nothing of: the alert keeps the cause the person was told, so its resolve
            # names that cause, not a passing state on the way out (an outage ending in an
            # "unknown" cycle).
            lowered = replace(alert, severity=cond.severity)
            return AlertAction("update", lowered, send=False, note="severity lowered")
        if cond.cause != alert.cause:
            action = self._action("update", cond, alert.opened_at, alert, None)
            return replace(action, was=alert.title)
        told_at = alert.last_sent_at or alert.opened_at
        since_told = (self.now - told_at).total_seconds()
        moved = _forecast_moved(alert.eta_s, cond.eta_s, since_told, due_s=cond.due_s)
        if moved and self._quiet_since(alert, FORECAST_QUIET):
            return self._action("update", cond, alert.opened_at, alert, None)
        if self._reminder_due(alert):
            action = self._action("remind", cond, alert.opened_at, alert, None)
            return replace(action, held_back=alert.last_sent_at is None)
        return None

    def _eased(self, cond: Condition, alert: Alert) -> AlertAction:
        """An open alert eased to INFO (a budget refilling). After "used up" or "failing" the
        person is told, once, as good news; a forecast's warning eases without a word (a
        night's refill of a day/night load is no news) and its RESOLVED says the rest."""
        if alert.cause in TOLD_EASING:
            action = self._action("update", cond, alert.opened_at, alert, None)
            return replace(action, was=alert.title, good_news=action.send)
        lowered = replace(alert, severity=Severity.INFO)
        return AlertAction("update", lowered, send=False, note="eased")

    def inactive(self, alert: Alert, since: datetime) -> AlertAction | None:
        """Resolve an open alert whose condition has stayed inactive long enough."""
        if self.now - since < self.settings.resolve_after:
            return None
        closed = replace(alert, closed_at=self.now)
        ended = max(since, alert.opened_at)
        if alert.last_sent_at is None:
            return AlertAction("resolve", closed, send=False, note="never sent", ended_at=ended)
        return self._maybe_silenced(AlertAction("resolve", closed, ended_at=ended))

    def _quiet_since(self, alert: Alert, long: timedelta) -> bool:
        """Nothing was sent about this alert for ``long``."""
        return alert.last_sent_at is None or self.now - alert.last_sent_at >= long

    def _reminder_due(self, alert: Alert) -> bool:
        if self.silence is not None or alert.key in self.acked:
            return False
        if alert.last_sent_at is None:
            return True  # opened under a silence that has ended: say it now
        critical = alert.severity is Severity.CRITICAL
        every = self.settings.remind_critical if critical else self.settings.remind_warning
        return every is not None and self.now - alert.last_sent_at >= every

    def _action(
        self,
        kind: ActionKind,
        cond: Condition,
        opened_at: datetime,
        alert: Alert | None,
        previous: Severity | None,
    ) -> AlertAction:
        sent_at = alert.last_sent_at if alert is not None else None
        record = Alert(
            key=cond.key,
            project=cond.project,
            severity=cond.severity,
            title=cond.title,
            body=cond.body,
            opened_at=opened_at,
            last_sent_at=sent_at if self.silence is not None else self.now,
            cause=cond.cause,
            eta_s=cond.eta_s,
            part_of=cond.part_of,
        )
        return self._maybe_silenced(AlertAction(kind, record, previous=previous))

    def _maybe_silenced(self, action: AlertAction) -> AlertAction:
        if self.silence is None:
            return action
        by = self.silence
        note = f"silenced by #{by.id} until {by.ends_at:%Y-%m-%d %H:%M} UTC: {by.reason}"
        return replace(action, send=False, note=note)
