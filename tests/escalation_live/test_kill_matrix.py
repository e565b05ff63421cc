"""kill -9 at every step of an escalation: one applied PATCH per intent, a consistent journal."""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from sbwatch.core.results import DiagnosisKind, IntentState

from .conftest import (
    Live,
    Outcome,
    register,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEADLINE_S = 170.0
IO_KINDS = frozenset({DiagnosisKind.IO_BUDGET_LOW, DiagnosisKind.IO_BUDGET_EXHAUSTED})


def restart_and_settle(live: Live, **notes: object) -> Outcome:
    """Start a new daemon on the same state and wait until every intent finished."""
    live.start_daemon()
    live.wait_settled()
    return live.outcome(**notes)


def kill_before_intent(live: Live) -> Outcome:
    """Kill as soon as the low budget is diagnosed, before the escalation is journalled."""
    live.start_sim()
    live.start_daemon()
    assert live.journal is not None
    journal = live.journal
    wait_for(
        "a low-budget diagnosis",
        lambda: (d := journal.diagnosis()) is not None and d.kind in IO_KINDS,
        30,
        0.005,
    )
    live.kill9()
    return restart_and_settle(live, intents_at_kill=len(live.intents()))


def kill_after_intent(live: Live) -> Outcome:
    """Kill the moment the OPEN intent is committed (before or just after the PATCH leaves)."""
    live.start_sim()
    live.start_daemon()
    wait_for("an intent", live.intents, 30, 0.002)
    live.kill9()
    return restart_and_settle(live, patch_attempts_at_kill=live.sim.stats()["patch_attempts"])


def kill_during_patch(live: Live) -> Outcome:
    """Kill while a slow PATCH is in flight; the provider applies it 30 s later anyway."""
    live.start_sim(fault="slow", methods="PATCH")
    live.start_daemon()
    wait_for("a PATCH in flight", lambda: live.sim.stats()["patch_attempts"] >= 1, 30, 0.05)
    at_kill = live.sim.stats()
    live.kill9()
    live.sim.event("mgmt_api", fault="none")
    return restart_and_settle(live, at_kill=at_kill, states_at_kill=[*map(str, live_states(live))])


def kill_after_patch(live: Live) -> Outcome:
    """Kill after the PATCH applied but its answer was lost, before the outcome is recorded."""
    live.start_sim(fault="drop_after_apply", methods="PATCH")
    live.start_daemon()
    wait_for("an applied PATCH", lambda: live.sim.stats()["patch_calls"] >= 1, 30, 0.05)
    states = live_states(live)
    live.kill9()
    live.sim.event("mgmt_api", fault="none")
    return restart_and_settle(live, states_at_kill=[str(s) for s in states])


def kill_while_verifying(live: Live) -> Outcome:
    """Kill while the project is RESIZING and the daemon waits for it to recover."""
    live.start_sim()
    live.start_daemon()
    wait_for(
        "an applied intent while resizing",
        lambda: IntentState.APPLIED in live_states(live) and live.sim.truth()["resizing"],
        30,
        0.02,
    )
    live.kill9()
    return restart_and_settle(live)


def live_states(live: Live) -> list[IntentState]:
    """The journal's states now."""
    return [i.state for i in live.intents()]


register(
    kill_before_intent, kill_after_intent, kill_during_patch, kill_after_patch, kill_while_verifying
)


def check_invariants(outcome: Outcome) -> None:
    """No intent left unfinished, one applied PATCH per applied intent, lock released."""
    assert [] == [s for s in outcome.states if s in (IntentState.OPEN, IntentState.APPLIED)]
    assert outcome.changed == outcome.stats["patch_calls"]
    assert outcome.stats["patch_calls"] <= 1
    assert outcome.lock_free
    assert 1 == outcome.kills


def check_recovered_once(outcome: Outcome) -> None:
    """One intent, RECOVERED with a recovery time, one PATCH, the project on small."""
    check_invariants(outcome)
    assert ([IntentState.RECOVERED], 1, 1, "small") == (
        outcome.states,
        outcome.stats["patch_calls"],
        outcome.stats["patch_attempts"],
        outcome.truth["tier"],
    )
    assert (outcome.intents[0].recovered_s or 0) > 0


def test_kill_before_the_intent(outcomes: dict[str, Future[Outcome]]) -> None:
    """Killed at the decision: the restarted daemon decides again and escalates once."""
    outcome = outcomes["kill_before_intent"].result(DEADLINE_S)
    check_invariants(outcome)
    if outcome.notes["intents_at_kill"] == 0:
        check_recovered_once(outcome)


def test_kill_after_the_intent(outcomes: dict[str, Future[Outcome]]) -> None:
    """Killed right after the intent: settled from the add-ons, never a second PATCH."""
    outcome = outcomes["kill_after_intent"].result(DEADLINE_S)
    check_invariants(outcome)
    assert 1 == len(outcome.intents)
    if outcome.stats["patch_calls"] == 1:
        check_recovered_once(outcome)
    else:
        assert (IntentState.FAILED, 0) == (outcome.states[0], outcome.stats["patch_calls"])


def test_kill_during_the_patch(outcomes: dict[str, Future[Outcome]]) -> None:
    """Killed mid-PATCH: the late change is found applied, verified, and never resent."""
    outcome = outcomes["kill_during_patch"].result(DEADLINE_S)
    assert (0, ["open"]) == (
        outcome.notes["at_kill"]["patch_calls"],
        outcome.notes["states_at_kill"],
    )
    check_recovered_once(outcome)


def test_kill_after_the_patch(outcomes: dict[str, Future[Outcome]]) -> None:
    """Killed after an applied PATCH whose answer was lost: reconciled to applied, recovered."""
    outcome = outcomes["kill_after_patch"].result(DEADLINE_S)
    assert ["open"] == outcome.notes["states_at_kill"]
    check_recovered_once(outcome)


def test_kill_during_verification(outcomes: dict[str, Future[Outcome]]) -> None:
    """Killed while resizing: the restarted daemon finishes the verification."""
    check_recovered_once(outcomes["kill_while_verifying"].result(DEADLINE_S))
