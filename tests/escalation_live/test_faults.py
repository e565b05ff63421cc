"""Live escalation over real sockets: the happy path, management API faults, a concurrent CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import Future

import httpx
import pytest

from sbwatch.core.results import IntentState
from sbwatch.remediation.executor import NOT_APPLIED

from .conftest import REF, Live, Outcome, register

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEADLINE_S = 170.0


def live_auto(live: Live) -> Outcome:
    """A draining micro project under mode auto, nothing in the way."""
    live.start_sim()
    live.start_daemon()
    live.wait_settled()
    metrics = httpx.get(live.metrics_url, timeout=5).text
    history = live.sbwatch("history", "--json")
    assert 0 == history.returncode, history.stderr
    return live.outcome(metrics=metrics, history=json.loads(history.stdout))


def patch_rate_limited(live: Live) -> Outcome:
    """Every PATCH answers 429."""
    live.start_sim(fault="rate_limit", methods="PATCH")
    live.start_daemon()
    live.wait_settled()
    return live.outcome()


def patch_error(live: Live) -> Outcome:
    """Every PATCH answers 500 and applies nothing."""
    live.start_sim(fault="error", methods="PATCH")
    live.start_daemon()
    live.wait_settled()
    return live.outcome()


def patch_slow(live: Live) -> Outcome:
    """The PATCH answers after 30 s (the client gives up first) but applies."""
    live.start_sim(fault="slow", methods="PATCH")
    live.start_daemon()
    live.wait_settled()
    return live.outcome()


def cli_races_daemon(live: Live) -> Outcome:
    """Two ``sbwatch escalate --to small --yes`` start together with the auto daemon."""
    live.start_sim()
    command = [sys.executable, "-m", "sbwatch", "--config", str(live.config)]
    clis = [
        subprocess.Popen(
            [*command, "escalate", REF, "--to", "small", "--yes"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    live.others.extend(clis)
    live.start_daemon()
    outputs = [cli.communicate(timeout=120)[0].decode() for cli in clis]
    live.wait_settled()
    return live.outcome(codes=[cli.returncode for cli in clis], outputs=outputs)


register(live_auto, patch_rate_limited, patch_error, patch_slow, cli_races_daemon)


def check_no_duplicate_no_loss(outcome: Outcome) -> None:
    """Every intent finished; as many applied PATCHes as applied intents, at most one."""
    assert [] == [s for s in outcome.states if s in (IntentState.OPEN, IntentState.APPLIED)]
    assert outcome.changed == outcome.stats["patch_calls"]
    assert outcome.stats["patch_calls"] <= 1
    assert outcome.lock_free


def test_live_auto_escalation(outcomes: dict[str, Future[Outcome]]) -> None:
    """One PATCH, small in truth, history shows the recovery, metrics count it."""
    outcome = outcomes["live_auto"].result(DEADLINE_S)
    check_no_duplicate_no_loss(outcome)
    assert ([IntentState.RECOVERED], 1, 1, "small") == (
        outcome.states,
        outcome.stats["patch_calls"],
        outcome.stats["patch_attempts"],
        outcome.truth["tier"],
    )
    history = outcome.notes["history"]
    assert (1, "micro", "small", "recovered") == (
        len(history),
        history[0]["from"],
        history[0]["to"],
        history[0]["state"],
    )
    assert history[0]["recovered_s"] > 0
    metrics = outcome.notes["metrics"]
    assert 'sbwatch_escalations_total{outcome="applied"} 1.0' in metrics
    assert 'sbwatch_escalations_total{outcome="recovered"} 1.0' in metrics
    assert "sbwatch_recovery_seconds_count 1.0" in metrics


@pytest.mark.parametrize(("name", "fault"), [("patch_rate_limited", "429"), ("patch_error", "500")])
def test_refused_patch(outcomes: dict[str, Future[Outcome]], name: str, fault: str) -> None:
    """A 429 or 500 on the PATCH: each intent ends FAILED (not applied), nothing applied; the
    change is tried again while it is needed, one PATCH per intent."""
    outcome = outcomes[name].result(DEADLINE_S)
    check_no_duplicate_no_loss(outcome)
    assert ({IntentState.FAILED}, {NOT_APPLIED}, 0, len(outcome.intents), "micro") == (
        set(outcome.states),
        {i.detail for i in outcome.intents},
        outcome.stats["patch_calls"],
        outcome.stats["patch_attempts"],
        outcome.truth["tier"],
    ), fault


def test_slow_patch(outcomes: dict[str, Future[Outcome]]) -> None:
    """A PATCH that times out but lands: reconciled to applied, recovered, sent once."""
    outcome = outcomes["patch_slow"].result(DEADLINE_S)
    check_no_duplicate_no_loss(outcome)
    assert ([IntentState.RECOVERED], 1, 1, "small") == (
        outcome.states,
        outcome.stats["patch_calls"],
        outcome.stats["patch_attempts"],
        outcome.truth["tier"],
    )


def test_cli_and_daemon_race(outcomes: dict[str, Future[Outcome]]) -> None:
    """Daemon and two concurrent escalate commands: exactly one PATCH is sent and applied."""
    outcome = outcomes["cli_races_daemon"].result(DEADLINE_S)
    check_no_duplicate_no_loss(outcome)
    assert (1, 1, 1, "small") == (
        outcome.changed,
        outcome.stats["patch_calls"],
        outcome.stats["patch_attempts"],
        outcome.truth["tier"],
    )
    assert set(outcome.notes["codes"]) <= {0, 1, 2, 75}, outcome.notes["outputs"]
