"""Tables for the alerting policy: flapping, dedupe, updates, reminders, resolve, silences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from sbwatch.alerting.messages import render
from sbwatch.alerting.phone import Message, Target
from sbwatch.config.settings import AlertingSettings
from sbwatch.core.results import Alert, Severity, Silence
from sbwatch.policy.alerts import (
    AlertAction,
    Condition,
    PolicyState,
    evaluate,
    notice,
)

P = "abcdefghijklmnopqrst"
T0 = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
SETTINGS = AlertingSettings(
    remind_warning=timedelta(hours=12),
    remind_critical=timedelta(hours=1),
    min_duration=timedelta(minutes=2),
    resolve_after=timedelta(minutes=5),
)
W, C = Severity.WARNING, Severity.CRITICAL


def said(action: AlertAction, now: datetime, target: Target | None = None) -> Message:
    """What the phone shows for one action at ``now``."""
    return render(action, target or Target(P), now)


def cond(
    subject: str = "budget", severity: Severity = W, active: bool = True, folds: bool = False
) -> Condition:
    """A condition of project P."""
    return Condition(P, subject, severity, f"{subject} problem", "sbwatch did X", active, folds)


@dataclass
class Run:
    """Replays cycles through the policy, applying actions like the app would."""

    silences: list[Silence] = field(default_factory=list)
    alerts: dict[str, Alert] = field(default_factory=dict)
    state: PolicyState = field(default_factory=PolicyState)
    settings: AlertingSettings = SETTINGS

    def at(self, minutes: float, *conditions: Condition) -> list[AlertAction]:
        """Evaluate at T0 + minutes and apply the actions."""
        now = T0 + timedelta(minutes=minutes)
        opened = [a for a in self.alerts.values() if a.closed_at is None]
        actions, state = evaluate(
            P,
            conditions,
            opened,
            self.silences,
            self.settings,
            PolicyState.from_dict(self.state.to_dict()),
            now,
        )
        self.state = state
        for action in actions:
            self.alerts[action.alert.key] = action.alert
        return actions


def kinds(actions: Sequence[AlertAction]) -> list[tuple[str, str, bool]]:
    """(kind, key subject, send) of each action."""
    return [(a.kind, a.alert.key.split(":", 1)[1], a.send) for a in actions]


# (minute, conditions, expected actions), replayed in order
FLAPPING = [
    (0, [cond()], []),
    (1, [cond(active=False)], []),
    (1.5, [cond()], []),
    (3, [cond()], []),
    (3.5, [cond()], [("open", "budget", True)]),
]
CRITICAL_AT_ONCE = [(0, [cond(severity=C)], [("open", "budget", True)])]
DEDUPE_AND_REMIND = [
    (0, [cond(severity=C)], [("open", "budget", True)]),
    (30, [cond(severity=C)], []),
    (59, [cond(severity=C)], []),
    (60, [cond(severity=C)], [("remind", "budget", True)]),
    (90, [cond(severity=C)], []),
    (120, [cond(severity=C)], [("remind", "budget", True)]),
]
WARNING_REMIND = [
    (0, [cond()], []),
    (2, [cond()], [("open", "budget", True)]),
    (2 + 60 * 11, [cond()], []),
    (2 + 60 * 12, [cond()], [("remind", "budget", True)]),
]
SEVERITY = [
    (0, [cond()], []),
    (2, [cond()], [("open", "budget", True)]),
    (3, [cond(severity=C)], [("update", "budget", True)]),
    (4, [cond(severity=C)], []),
    (5, [cond()], [("update", "budget", False)]),
    (6, [cond()], []),
]
RESOLVE = [
    (0, [cond(severity=C)], [("open", "budget", True)]),
    (1, [cond(active=False)], []),
    (5, [], []),
    (5.5, [cond(severity=C)], []),
    (6, [cond(active=False)], []),
    (10.9, [], []),
    (11, [], [("resolve", "budget", True)]),
    (12, [], []),
]
FOLDING = [
    (
        0,
        [cond("diagnosis", C, folds=True), cond("budget", C), cond("mail", C)],
        [("open", "diagnosis", True)],
    ),
    (10, [cond("diagnosis", C, folds=True), cond("budget", C)], []),
    (11, [cond("diagnosis", C, active=False), cond("budget", C)], [("open", "budget", True)]),
]


@pytest.mark.parametrize(
    "table",
    [FLAPPING, CRITICAL_AT_ONCE, DEDUPE_AND_REMIND, WARNING_REMIND, SEVERITY, RESOLVE, FOLDING],
    ids=[
        "flapping",
        "critical",
        "dedupe-remind",
        "warning-remind",
        "severity",
        "resolve",
        "folding",
    ],
)
def test_policy_tables(
    table: list[tuple[float, list[Condition], list[tuple[str, str, bool]]]],
) -> None:
    """Each cycle of the table yields exactly the expected actions."""
    run = Run()
    for minute, conditions, expected in table:
        assert (minute, expected) == (minute, kinds(run.at(minute, *conditions)))


def test_default_warning_is_sent_once_then_only_turns_critical_or_resolves() -> None:
    """By default warnings are not reminded (remind_warning = "never"); criticals are, after
    four hours of quiet."""
    run = Run(settings=AlertingSettings())
    assert run.settings.remind_warning is None
    assert [] == kinds(run.at(0, cond()))
    assert [("open", "budget", True)] == kinds(run.at(2, cond()))
    for day in range(1, 6):
        assert [] == kinds(run.at(2 + 60 * 24 * day, cond()))
    start = 2 + 60 * 24 * 5 + 1
    assert [("update", "budget", True)] == kinds(run.at(start, cond(severity=C)))
    assert [] == kinds(run.at(start + 60 * 4 - 1, cond(severity=C)))
    assert [("remind", "budget", True)] == kinds(run.at(start + 60 * 4, cond(severity=C)))


@pytest.mark.parametrize("text", ["never", "Never", "12h"])
def test_remind_interval_accepts_never_or_a_duration(text: str) -> None:
    """ "never" turns reminders off; a duration sets their interval."""
    settings = AlertingSettings.model_validate({"remind_warning": text, "remind_critical": text})
    expected = None if text.lower() == "never" else timedelta(hours=12)
    assert (expected, expected) == (settings.remind_warning, settings.remind_critical)


@pytest.mark.parametrize("text", ["0s", "-1h", "sometimes"])
def test_remind_interval_rejects_nonsense(text: str) -> None:
    """Zero, negative and unknown words are refused, naming the field."""
    with pytest.raises(ValueError, match="remind_warning"):
        AlertingSettings.model_validate({"remind_warning": text})


def test_folded_open_alert_neither_reminds_nor_resolves() -> None:
    """An open alert of another subject is frozen while a folding condition lasts."""
    run = Run()
    run.at(0, cond("budget", C))
    assert [("open", "diagnosis", True)] == kinds(run.at(70, cond("diagnosis", C, folds=True)))
    assert [("remind", "budget", True)] == kinds(
        run.at(71, cond("diagnosis", C, active=False), cond("budget", C))
    )


def test_a_held_condition_keeps_its_open_alert_and_opens_none() -> None:
    """A failure whose cause is awaited: the open alert of a service that failed again does
    not resolve while it is held (its resolve wait starts again after), and a held subject
    with no open alert opens nothing."""
    run = Run()
    run.at(0, cond("service:rest", C))
    run.at(10, cond("service:rest", C, active=False))  # answering again: the wait begins
    held = replace(cond("service:rest", C, active=False), held=True)
    assert [] == kinds(run.at(14, held, replace(cond("service:db", C, active=False), held=True)))
    assert [] == kinds(run.at(16, held))  # past the resolve wait counted from minute 10
    assert [] == kinds(run.at(18, cond("service:rest", C, active=False)))
    assert [("resolve", "service:rest", True)] == kinds(
        run.at(23, cond("service:rest", C, active=False))
    )
    assert [f"{P}:service:rest"] == sorted(run.alerts)


def test_a_paged_alert_turning_critical_again_is_a_note() -> None:
    """auth down pages; the CPU cause takes it in (a note); a resize lowers the cause to a
    warning; critical again is a note: one page while the person is on it. Eased to a plain
    warning (nothing failing), the next failure is news and pages; so does one after the
    cause resolved."""
    run = Run()
    (page,) = run.at(0, cond("service:auth", C))
    assert (page.kind, page.severity) == ("open", C)
    cause = replace(cond("diagnosis", C), absorbs=("service:auth",))
    taken = run.at(5, cause)
    assert [("resolve", "service:auth", False), ("open", "diagnosis", True)] == kinds(taken)
    assert W == taken[1].severity  # a note: auth paged already
    run.at(60, cond("diagnosis", W, folds=True))  # a resize restarts the services
    (again,) = run.at(70, cond("diagnosis", C))
    assert ("update", W) == (again.kind, again.severity)
    run.at(75, cond("diagnosis", W))  # eased: nothing fails now
    (news,) = run.at(78, cond("diagnosis", C))
    assert ("update", C) == (news.kind, news.severity)
    run.at(80, cond("diagnosis", C, active=False))
    assert ["resolve"] == [a.kind for a in run.at(90, cond("diagnosis", C, active=False))]
    (fresh,) = run.at(100, cond("service:rest", C))
    assert ("open", C) == (fresh.kind, fresh.severity)


def test_a_service_failing_on_through_a_resize_pages_once() -> None:
    """db down pages; a resize takes it in, though its own warning waits out min_duration
    before it opens; the resize ends with db still down: db's alert opens again as a note,
    not a second page for the same failure."""
    run = Run()
    db = replace(cond("service:db", C), absorbs=("diagnosis",))
    (page,) = run.at(0, db)
    assert (page.kind, page.severity) == ("open", C)
    resize = replace(cond("diagnosis", W, folds=True), absorbs=("service:db",))
    assert [("resolve", "service:db", False)] == kinds(run.at(10, resize))
    assert [("open", "diagnosis", True)] == kinds(run.at(12, resize))
    again = run.at(14, db)
    assert [("resolve", "diagnosis", False), ("open", "service:db", W)] == [
        (a.kind, a.alert.key.split(":", 1)[1], a.severity if a.send else False) for a in again
    ]


def test_the_pages_made_are_kept_between_cycles() -> None:
    """The policy state carries the alerts that paged through its dict form."""
    state = PolicyState(paged=frozenset({f"{P}:diagnosis"}))
    assert state == PolicyState.from_dict(state.to_dict())


def test_silence_records_without_sending_then_sends_when_it_ends() -> None:
    """Under a silence the alert opens unsent; once the silence ends it is sent as a reminder."""
    silence = Silence(3, "*", T0, T0 + timedelta(hours=1), "deploy")
    run = Run(silences=[silence])
    actions = run.at(0, cond(severity=C))
    assert [("open", "budget", False)] == kinds(actions)
    assert "silenced by #3" in actions[0].note
    assert None is actions[0].alert.last_sent_at
    assert [] == kinds(run.at(30, cond(severity=C)))
    assert [("remind", "budget", True)] == kinds(run.at(60, cond(severity=C)))


def test_silence_of_another_project_does_not_apply() -> None:
    """A silence for another project leaves this one's alerts sent."""
    run = Run(silences=[Silence(1, "zzzzzzzzzzzzzzzzzzzz", T0, T0 + timedelta(hours=1), "x")])
    assert [("open", "budget", True)] == kinds(run.at(0, cond(severity=C)))


