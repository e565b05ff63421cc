"""`sbwatch escalate` and `sbwatch history` against the simulator's Management API (in process)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from sbwatch.cli import main
from sbwatch.commands.escalate import escalate_command
from sbwatch.commands.history import show_history
from sbwatch.config.settings import EscalationSettings, ProjectSettings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.facts import recorded
from sbwatch.core.results import Diagnosis, DiagnosisKind, IntentState
from sbwatch.core.tiers import Tier
from sbwatch.remediation.executor import lock_name
from sbwatch.sim.world import SimWorld, create_app
from sbwatch.store.sqlite import SqliteStore
from sbwatch.supabase.mgmt_api import ManagementApi

REF = "abcdefghijklmnopqrst"
TOKEN = "sbp_5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed"
DEADLINE_S = 10.0


class TickingClock(VirtualClock):
    """A virtual clock whose sleeps also let real time pass, so a test can interrupt a wait."""

    async def sleep(self, seconds: float) -> None:
        """Advance, then yield to the loop for a real instant."""
        self.advance(max(seconds, 0.0))
        await asyncio.sleep(0.005)


def project(**escalation: object) -> ProjectSettings:
    """The simulated project's settings, with escalation bounds changed."""
    bounds = EscalationSettings.model_validate({"max_tier": "small", **escalation})
    return ProjectSettings(ref=REF, tier=Tier.MICRO, escalation=bounds, probes={})


@pytest.fixture
def world(clock: VirtualClock) -> SimWorld:
    """A simulator with one micro project."""
    sim = SimWorld(clock)
    sim.add_project(REF, Tier.MICRO)
    return sim


