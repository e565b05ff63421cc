"""Maintenance windows, acknowledgements and passing criticals on, as pure decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sbwatch.alerting.words import decision_reason
from sbwatch.config.oncall import MaintenanceSettings
from sbwatch.config.settings import AlertingSettings
from sbwatch.core.oncall import MaintenanceWindow
from sbwatch.core.results import Alert, DiagnosisKind, Severity, Silence
from sbwatch.core.tiers import Tier
from sbwatch.policy.alerts import AlertAction, Condition, PolicyState, evaluate
from sbwatch.policy.escalation import EscalationDecision, Reason, Why
from sbwatch.policy.oncall import (
    after_period,
    config_windows,
    due_escalations,
    during_maintenance,
    in_force,
    just_ended,
    next_config_start,
)

P = "abcdefghijklmnopqrst"
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
SETTINGS = AlertingSettings(
    remind_critical=timedelta(hours=1), min_duration=timedelta(0), resolve_after=timedelta(0)
)
DOWN = Condition(P, "service:rest", Severity.CRITICAL, "rest is down", "REST answers 522", True)


def minutes(n: float) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=n)


def window(start: float = 0, end: float = 30, project: str = P) -> MaintenanceWindow:
    """A window from T0+start to T0+end minutes."""
    return MaintenanceWindow(7, project, minutes(start), minutes(end), "db migration", "ann")


def as_silence(w: MaintenanceWindow) -> Silence:
    """A window as the announcer hands it to the alert policy."""
    return Silence(w.id, w.project, w.starts_at, w.ends_at, f"maintenance: {w.reason}")


class Cycles:
    """Cycles of the alert policy, with its actions applied as the announcer does."""

    def __init__(self, silences: list[Silence] | None = None) -> None:
        self.silences = silences or []
        self.alerts: dict[str, Alert] = {}
        self.state = PolicyState()

    def at(self, n: float, *conds: Condition, acked: set[str] | None = None) -> list[AlertAction]:
        """Evaluate at T0 + n minutes."""
        opened = [a for a in self.alerts.values() if a.closed_at is None]
        actions, self.state = evaluate(
            P, conds, opened, self.silences, SETTINGS, self.state, minutes(n), acked=acked or ()
        )
        for action in actions:
            self.alerts[action.alert.key] = action.alert
        return actions


def test_an_outage_in_a_window_is_recorded_unsent_then_pages_once_it_ends() -> None:
    """Inside the window the critical opens without a message; at the first cycle after the
    window it is sent, as a page (critical), not as a note."""
    run = Cycles([as_silence(window())])
    inside = run.at(5, DOWN)
    assert [("open", False)] == [(a.kind, a.send) for a in inside]
    assert [] == run.at(29, DOWN)
    after = run.at(30, DOWN)
    assert [("remind", True, Severity.CRITICAL)] == [(a.kind, a.send, a.severity) for a in after]


def test_an_outage_over_within_the_window_is_never_sent() -> None:
    """Opened and resolved inside the window: neither is sent, then or after."""
    run = Cycles([as_silence(window())])
    run.at(5, DOWN)
    closed = run.at(10, Condition(P, "service:rest", Severity.CRITICAL, "rest is down", "", False))
    assert [("resolve", False)] == [(a.kind, a.send) for a in closed]
    assert [] == run.at(31)


def test_an_acknowledged_alert_is_not_reminded_of() -> None:
    """A reminder falls due after remind_critical; not for an acknowledged alert."""
    run = Cycles()
    run.at(0, DOWN)
    assert [] == run.at(61, DOWN, acked={DOWN.key})
    assert ["remind"] == [a.kind for a in run.at(62, DOWN)]


def test_an_acknowledged_alert_still_says_a_new_cause() -> None:
    """An ack stops reminders, not news: a new cause is still sent."""
    run = Cycles()
    run.at(0, DOWN)
    moved = Condition(P, "service:rest", Severity.CRITICAL, "platform outage", "", True, cause="x")
    assert [("update", True)] == [(a.kind, a.send) for a in run.at(5, moved, acked={DOWN.key})]


def test_windows_in_force_and_just_ended() -> None:
    """A window holds its project (or every project for '*') from its start to its end; it is
    named for the first reminder period after its end."""
    ours, everyone, other = window(), window(40, 50, "*"), window(0, 120, "b" * 20)
    windows = [ours, everyone, other]
    period = after_period(SETTINGS)
    assert (ours, None, everyone) == (
        in_force(P, windows, minutes(0)),
        in_force(P, windows, minutes(30)),
        in_force(P, windows, minutes(45)),
    )
    assert (None, ours, ours, everyone, None) == (
        just_ended(P, windows, minutes(29), period),
        just_ended(P, windows, minutes(30), period),
        just_ended(P, windows, minutes(39), period),
        just_ended(P, windows, minutes(50), period),
        just_ended(P, windows, minutes(110), period),
    )


def test_a_repeating_window_is_its_latest_start() -> None:
    """A cron window is the span from its last start; before its first start there is none
    in force, and the next start is the schedule's next time."""
    entry = MaintenanceSettings(
        project="shop", cron="0 10 * * *", duration=timedelta(minutes=30), timezone="UTC"
    )
    [inside] = config_windows([entry], {"shop": P}, minutes(10))
    assert (P, T0, minutes(30), -1) == (inside.project, inside.starts_at, inside.ends_at, inside.id)
    [before] = config_windows([entry], {"shop": P}, minutes(-1))
    assert (None, T0) == (in_force(P, [before], minutes(-1)), next_config_start(entry, minutes(-1)))