def test_resolve_under_silence_and_never_sent_are_quiet() -> None:
    """An alert that was never sent resolves without a message."""
    run = Run(silences=[Silence(1, P, T0, T0 + timedelta(days=1), "x")])
    run.at(0, cond(severity=C))
    run.at(10, cond(active=False))
    assert [("resolve", "budget", False)] == kinds(run.at(15, cond(active=False)))


def test_resolve_message_says_how_long_it_lasted() -> None:
    """The resolve message counts from onset to the problem's end, not to the resolve wait."""
    run = Run()
    run.at(0, cond(severity=C))
    run.at(40, cond(active=False))
    (action,) = run.at(45, cond(active=False))
    message = said(action, T0 + timedelta(minutes=45))
    assert "RESOLVED abcdefghijklmnopqrst: budget problem (lasted 40m)" == message.title
    assert message.body.endswith("Lasted 40m: 2026-05-20 12:00 to 12:40 UTC.")
    assert message.good_news
    assert T0 + timedelta(minutes=45) == action.alert.closed_at


def test_open_time_is_when_the_condition_started() -> None:
    """An alert opened after min_duration dates from the first active cycle."""
    run = Run()
    run.at(0, cond())
    (action,) = run.at(2, cond())
    assert T0 == action.alert.opened_at
    assert T0 + timedelta(minutes=2) == action.alert.last_sent_at


