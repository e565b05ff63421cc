"""The scorecard's rules, each judged on a hand-made report against the world's truth.

The reports here are written by hand (what the phone got, what was PATCHed), so each rule is
shown to break on exactly what it names and to hold otherwise, whatever the daemon does.
"""

from __future__ import annotations

from typing import Any

from sbwatch.sim.scenario import Scenario, parse_scenario
from sbwatch.sim.score import score_case, score_checks, stated_horizon_s
from sbwatch.sim.truth import run_world

REF = "abcdefghijklmnopqrst"
HOUR = 3600.0


def scenario(events: str, *, mode: str = "auto", pct: int = 100, duration: str = "12h") -> Scenario:
    """One micro project under these events; max_tier small, a cap that allows it."""
    return parse_scenario(
        f"""
name = "score"
duration = "{duration}"
[project]
ref = "{REF}"
tier = "micro"
io_budget_pct = {pct}
[policy]
mode = "{mode}"
max_tier = "small"
monthly_cost_cap_usd = 30
{events}
"""
    )


def message(
    at: float,
    severity: str,
    title: str,
    body: str = "",
    *,
    kind: str = "open",
    subject: str = "io_budget",
) -> dict[str, Any]:
    """A message as the replay report lists it."""
    return {
        "at_s": at,
        "severity": severity,
        "title": title,
        "body": body,
        "kind": kind,
        "project": REF,
        "key": f"{REF}:{subject}",
    }