def test_no_compute_change_is_asked_or_made_in_a_window() -> None:
    """ask and escalate become none with the window in the reason; outside it nothing changes."""
    kind = DiagnosisKind.IO_BUDGET_LOW
    asked = EscalationDecision("ask", Tier.SMALL, Reason(Why.ASK, kind), 5.0, Tier.MICRO)
    made = EscalationDecision("escalate", Tier.SMALL, Reason(Why.RAISE, kind), 5.0, Tier.MICRO)
    held = during_maintenance(asked, window())
    assert ("none", Why.MAINTENANCE, Tier.SMALL) == (held.action, held.reason.why, held.target)
    assert (
        "maintenance until 2026-06-01 10:30 UTC (db migration): no change now; would raise "
        "micro -> small (+$5.00/month)"
    ) == decision_reason(held, "x")
    assert ("none", asked) == (
        during_maintenance(made, window()).action,
        during_maintenance(asked, None),
    )


def _alert(opened: float = 0, severity: Severity = Severity.CRITICAL) -> Alert:
    return Alert(f"{P}:service:rest", P, severity, "rest is down", "", minutes(opened), minutes(1))


def test_a_critical_is_passed_on_after_escalate_after_unless_taken() -> None:
    """Due escalate_after after its page; never before, never when acknowledged, passed on
    before, closed, a warning, or never paged."""
    alert = _alert()
    ident = (alert.key, alert.opened_at)
    paged = {alert.key: minutes(1)}
    closed = Alert(alert.key, P, Severity.CRITICAL, "t", "", T0, minutes(1), minutes(5))

    def due(
        now: float,
        alerts: list[Alert] | None = None,
        acked: frozenset[tuple[str, datetime]] = frozenset(),
        passed_on: frozenset[tuple[str, datetime]] = frozenset(),
        pages: dict[str, datetime] = paged,
    ) -> list[Alert]:
        return due_escalations(
            alerts or [alert],
            pages,
            acked=acked,
            passed_on=passed_on,
            after=timedelta(minutes=15),
            now=minutes(now),
        )

    assert ([], [alert]) == (due(15.9), due(16))
    assert ([], []) == (due(30, acked=frozenset({ident})), due(30, passed_on=frozenset({ident})))
    assert ([], [], []) == (
        due(30, [closed]),
        due(30, [_alert(severity=Severity.WARNING)]),
        due(30, pages={}),
    )