def test_state_round_trips_and_forgets_stale_keys() -> None:
    """PolicyState survives to_dict/from_dict and drops timers of vanished conditions."""
    run = Run()
    run.at(0, cond("budget"), cond("mail"))
    assert {f"{P}:budget", f"{P}:mail"} == set(run.state.first_seen)
    run.at(1, cond("budget"))
    assert {f"{P}:budget": T0} == dict(run.state.first_seen)
    assert run.state == PolicyState.from_dict(run.state.to_dict())


def test_other_projects_state_is_kept() -> None:
    """Evaluating one project keeps the timers of the others."""
    other = PolicyState(first_seen={"zzzzzzzzzzzzzzzzzzzz:budget": T0})
    _, state = evaluate(P, [cond()], [], [], SETTINGS, other, T0)
    assert {"zzzzzzzzzzzzzzzzzzzz:budget": T0, f"{P}:budget": T0} == dict(state.first_seen)


def test_messages_carry_name_command_and_dashboard() -> None:
    """The message has the display name, the body's command verbatim, and the dashboard link."""
    c = replace(
        cond(severity=C),
        body="Budget at 0%.\nTo raise compute run:\n  sbwatch escalate abc --to small",
    )
    target = Target("Shop DB", "https://supabase.com/dashboard/project/abc")
    (action,) = evaluate(P, [c], [], [], SETTINGS, PolicyState(), T0)[0]
    message = said(action, T0, target)
    assert "CRITICAL Shop DB: budget problem" == message.title
    expected = (
        "Budget at 0%.\nTo raise compute run:\n  sbwatch escalate abc --to small\n"
        "Since 2026-05-20 12:00 UTC (0s).\nDashboard: https://supabase.com/dashboard/project/abc"
    )
    assert expected == message.body