@pytest.fixture
async def api(world: SimWorld, clock: VirtualClock) -> AsyncIterator[ManagementApi]:
    """The real client talking to the simulator app in process."""
    transport = httpx.ASGITransport(app=create_app(world, token=TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        yield ManagementApi(http, "http://sim", SecretStr(TOKEN), clock=clock)


async def command(
    api: ManagementApi,
    store: SqliteStore,
    clock: VirtualClock,
    *,
    settings: ProjectSettings | None = None,
    **options: object,
) -> tuple[int, str]:
    """Run the escalate command and capture its output."""
    out = io.StringIO()
    kwargs: dict[str, object] = {"to": None, "yes": True, "dry_run": False, **options}
    code = await escalate_command(settings or project(), api, store, clock, out=out, **kwargs)  # type: ignore[arg-type]  # options vary per test
    return code, out.getvalue()


async def test_escalate_applies_once_and_waits_for_recovery(
    api: ManagementApi, store: SqliteStore, clock: VirtualClock, world: SimWorld
) -> None:
    """--yes raises micro to small once, waits through RESIZING and reports the recovery time."""
    at = clock.now()
    await store.record_diagnosis(
        Diagnosis(REF, at, DiagnosisKind.IO_BUDGET_EXHAUSTED, 0.9, (recorded("IO budget 0% left"),))
    )
    code, out = await command(api, store, clock)
    [intent] = await store.intents(REF)
    assert (0, 1, "small", IntentState.RECOVERED) == (
        code,
        world.patch_calls,
        world.truth(REF)["tier"],
        intent.state,
    )
    assert intent.actor.startswith("cli:")
    assert "io_budget_exhausted" in out
    assert "micro ($9.81/month) -> small ($15.04/month), +$5.23/month" in out
    assert "RESIZING" in out
    assert "recovered on small in 2m" in out


async def test_dry_run_changes_nothing(
    api: ManagementApi, store: SqliteStore, clock: VirtualClock, world: SimWorld
) -> None:
    """--dry-run shows the plan and sends nothing."""
    code, out = await command(api, store, clock, dry_run=True)
    assert (0, 0, []) == (code, world.patch_calls, await store.intents(REF))
    assert "no diagnosis recorded yet" in out
    assert "dry run" in out


@pytest.mark.parametrize(
    ("to", "settings", "reason"),
    [
        (Tier.MEDIUM, project(), "above max_tier"),
        (Tier.NANO, project(), "never lowers"),
        (Tier.MICRO, project(), "never lowers"),
        (None, project(monthly_cost_cap_usd=12), "over monthly_cost_cap_usd"),
    ],
)
async def test_escalate_refuses_outside_the_bounds(
    api: ManagementApi,
    store: SqliteStore,
    clock: VirtualClock,
    world: SimWorld,
    to: Tier | None,
    settings: ProjectSettings,
    reason: str,
) -> None:
    """Above max_tier, over the cost cap, or not upwards: exit 2, nothing sent."""
    code, out = await command(api, store, clock, to=to, settings=settings)
    assert (2, 0) == (code, world.patch_calls)
    assert reason in out


async def test_declined_confirmation_sends_nothing(
    api: ManagementApi, store: SqliteStore, clock: VirtualClock, world: SimWorld
) -> None:
    """Answering no to the question cancels."""
    questions: list[str] = []

    def no(question: str) -> bool:
        questions.append(question)
        return False

    code, _ = await command(api, store, clock, yes=False, confirm=no)
    assert (1, 0, 1) == (code, world.patch_calls, len(questions))


async def test_busy_lock_is_reported(
    api: ManagementApi, store: SqliteStore, clock: VirtualClock, world: SimWorld
) -> None:
    """While the daemon holds the escalation lock the command sends nothing and exits 75."""
    assert await store.acquire_lock(lock_name(REF), "daemon", 900, clock.now())
    code, out = await command(api, store, clock)
    assert (75, 0) == (code, world.patch_calls)
    assert "try again later" in out


async def test_interrupted_wait_leaves_the_intent_applied(tmp_path: Path) -> None:
    """Ctrl-C while waiting for recovery: the intent stays APPLIED for the daemon to verify."""
    clock = TickingClock(datetime.fromisoformat("2026-05-26T08:00:00+00:00"))
    world = SimWorld(clock, resize_seconds=86_400)
    world.add_project(REF, Tier.MICRO)
    store = SqliteStore(tmp_path / "s.db")
    await store.open()
    transport = httpx.ASGITransport(app=create_app(world, token=TOKEN))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
            api = ManagementApi(http, "http://sim", SecretStr(TOKEN), clock=clock)
            task = asyncio.create_task(
                command(api, store, clock, settings=project(verify_timeout="1d"))
            )
            async with asyncio.timeout(DEADLINE_S):
                # The state lives in the database, written by the task: poll it under a deadline.
                while not [i for i in await store.intents(REF) if i.state is IntentState.APPLIED]:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        [intent] = await store.intents(REF)
        assert (IntentState.APPLIED, 1) == (intent.state, world.patch_calls)
    finally:
        await store.close()


async def test_history_lists_escalations(
    api: ManagementApi, store: SqliteStore, clock: VirtualClock
) -> None:
    """history shows each escalation with its state and time to recover, as a table or JSON."""
    await command(api, store, clock)
    table, raw = io.StringIO(), io.StringIO()
    await show_history(store, REF, as_json=False, out=table)
    await show_history(store, None, as_json=True, out=raw)
    [row] = json.loads(raw.getvalue())
    assert ("micro", "small", "recovered", REF) == (
        row["from"],
        row["to"],
        row["state"],
        row["project"],
    )
    assert "micro -> small" in table.getvalue()
    assert "recovered" in table.getvalue()


def test_history_command_reads_the_configured_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sbwatch history --json` through the CLI prints the journal of the configured SQLite file
    (a store the daemon made: a read-only command never creates one)."""
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\npath = "{tmp_path / "state.db"}"\n', encoding="utf-8")

    async def made_by_the_daemon() -> None:
        store = SqliteStore(tmp_path / "state.db")
        await store.open()
        await store.close()

    asyncio.run(made_by_the_daemon())
    assert 0 == main(["--config", str(config), "history", "--json"])
    assert [] == json.loads(capsys.readouterr().out)