def report(*alerts: dict[str, Any], resizes: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """A replay report with these messages and compute changes."""
    return {"alerts": list(alerts), "api_resizes": list(resizes)}


def rules(sc: Scenario, rep: dict[str, Any]) -> list[str]:
    """The rules broken, one entry per finding."""
    return sorted(f.rule for f in score_case(sc, rep).findings)


STEADY_60 = '[[events]]\nat = "0s"\nkind = "workload"\nread_mbps = 60\n'
"""60 MB/s on a full micro: the budget is used up after about 2h33m, REST slow after."""
LIGHT = '[[events]]\nat = "0s"\nkind = "workload"\nread_mbps = 4\n'
"""Under micro's baseline: nothing ever fails."""


def failed_at(sc: Scenario) -> float:
    """When the budget made the project fail, from the truth."""
    (incident,) = run_world(sc, []).incidents()
    assert incident.budget_s is not None
    return incident.budget_s


def test_a_budget_failure_no_message_named_is_a_missed_warning() -> None:
    """Nothing said before a predictable drain failed: one missed warning."""
    assert ["missed_warning"] == rules(scenario(STEADY_60), report())


def test_a_warning_with_the_lead_passes_and_one_too_close_is_late() -> None:
    """Naming the budget half the drain ahead holds; ten minutes ahead is late."""
    sc = scenario(STEADY_60)
    failed = failed_at(sc)
    early = message(failed - 0.6 * failed, "warning", "disk IO budget 60% left, runs out in ~1h30m")
    assert [] == rules(sc, report(early))
    late = message(failed - 600, "warning", "disk IO budget 3% left, runs out in ~10m")
    assert ["late_warning"] == rules(sc, report(late))
    score = score_case(sc, report(late))
    assert "late_warning" not in score.broken
    assert [round(600 / HOUR, 3)] == [round(lead, 3) for lead in score.leads_h]


def test_a_message_that_does_not_name_the_budget_does_not_warn() -> None:
    """ "rest is down" before the failure is not a warning about the budget."""
    sc = scenario(STEADY_60)
    failed = failed_at(sc)
    other = message(failed - 2 * HOUR, "warning", "rest is slow", subject="service:rest")
    assert "missed_warning" in rules(sc, report(other))


def test_a_raise_on_a_light_load_is_wasted_and_under_a_drain_it_is_not() -> None:
    """The counterfactual decides: without the PATCH, would the old size have failed?"""
    change = {"at": HOUR, "project": REF, "tier": "small", "rollback": False}
    assert ["wasted_patch"] == rules(scenario(LIGHT), report(resizes=(change,)))
    sc = scenario(STEADY_60, duration="4h")  # before small, drained too, would fail
    warned = message(10 * 60, "warning", "disk IO budget 90% left, runs out in ~2h")
    assert [] == rules(sc, report(warned, resizes=(change,)))


def test_a_raise_is_judged_over_a_day_even_past_the_cases_end() -> None:
    """A case of 2h whose steady drain fails at about 2h33m: a raise at 1h is no waste; the
    truth runs on past the end (the load as the events left it) for the day the rule reads."""
    change = {"at": HOUR, "project": REF, "tier": "small", "rollback": False}
    sc = scenario(STEADY_60, duration="2h")
    warned = message(10 * 60, "warning", "disk IO budget 90% left, runs out in ~2h")
    assert [] == rules(sc, report(warned, resizes=(change,)))


def test_a_raise_after_the_failure_began_is_late() -> None:
    """The drain was visible for hours; the PATCH came after REST failed."""
    sc = scenario(STEADY_60, duration="5h")
    failed = failed_at(sc)
    warned = message(10 * 60, "warning", "disk IO budget 90% left, runs out in ~2h")
    change = {"at": failed + 600, "project": REF, "tier": "small", "rollback": False}
    assert ["late_patch"] == rules(sc, report(warned, resizes=(change,)))


def test_a_page_with_nothing_failing_is_false_and_one_during_a_failure_is_not() -> None:
    """Critical at 1h on a light load: false. Critical while the service fault lasts: true."""
    fault = (
        LIGHT
        + '[[events]]\nat = "5h"\nkind = "service"\nname = "rest"\nup = false\n'
        + '[[events]]\nat = "6h"\nkind = "service"\nname = "rest"\nup = true\n'
    )
    sc = scenario(fault)
    quiet = message(HOUR, "critical", "rest is down", subject="service:rest")
    during = message(5 * HOUR + 120, "critical", "rest is down", subject="service:rest")
    assert ["false_page"] == rules(sc, report(quiet))
    assert [] == rules(sc, report(during))


def test_a_raise_for_the_budget_is_borne_out_by_its_restart_inside_another_failure() -> None:
    """A raise named for the budget while REST is down from a fault of its own: the resize's
    restart joins that failure (one incident, both causes), and the raise's page is borne
    out by it as by any raise's restart."""
    fault = (
        STEADY_60
        + '[[events]]\nat = "1h"\nkind = "service"\nname = "rest"\nup = false\n'
        + '[[events]]\nat = "1h5m"\nkind = "service"\nname = "rest"\nup = true\n'
    )
    sc = scenario(fault, duration="3h")
    at = HOUR + 120
    change = {"at": at, "project": REF, "tier": "small", "rollback": False}
    page = message(
        at,
        "critical",
        "raising compute micro -> small (+$5.23/month)",
        "io_budget_low: raise micro -> small; disk IO budget 8% left",
        subject="escalation",
    )
    (joined,) = [i for i in run_world(sc, [change]).incidents() if i.start_s <= at < i.end_s]
    assert "resize" in {str(c) for c in joined.causes}
    assert "false_page" not in rules(sc, report(page, resizes=(change,)))


def test_a_page_is_judged_by_the_horizon_it_states() -> None:
    """A page saying "in ~2h" is borne out by a failure 2h30m later (a forecast's slack), a
    page stating no horizon is not (1 h)."""
    sc = scenario(STEADY_60)
    failed = failed_at(sc)
    forecast = message(failed - 2.5 * HOUR, "critical", "disk IO budget 10% left, runs out in ~2h")
    bare = message(failed - 2.5 * HOUR, "critical", "something is wrong", subject="diagnosis")
    assert "false_page" not in rules(sc, report(forecast))
    assert "false_page" in rules(sc, report(bare))


def test_a_resolve_while_the_service_still_fails_is_false() -> None:
    """RESOLVED rest during the fault: false; after it ended: fine."""
    fault = (
        LIGHT
        + '[[events]]\nat = "1h"\nkind = "service"\nname = "rest"\nup = false\n'
        + '[[events]]\nat = "2h"\nkind = "service"\nname = "rest"\nup = true\n'
    )
    sc = scenario(fault)
    opened = message(HOUR + 120, "critical", "rest is down", subject="service:rest")
    early = message(
        HOUR + 1800, "critical", "RESOLVED rest is down", kind="resolve", subject="service:rest"
    )
    right = message(
        2 * HOUR + 120, "critical", "RESOLVED rest is down", kind="resolve", subject="service:rest"
    )
    assert ["false_resolve"] == rules(sc, report(opened, early))
    assert [] == rules(sc, report(opened, right))


def test_a_resolve_cannot_deny_a_failure_that_began_after_its_last_look() -> None:
    """rest's fault ends at 2h and it fails again from 2h10m to 2h40m. A RESOLVED of the first
    five seconds into the second ended what it saw: fine. Five minutes into it the second
    failure was there to be seen: false."""
    fault = (
        LIGHT
        + '[[events]]\nat = "1h"\nkind = "service"\nname = "rest"\nup = false\n'
        + '[[events]]\nat = "2h"\nkind = "service"\nname = "rest"\nup = true\n'
        + '[[events]]\nat = "2h10m"\nkind = "service"\nname = "rest"\nup = false\n'
        + '[[events]]\nat = "2h40m"\nkind = "service"\nname = "rest"\nup = true\n'
    )
    sc = scenario(fault)
    opened = message(HOUR + 120, "critical", "rest is down", subject="service:rest")

    def resolve(at: float) -> dict[str, Any]:
        title = "RESOLVED rest is down"
        return message(at, "critical", title, kind="resolve", subject="service:rest")

    again = 2 * HOUR + 600
    assert [] == rules(sc, report(opened, resolve(again + 5)))
    assert ["false_resolve"] == rules(sc, report(opened, resolve(again + 300)))


def test_pages_are_counted_per_incident() -> None:
    """Three pages inside one outage: three pages for one incident, over the 1.2 mean."""
    outage = (
        LIGHT
        + '[[events]]\nat = "1h"\nkind = "platform_outage"\non = true\n'
        + '[[events]]\nat = "2h"\nkind = "platform_outage"\non = false\n'
    )
    sc = scenario(outage)
    pages = [
        message(HOUR + 60 * n, "critical", f"page {n}", subject="diagnosis") for n in (1, 2, 3)
    ]
    score = score_case(sc, report(*pages))
    assert [3] == score.pages
    assert "pages_per_incident" in score.broken
    assert "pages_per_incident" not in score_case(sc, report(pages[0])).broken


def test_a_failure_sbwatch_may_not_prevent_needs_the_command_beforehand() -> None:
    """ask mode: a warning without the command is a silent failure; with it, not."""
    sc = scenario(STEADY_60, mode="ask")
    failed = failed_at(sc)
    told = message(failed - 2 * HOUR, "warning", "disk IO budget 40% left, runs out in ~2h")
    assert ["silent_failure"] == rules(sc, report(told))
    command = message(
        failed - 2 * HOUR,
        "warning",
        "disk IO budget 40% left, runs out in ~2h",
        f"run: sbwatch escalate {REF} --to small",
    )
    assert [] == rules(sc, report(command))
    assert "silent_failure" not in rules(scenario(STEADY_60), report(told))  # auto may act


def test_checks_name_every_rule() -> None:
    """``[expect] score = true`` adds one check per rule, each saying what broke."""
    checks = score_checks(scenario(STEADY_60), report())
    names = {c["name"] for c in checks}
    assert "score:missed_warning" in names
    failed = [c for c in checks if not c["passed"]]
    assert ["score:missed_warning"] == [c["name"] for c in failed]
    assert "no message named it" in failed[0]["detail"]


def test_the_stated_horizon_is_read_from_the_words() -> None:
    """ "runs out in ~4h48m" states 4h48m; a message without one states none."""
    assert 4 * HOUR + 48 * 60 == stated_horizon_s({"title": "x", "body": "runs out in ~4h48m"})
    assert 86_400 == stated_horizon_s({"title": "77% left, runs out in ~1d", "body": ""})
    assert stated_horizon_s({"title": "rest is down", "body": "since 10:00"}) is None