def test_update_title_names_previous_severity() -> None:
    """A severity increase says what it was."""
    run = Run()
    run.at(0, cond())
    run.at(2, cond())
    (action,) = run.at(3, cond(severity=C))
    title = said(action, T0 + timedelta(minutes=3)).title
    assert "CRITICAL (was warning) abcdefghijklmnopqrst: budget problem" == title


def test_notice_is_one_shot() -> None:
    """A notice is a closed alert, sent once."""
    action = notice(P, "escalation", Severity.INFO, "Compute raised to small", "Took 3m.", T0)
    assert ("notice", T0, True) == (action.kind, action.alert.closed_at, action.send)
    assert Message("INFO abcdefghijklmnopqrst: Compute raised to small", "Took 3m.") == said(
        action, T0
    )


def test_a_new_cause_is_said_again_with_what_it_was() -> None:
    """auth down turns out to be a platform outage: the open alert is updated and sent."""
    run = Run()
    first = replace(cond("diagnosis", C), title="auth is down", cause="service_down:auth")
    run.at(0, first)
    outage = replace(first, title="Supabase platform outage", cause="platform_outage")
    (action,) = run.at(1, outage)
    message = said(action, T0 + timedelta(minutes=1))
    assert ("update", True) == (action.kind, action.send)
    assert "CRITICAL abcdefghijklmnopqrst: now Supabase platform outage" == message.title
    assert "Before: auth is down" in message.body
    assert "Supabase platform outage" == run.alerts[f"{P}:diagnosis"].title
    assert [] == run.at(2, outage)


def test_a_forecast_that_moved_is_said_again_at_most_hourly() -> None:
    """The budget warning's figures follow the forecast when it comes nearer than told (under
    half of what the one told leaves by now), not every scrape, and at most hourly."""
    run = Run()
    run.at(0, replace(cond(), eta_s=86_400.0))
    run.at(2, replace(cond(), eta_s=86_400.0))  # told: ~1d, from minute 2
    assert [] == run.at(30, replace(cond(), eta_s=50_000.0))  # 84,720 s left as told
    assert [] == run.at(90, replace(cond(), eta_s=60_000.0))
    (action,) = run.at(120, replace(cond(), eta_s=35_000.0))  # under half of 79,320 s
    assert ("update", 35_000.0) == (action.kind, action.alert.eta_s)
    assert [] == run.at(150, replace(cond(), eta_s=15_000.0))  # moved, but within the hour
    assert ["update"] == [a.kind for a in run.at(190, replace(cond(), eta_s=15_000.0))]


def test_a_forecast_counting_down_as_told_is_not_said_again() -> None:
    """Told "runs out in ~6h" at minute 2: three and five hours on, the forecast reads the
    same moment (~3h, ~1h): no news, nothing sent; it comes an hour nearer: said."""
    run = Run()
    run.at(0, replace(cond(), eta_s=21_600.0))
    assert ["open"] == [a.kind for a in run.at(2, replace(cond(), eta_s=21_600.0))]
    assert [] == run.at(182, replace(cond(), eta_s=10_800.0))
    assert [] == run.at(302, replace(cond(), eta_s=3_600.0))
    (action,) = run.at(312, replace(cond(), eta_s=1_200.0))  # 3,000 s left as told
    assert ("update", 1_200.0) == (action.kind, action.alert.eta_s)


def test_a_forecast_the_person_must_act_on_gets_one_last_call() -> None:
    """sbwatch will not raise the size itself (a cap, ``ask`` mode): the person's change is
    due two hours before it runs out. Told "~6h" at minute 2, the countdown on schedule is no
    news until the time left comes within those two hours: said once more, then no more."""
    run = Run()
    must_act = replace(cond(), due_s=7_200.0)
    run.at(0, replace(must_act, eta_s=21_600.0))
    run.at(2, replace(must_act, eta_s=21_600.0))
    assert [] == run.at(182, replace(must_act, eta_s=10_800.0))
    assert [] == run.at(240, replace(must_act, eta_s=7_300.0))
    (action,) = run.at(242, replace(must_act, eta_s=7_100.0))
    assert ("update", 7_100.0) == (action.kind, action.alert.eta_s)
    assert [] == run.at(320, replace(must_act, eta_s=2_400.0))
    assert [] == run.at(350, replace(must_act, eta_s=600.0))


def test_a_forecast_whose_moment_passed_is_said_as_it_stands() -> None:
    """Told "runs out in ~40m" at 0 (min_duration 2 minutes: sent at 2); three hours on it has
    not run out (limits above the published ones, a size changed since) and the forecast
    reads 3h: that is said, once; the moment it names has not passed yet, so no more."""
    run = Run()
    run.at(0, replace(cond(), eta_s=2400.0))
    assert ["open"] == [a.kind for a in run.at(2, replace(cond(), eta_s=2400.0))]
    assert [] == run.at(30, replace(cond(), eta_s=10_800.0))  # still within the moment told
    (action,) = run.at(180, replace(cond(), eta_s=10_800.0))
    assert ("update", 10_800.0) == (action.kind, action.alert.eta_s)
    assert [] == run.at(300, replace(cond(), eta_s=10_800.0))


def test_a_used_up_budget_refilling_is_said_once_as_good_news() -> None:
    """Told "used up"; the load drops under the baseline and only the latch keeps the alert
    (INFO): that is said once, as good news, and never reminded; a new drain is a plain
    warning again, not "was info"."""
    run = Run()
    used_up = replace(cond("io_budget"), title="used up", cause="used_up")
    run.at(0, used_up)
    run.at(2, used_up)
    refilling = replace(used_up, severity=Severity.INFO, title="refilling", cause="draining")
    (action,) = run.at(10, refilling)
    message = said(action, T0 + timedelta(minutes=10))
    assert ("update", True, True) == (action.kind, action.send, message.good_news)
    assert "INFO abcdefghijklmnopqrst: now refilling" == message.title
    assert "Before: used up" in message.body
    assert [] == run.at(20, replace(refilling, cause="used_up"))  # said once
    assert [] == run.at(24 * 60, refilling)  # never reminded
    draining = replace(used_up, title="runs out in ~40m", cause="draining")
    (again,) = run.at(25 * 60, draining)
    assert "WARNING abcdefghijklmnopqrst: runs out in ~40m" == said(again, T0).title


def test_a_forecast_eased_to_refilling_waits_for_its_resolve() -> None:
    """A forecast's warning whose budget now refills (a night of a day/night load) eases
    without a word; its RESOLVED comes once the latch lets go."""
    run = Run()
    draining = replace(cond("io_budget"), title="runs out in ~1d", cause="draining")
    run.at(0, draining)
    run.at(2, draining)
    (eased,) = run.at(10, replace(draining, severity=Severity.INFO, title="refilling"))
    assert (False, Severity.INFO, "runs out in ~1d") == (
        eased.send,
        eased.alert.severity,
        eased.alert.title,
    )
    run.at(60, replace(draining, active=False))
    (resolved,) = run.at(70, replace(draining, active=False))
    assert ("resolve", True) == (resolved.kind, resolved.send)


def test_an_easing_state_opens_nothing() -> None:
    """A budget refilling with no alert open (none was said) is nothing to tell."""
    run = Run()
    refilling = replace(cond("io_budget"), severity=Severity.INFO)
    assert [] == run.at(0, refilling)
    assert [] == run.at(10, refilling)


def test_a_used_up_forecast_is_reminded_not_updated() -> None:
    """A budget at zero (ETA 0) cannot halve: the hourly message is a reminder, "STILL", not
    an update saying the same title again every hour."""
    run = Run()
    run.at(0, replace(cond("io_budget", C), eta_s=0.0))
    assert [] == run.at(30, replace(cond("io_budget", C), eta_s=0.0))
    assert ["remind"] == [a.kind for a in run.at(61, replace(cond("io_budget", C), eta_s=0.0))]


def test_a_passing_lower_state_does_not_rename_the_alert() -> None:
    """An outage that ends through one 'unknown' cycle resolves as the outage it was."""
    run = Run()
    outage = replace(cond("diagnosis", C), title="Supabase platform outage", cause="platform")
    run.at(0, outage)
    passing = replace(cond("diagnosis", W), title="unknown reason", cause="unknown")
    (lowered,) = run.at(1, passing)
    assert (False, "Supabase platform outage") == (lowered.send, lowered.alert.title)
    run.at(2, replace(outage, active=False))
    (resolved,) = run.at(8, replace(outage, active=False))
    assert said(resolved, T0 + timedelta(minutes=8)).title.startswith(
        "RESOLVED abcdefghijklmnopqrst: Supabase platform outage (lasted 2m)"
    )


def test_a_platform_outage_takes_in_the_services_it_explains() -> None:
    """Rest already alerted as down, then the outage: rest's alert closes without a word, the
    outage names it and dates from it."""
    run = Run()
    run.at(0, replace(cond("service:rest", C), title="rest is down", cause="service_down:rest"))
    outage = replace(cond("diagnosis", C), title="Supabase platform outage", folds_others=True)
    actions = run.at(3, outage)
    assert [("resolve", "service:rest", False), ("open", "diagnosis", True)] == kinds(actions)
    opened = actions[-1].alert
    assert (T0, ("rest is down",)) == (opened.opened_at, opened.part_of)
    assert said(actions[-1], T0 + timedelta(minutes=3)).body.startswith(
        "sbwatch did X\nPart of it: rest is down.\nSince "
    )


def test_a_resolve_of_an_alert_stored_before_keeps_what_it_took_in() -> None:
    """An alert stored by an older version has its part-of line in its body: its RESOLVED
    names what ended, as one stored since names it from ``part_of``."""
    old = Alert(
        f"{P}:diagnosis",
        P,
        C,
        "Supabase platform outage",
        "status page indicator major\nPart of it: rest is down.",
        T0,
        last_sent_at=T0,
    )
    new = replace(old, body="status page indicator major", part_of=("rest is down",))
    ended = T0 + timedelta(minutes=20)
    bodies = {
        said(AlertAction("resolve", replace(a, closed_at=ended), ended_at=ended), ended).body
        for a in (old, new)
    }
    assert {"Part of it: rest is down.\nLasted 20m: 2026-05-20 12:00 to 12:20 UTC."} == bodies


def severities(actions: Sequence[AlertAction]) -> list[tuple[str, str, Severity]]:
    """(kind, key subject, severity sent) of each sent action."""
    return [(a.kind, a.alert.key.split(":", 1)[1], a.severity) for a in actions if a.send]


def test_a_critical_pages_once_and_its_reminders_are_notes() -> None:
    """The open pages; the hourly reminder of the still critical alert is sent as a warning
    (a note to someone already paged), and says it is still critical."""
    run = Run()
    assert [("open", "budget", C)] == severities(run.at(0, cond(severity=C)))
    (remind,) = run.at(60, cond(severity=C))
    assert ("remind", W, C) == (remind.kind, remind.severity, remind.alert.severity)
    assert said(remind, T0 + timedelta(minutes=60)).title.startswith("STILL CRITICAL")


def test_a_second_critical_of_a_paged_project_is_a_note() -> None:
    """rest down pages; db down a minute later, while rest's page stands, is a note; once
    every critical has closed, the next one pages again."""
    run = Run()
    rest = replace(cond("service:rest", C), title="rest is down")
    db = replace(cond("service:db", C), title="db is down")
    assert [("open", "service:rest", C)] == severities(run.at(0, rest))
    assert [("open", "service:db", W)] == severities(run.at(1, rest, db))
    run.at(2, replace(rest, active=False), replace(db, active=False))
    closed = run.at(8, replace(rest, active=False), replace(db, active=False))
    assert {"resolve"} == {a.kind for a in closed}
    assert [("open", "service:db", C)] == severities(run.at(20, db))


def test_a_new_cause_of_a_paged_alert_is_a_note() -> None:
    """The page was 'rest is down'; learning the cause is news, not a second page."""
    run = Run()
    first = replace(cond("diagnosis", C), title="rest is down", cause="service_down:rest")
    run.at(0, first)
    (update,) = run.at(1, replace(first, title="CPU exhausted", cause="cpu_exhausted"))
    assert ("update", W) == (update.kind, update.severity)


def test_a_warning_turning_critical_pages() -> None:
    """A warning told ahead, then the failure: turning critical is the page."""
    run = Run()
    run.at(0, cond())
    run.at(2, cond())
    (update,) = run.at(3, cond(severity=C))
    assert ("update", C) == (update.kind, update.severity)


def test_the_used_up_budget_takes_in_the_services_it_explains() -> None:
    """db already alerted as down, then the budget is named as the cause: db's alert closes
    without a word (no RESOLVED while the budget still holds it down), the budget's alert
    names it, and is a note since db's page stands for the same incident."""
    run = Run()
    run.at(0, replace(cond("service:db", C), title="db is down"))
    budget = replace(
        cond("io_budget", C), title="disk IO budget exhausted", absorbs=("service:db",)
    )
    actions = run.at(2, budget)
    assert [("resolve", "service:db", False), ("open", "io_budget", True)] == kinds(actions)
    assert ("db is down",) == actions[-1].alert.part_of
    assert "\nPart of it: db is down.\n" in said(actions[-1], T0 + timedelta(minutes=2)).body
    assert W == actions[-1].severity
    assert [] == run.at(20, budget)


def test_a_resolve_says_what_ended_not_the_opening_evidence() -> None:
    """The RESOLVED of an outage that took in rest's alert names what ended and how long it
    lasted; the evidence it opened with (no longer true) is not said again."""
    run = Run()
    run.at(0, replace(cond("service:rest", C), title="rest is down"))
    outage = replace(
        cond("diagnosis", C),
        title="Supabase platform outage",
        body="status page indicator major",
        folds_others=True,
    )
    run.at(1, outage)
    run.at(20, replace(outage, active=False))
    (resolved,) = run.at(26, replace(outage, active=False))
    body = said(resolved, T0 + timedelta(minutes=26)).body
    assert "status page indicator major" not in body
    assert ["Part of it: rest is down.", "Lasted 20m: 2026-05-20 12:00 to 12:20 UTC."] == (
        body.splitlines()
    )
